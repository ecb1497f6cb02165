"""Rule compare_models: baseline vs candidate protein model report (HTML, Markdown, JSON, PNG)
and the held-out calls table it decides on.

Named inputs: ``tests``, ``metadata``, ``heldout_chunks`` and ``heldout_sequences`` (one per
model, in ``params.models`` order), ``fragments`` (the held-out fragments' table),
``manifest``, ``manifest_summary``, ``speed_runs`` (rule time_predict's runs) and
``timing_benchmark`` (its benchmark file: which other jobs ran meanwhile). Params:
``models``, ``standins`` (compared models that are stand-ins), ``extraction_benchmarks``,
``extraction_stats`` and ``embeddings`` (model -> list of paths: the training-set extraction,
context), ``train_benchmarks`` (model -> path), ``settings`` (the ``compare:`` config
section with predict's thresholds), ``benchmark_dir`` (every benchmark file). Outputs:
``html``, ``md``, ``json``, ``png``, ``calls``.

This script reads every file; the package builds the comparison from the values read.
"""

import json
from pathlib import Path

from virnucpro_smk.errors import InputError
from virnucpro_smk.formats.job_stats import read_job_stats
from virnucpro_smk.formats.speed_runs import read_speed_runs
from virnucpro_smk.io.embedding_files import read_metadata
from virnucpro_smk.preprocess.heldout_fragments import read_fragment_table, split_genomes
from virnucpro_smk.report.comparison import (
    CompareSettings,
    ComparisonInputs,
    build_comparison,
    compared_model,
)
from virnucpro_smk.report.comparison_page import write_comparison
from virnucpro_smk.report.extraction_figures import extraction_figures
from virnucpro_smk.report.heldout_calls import heldout_calls, write_calls_table
from virnucpro_smk.report.heldout_levels import read_heldout
from virnucpro_smk.report.job_benchmarks import all_benchmarks, overlapping_jobs, read_benchmark
from virnucpro_smk.report.level_metrics import read_seed_predictions
from virnucpro_smk.runtime.logs import rule_logging


def per_model(value, models, what):
    """A named input (a list of files in model order) keyed by model."""
    paths = list(value)
    if len(paths) != len(models):
        raise InputError(f"compare_models: {len(paths)} {what} for {len(models)} models")
    return dict(zip(models, paths, strict=True))


def benchmark_or_none(path):
    """A job's benchmark figures; None when the file is missing (no end-to-end time then)."""
    return read_benchmark(path) if path is not None and Path(path).is_file() else None


def read_model(name, chunk_length, files, params):
    """One model's files (``files``: named inputs by model; ``params``: the rule's, with the
    extraction jobs' files), read, as the package's typed inputs."""
    extraction = extraction_figures(
        name,
        chunk_length,
        {str(p): read_metadata(p) for p in params.embeddings[name]},
        [read_job_stats(p) for p in params.extraction_stats[name]],
        {str(p): benchmark_or_none(p) for p in params.extraction_benchmarks[name]},
        benchmark_or_none(params.train_benchmarks.get(name)),
    )
    return compared_model(
        name,
        chunk_length,
        json.loads(Path(files["metadata"][name]).read_text(encoding="utf-8")),
        str(files["metadata"][name]),
        read_seed_predictions(files["tests"][name]),
        read_heldout(files["heldout_chunks"][name], files["heldout_sequences"][name]),
        extraction,
    )


with rule_logging(snakemake) as log:
    models = list(snakemake.params.models)
    settings = CompareSettings.from_config(dict(snakemake.params.settings))
    chunk_length = int(snakemake.wildcards.L)
    files = {
        key: per_model(getattr(snakemake.input, key), models, what)
        for key, what in (
            ("tests", "test prediction tables"),
            ("metadata", "classifier metadata files"),
            ("heldout_chunks", "held-out chunk tables"),
            ("heldout_sequences", "held-out sequence tables"),
        )
    }
    read = [read_model(name, chunk_length, files, snakemake.params) for name in models]
    fragments = read_fragment_table(snakemake.input.fragments)
    calls = heldout_calls(fragments, {m.name: m.heldout for m in read})
    write_calls_table(calls, snakemake.output.calls)
    inputs = ComparisonInputs(
        models=read,
        fragments=fragments,
        manifest_summary=json.loads(
            Path(snakemake.input.manifest_summary).read_text(encoding="utf-8")
        ),
        split_genomes=split_genomes(snakemake.input.manifest),
        calls=calls,
        speed_runs=read_speed_runs(snakemake.input.speed_runs),
        overlapping_jobs=overlapping_jobs(
            [snakemake.input.timing_benchmark], all_benchmarks(snakemake.params.benchmark_dir)
        ),
        standin_models=list(snakemake.params.standins),
    )
    comparison, png = build_comparison(inputs, settings, chunk_length)
    out = snakemake.output
    write_comparison(comparison, png, out.html, out.md, out.json, out.png)
    log.info(
        "decision: %s (accuracy %s, speed %s, speed-up %s; %s)",
        comparison.decision.decision,
        comparison.accuracy.accuracy,
        comparison.speed.speed,
        comparison.speed.speedup,
        "; ".join(comparison.decision.reasons) or "no reservations",
    )
