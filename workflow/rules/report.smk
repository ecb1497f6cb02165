# ESM2 3B vs FastESM2_650 comparison (same DNA model, manifest, split and seed).


rule compare_models:
    input:
        metadata=lambda wc: [
            f"{classifier_dir(wc.L, DNA_MODEL.name, p)}/metadata.json" for p in COMPARE_MODELS
        ],
        tests=lambda wc: [
            f"{classifier_dir(wc.L, DNA_MODEL.name, p)}/test_predictions.tsv"
            for p in COMPARE_MODELS
        ],
        embeddings=lambda wc: [
            path for p in COMPARE_MODELS for path in training_embeddings(wc.L, p)
        ],
    output:
        html=f"{OUT}/reports/comparison_chunk{{L}}.html",
        md=f"{OUT}/reports/comparison_chunk{{L}}.md",
        json=f"{OUT}/reports/comparison_chunk{{L}}.json",
        png=report(
            f"{OUT}/reports/roc_pr_chunk{{L}}.png",
            category="Comparison",
            caption="../report/comparison.rst",
        ),
    params:
        models=COMPARE_MODELS,
        benchmarks=lambda wc: {p: training_benchmarks(wc.L, p) for p in COMPARE_MODELS},
        train_benchmarks=lambda wc: {
            p: f"{OUT}/benchmarks/train_classifier/"
            f"{Path(classifier_dir(wc.L, DNA_MODEL.name, p)).name}.tsv"
            for p in COMPARE_MODELS
        },
        by_model=lambda wc: {p: training_embeddings(wc.L, p) for p in COMPARE_MODELS},
        settings=COMPARE,
    log:
        f"{OUT}/logs/compare_models/chunk{{L}}.log",
    benchmark:
        f"{OUT}/benchmarks/compare_models/chunk{{L}}.tsv"
    conda:
        "../../envs/preprocess.yaml"
    script:
        "../scripts/compare_models.py"
