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
"""

import json
from pathlib import Path

from virnucpro_smk.errors import InputError
from virnucpro_smk.preprocess.heldout_fragments import read_fragment_table
from virnucpro_smk.report.comparison import CompareSettings, build_report, load_model_result
from virnucpro_smk.report.comparison_page import write_report
from virnucpro_smk.report.heldout_calls import heldout_calls, write_calls_table
from virnucpro_smk.report.job_benchmarks import all_benchmarks, overlapping_jobs
from virnucpro_smk.report.speed_runs import read_speed_runs
from virnucpro_smk.runtime.logs import rule_logging


def per_model(value, models, what):
    """A named input (a list of files in model order) keyed by model."""
    paths = list(value)
    if len(paths) != len(models):
        raise InputError(f"compare_models: {len(paths)} {what} for {len(models)} models")
    return dict(zip(models, paths, strict=True))


with rule_logging(snakemake) as log:
    models = list(snakemake.params.models)
    settings = CompareSettings.from_mapping(dict(snakemake.params.settings))
    chunk_length = int(snakemake.wildcards.L)
    tests = per_model(snakemake.input.tests, models, "test prediction tables")
    metadata = per_model(snakemake.input.metadata, models, "classifier metadata files")
    chunks = per_model(snakemake.input.heldout_chunks, models, "held-out chunk tables")
    sequences = per_model(snakemake.input.heldout_sequences, models, "held-out sequence tables")
    results = [
        load_model_result(
            name,
            tests[name],
            metadata[name],
            snakemake.params.embeddings[name],
            snakemake.params.extraction_benchmarks[name],
            snakemake.params.train_benchmarks.get(name),
            chunk_length,
            heldout=(chunks[name], sequences[name]),
            extraction_stats=snakemake.params.extraction_stats[name],
        )
        for name in models
    ]
    summary = json.loads(Path(snakemake.input.manifest_summary).read_text(encoding="utf-8"))
    fragments = read_fragment_table(snakemake.input.fragments)
    calls = heldout_calls(fragments, {r.name: r.heldout for r in results})
    write_calls_table(calls, snakemake.output.calls)
    timed = [snakemake.input.timing_benchmark]
    report, png = build_report(
        results,
        chunk_length,
        settings,
        summary,
        fragments=fragments,
        manifest_path=snakemake.input.manifest,
        speed_runs=read_speed_runs(snakemake.input.speed_runs),
        overlapping_jobs=overlapping_jobs(timed, all_benchmarks(snakemake.params.benchmark_dir)),
        standin_models=list(snakemake.params.standins),
        calls=calls,
    )
    write_report(
        report,
        png,
        snakemake.output.html,
        snakemake.output.md,
        snakemake.output.json,
        snakemake.output.png,
    )
    log.info(
        "decision: %s (accuracy %s, speed %s, speed-up %s; %s)",
        report["decision"],
        report["accuracy"],
        report["speed"],
        report["speedup"],
        "; ".join(report["decision_reasons"]) or "no reservations",
    )
