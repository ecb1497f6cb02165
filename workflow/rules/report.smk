# ESM2 3B vs FastESM2_650 comparison (same DNA model, manifest, split and seeds): accuracy
# on the held-out fragments scored as predict does (evaluate.smk), speed of the extraction jobs.


rule compare_models:
    input:
        metadata=compare_files("metadata.json"),
        tests=compare_files("test_predictions.tsv"),
        heldout_chunks=compare_files("heldout_chunks.tsv"),
        heldout_sequences=compare_files("heldout_sequences.tsv"),
        fragments=f"{HELDOUT_DIR}/fragments.tsv",
        # the checkpoint's output: the params list the held-out extraction jobs it sized
        fragments_fasta=f"{HELDOUT_DIR}/fragments.fa",
        manifest_summary=f"{TRAINING_DIR}/training_manifest.json",
        # the checkpoint's output: the params list the training shards it sized
        manifest=f"{TRAINING_DIR}/training_manifest.tsv",
    output:
        html=report(
            f"{OUT}/reports/comparison_chunk{{L}}.html",
            category="Comparison",
            labels={"report": "comparison {L} bp"},
        ),
        md=f"{OUT}/reports/comparison_chunk{{L}}.md",
        json=f"{OUT}/reports/comparison_chunk{{L}}.json",
        png=report(
            f"{OUT}/reports/roc_pr_chunk{{L}}.png",
            category="Comparison",
            caption="../report/comparison.rst",
            labels={"figure": "ROC and PR {L} bp"},
        ),
    params:
        models=COMPARE_MODELS,
        extraction_benchmarks=extraction_benchmarks,
        extraction_stats=compare_extraction_stats,
        embeddings=compare_embeddings,
        train_benchmarks=training_benchmarks,
        benchmark_dir=every_benchmark_dir,
        shared_benchmarks=shared_stage_benchmarks,
        heldout_benchmarks=heldout_pipeline_benchmarks,
        settings={
            **COMPARE,
            "min_viral_fraction": PREDICT["min_viral_fraction"],
            "min_scored_fraction": PREDICT["min_scored_fraction"],
            "region_model": REGION_MODEL,
        },
    log:
        f"{OUT}/logs/compare_models/chunk{{L}}.log",
    benchmark:
        f"{OUT}/benchmarks/compare_models/chunk{{L}}.tsv"
    conda:
        "../../envs/preprocess.yaml"
    script:
        "../scripts/compare_models.py"


rule compare:
    input:
        compare_targets,
