"""Rule compare_models: baseline vs candidate protein model report (HTML, Markdown, JSON, PNG).

Named inputs: ``tests``, ``metadata``, ``heldout_chunks`` and ``heldout_sequences`` (one per
model, in ``params.models`` order), ``fragments`` (the held-out fragments' table),
``manifest`` and ``manifest_summary``. Params: ``models``, ``extraction_benchmarks``,
``extraction_stats`` (the extraction jobs' stats JSON: in-job timers) and ``embeddings``
(model -> list of paths), ``train_benchmarks`` (model -> path),
``settings`` (the ``compare:`` config section), ``benchmark_dir`` (all benchmark files: which
jobs overlapped the timed ones), ``shared_benchmarks`` (stages both models share),
``heldout_benchmarks`` (predict on the held-out fragments: shared and per-model jobs). Outputs:
``html``, ``md``, ``json``, ``png``.
"""

import json
from pathlib import Path

from virnucpro_smk.errors import InputError
from virnucpro_smk.preprocess.heldout_fragments import read_fragment_table
from virnucpro_smk.report.comparison import CompareSettings, build_report, load_model_result
from virnucpro_smk.report.comparison_page import write_report
from virnucpro_smk.report.speed_conditions import all_benchmarks
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
    report, png = build_report(
        results,
        chunk_length,
        settings,
        summary,
        every_benchmark=all_benchmarks(snakemake.params.benchmark_dir),
        shared_benchmarks=list(snakemake.params.shared_benchmarks),
        fragments=read_fragment_table(snakemake.input.fragments),
        manifest_path=snakemake.input.manifest,
        heldout_benchmarks=snakemake.params.heldout_benchmarks,
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
        "decision: %s (equal conditions %s, speed-up %s; %s)",
        report["decision"],
        report["equal_conditions"],
        report["speedup"],
        "; ".join(report["decision_reasons"]) or "no reservations",
    )
