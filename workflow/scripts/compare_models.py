"""Rule compare_models: the ESM2 3B vs FastESM2_650 report (HTML, Markdown, JSON, PNG)."""

import json
from pathlib import Path

from virnucpro_smk.comparison import (
    ModelResult,
    benchmark_seconds,
    build_report,
    extraction_speed,
    read_test_predictions,
    write_report,
)
from virnucpro_smk.logs import rule_logging

with rule_logging(snakemake) as log:
    settings = snakemake.params.settings
    results = []
    for name, meta_path, tests in zip(
        snakemake.params.models, snakemake.input.metadata, snakemake.input.tests, strict=True
    ):
        ids, labels, scores, groups = read_test_predictions(tests)
        benchmarks = [b for b in snakemake.params.benchmarks[name] if Path(b).is_file()]
        speed = extraction_speed(snakemake.params.by_model[name], benchmarks)
        speed["training_wall_seconds"] = benchmark_seconds(snakemake.params.train_benchmarks[name])
        meta = json.loads(Path(meta_path).read_text())
        results.append(ModelResult(name, meta, labels, scores, groups, ids, speed))
    report, png = build_report(
        results,
        int(snakemake.wildcards.L),
        settings["baseline"],
        settings["candidate"],
        max_f1_drop=settings["max_f1_drop"],
        min_speedup=settings["min_speedup"],
        n_boot=settings["bootstrap"],
        seed=settings["seed"],
    )
    write_report(
        report,
        png,
        snakemake.output.html,
        snakemake.output.md,
        snakemake.output.json,
        snakemake.output.png,
    )
    log.info("verdict: %s", "PASS" if report["verdict"]["pass"] else "FAIL")
