# Prediction: DNA and protein vectors joined row by row, scored by the classifier of the
# same models; per-frame, per-chunk and per-sequence tables, the viral sequences as FASTA, the
# viral regions along each sequence (table and FASTA), a figure, and one summary across samples.


include: "helpers/predict.smk"


rule predict_sample:
    input:
        dna=pair_embeddings("sample", "dna"),
        protein=pair_embeddings("sample", "protein"),
        weights=classifier_of,
        sequences=f"{SAMPLE_DIR}/sequences.tsv",
        fasta=sample_fasta,
    output:
        predictions=f"{PAIR_DIR}/predictions.tsv",
        per_chunk=f"{PAIR_DIR}/per_chunk.tsv",
        per_sequence=report(
            f"{PAIR_DIR}/per_sequence.tsv",
            category="Predictions",
            subcategory="{sample}",
            labels={"sample": "{sample}", "table": "per sequence", "models": "{protein_model}"},
        ),
        viral_fasta=f"{PAIR_DIR}/viral.fna",
        regions=report(
            f"{PAIR_DIR}/regions.tsv",
            category="Predictions",
            subcategory="{sample}",
            labels={"sample": "{sample}", "table": "viral regions", "models": "{protein_model}"},
        ),
        region_fasta=f"{PAIR_DIR}/viral_regions.fna",
        plot=report(
            f"{PAIR_DIR}/scores.png",
            category="Predictions",
            subcategory="{sample}",
            caption="../report/scores.rst",
            labels={"sample": "{sample}", "figure": "scores", "models": "{protein_model}"},
        ),
    params:
        min_viral_fraction=PREDICT["min_viral_fraction"],
        min_scored_fraction=PREDICT["min_scored_fraction"],
        plot_tracks=PREDICT["plot_tracks"],
        region_model=REGION_MODEL,
    log:
        f"{OUT}/logs/predict_sample/{{sample}}_chunk{{L}}_{{dna_model}}+{{protein_model}}.log",
    benchmark:
        f"{OUT}/benchmarks/predict_sample/{{sample}}_chunk{{L}}_{{dna_model}}+{{protein_model}}.tsv"
    resources:
        mem_mb=4000,  # ~0.9 GB measured at 2048-d, independent of the sample's size
    conda:
        "../../envs/gpu.yaml"
    script:
        "../scripts/predict.py"


rule summarize_predictions:
    input:
        per_sequence_tables,
    output:
        report(
            f"{OUT}/summary.tsv",
            category="Summary",
            caption="../report/summary.rst",
            labels={"table": "all samples"},
        ),
    params:
        samples=summary_samples,
        models=summary_models,
    log:
        f"{OUT}/logs/summarize_predictions.log",
    benchmark:
        f"{OUT}/benchmarks/summarize_predictions.tsv"
    conda:
        "../../envs/preprocess.yaml"
    script:
        "../scripts/summarize.py"


rule predict:
    input:
        predict_targets_strict,
