# Merged features, training manifest, classifier training and prediction.


rule merge_features:
    input:
        dna=f"{SAMPLE_DIR}/embeddings/dna/{{dna_model}}/shard_{{shard}}.safetensors",
        protein=f"{SAMPLE_DIR}/embeddings/protein/{{protein_model}}/shard_{{shard}}.safetensors",
    output:
        f"{SAMPLE_DIR}/merged/{{dna_model}}+{{protein_model}}/shard_{{shard}}.safetensors",
    log:
        f"{OUT}/logs/merge_features/{{sample}}_chunk{{L}}_{{dna_model}}+{{protein_model}}_{{shard}}.log",
    benchmark:
        f"{OUT}/benchmarks/merge_features/{{sample}}_chunk{{L}}_{{dna_model}}+{{protein_model}}_{{shard}}.tsv"
    resources:
        mem_mb=4000,
    conda:
        "../../envs/gpu.yaml"
    script:
        "../scripts/merge_features.py"


rule training_manifest:
    input:
        frames=lambda wc: [
            f"{OUT}/train.{d}/chunk{wc.L}/frames/identified_nucleotide.fa" for d in TRAINING
        ],
        shard_index=lambda wc: [f"{OUT}/train.{d}/chunk{wc.L}/frames/shards.tsv" for d in TRAINING],
    output:
        manifest=f"{OUT}/training/chunk{{L}}/training_manifest.tsv",
        summary=f"{OUT}/training/chunk{{L}}/training_manifest.json",
    params:
        datasets=TRAINING,
        seed=TRAIN["seed"],
        val_fraction=TRAIN["val_fraction"],
        test_fraction=TRAIN["test_fraction"],
        balance=TRAIN["balance"],
    log:
        f"{OUT}/logs/training_manifest/chunk{{L}}.log",
    benchmark:
        f"{OUT}/benchmarks/training_manifest/chunk{{L}}.tsv"
    conda:
        "../../envs/preprocess.yaml"
    script:
        "../scripts/training_manifest.py"


rule train_classifier:
    input:
        manifest=f"{OUT}/training/chunk{{L}}/training_manifest.tsv",
        shards=lambda wc: [
            path
            for d in TRAINING
            for path in merged_shards(f"train.{d}", wc.L, wc.dna_model, wc.protein_model)
        ],
    output:
        weights=f"{OUT}/models/{{L}}bp_{{dna_model}}+{{protein_model}}_{{width}}d/model.safetensors",
        metadata=f"{OUT}/models/{{L}}bp_{{dna_model}}+{{protein_model}}_{{width}}d/metadata.json",
        log_tsv=f"{OUT}/models/{{L}}bp_{{dna_model}}+{{protein_model}}_{{width}}d/training_log.tsv",
        test=f"{OUT}/models/{{L}}bp_{{dna_model}}+{{protein_model}}_{{width}}d/test_predictions.tsv",
    params:
        shards=lambda wc: {
            d: merged_shards(f"train.{d}", wc.L, wc.dna_model, wc.protein_model)
            for d in TRAINING
        },
        recipe=TRAIN["recipe"],
        seed=TRAIN["seed"],
    log:
        f"{OUT}/logs/train_classifier/{{L}}bp_{{dna_model}}+{{protein_model}}_{{width}}d.log",
    benchmark:
        f"{OUT}/benchmarks/train_classifier/{{L}}bp_{{dna_model}}+{{protein_model}}_{{width}}d.tsv"
    threads: 2
    resources:
        gpu=gpu_count,
        mem_mb=32000,
        runtime=240,
    conda:
        "../../envs/gpu.yaml"
    script:
        "../scripts/train_classifier.py"


rule predict_sample:
    input:
        shards=lambda wc: merged_shards(wc.sample, wc.L, wc.dna_model, wc.protein_model),
        weights=lambda wc: classifier_weights(wc.L, wc.dna_model, wc.protein_model),
        sequences=f"{SAMPLE_DIR}/sequences.tsv",
    output:
        predictions=f"{SAMPLE_DIR}/{{dna_model}}+{{protein_model}}/predictions.tsv",
        per_chunk=f"{SAMPLE_DIR}/{{dna_model}}+{{protein_model}}/per_chunk.tsv",
        per_sequence=f"{SAMPLE_DIR}/{{dna_model}}+{{protein_model}}/per_sequence.tsv",
        plot=report(
            f"{SAMPLE_DIR}/{{dna_model}}+{{protein_model}}/scores.png",
            category="Predictions",
            caption="../report/scores.rst",
        ),
    params:
        min_viral_fraction=PREDICT["min_viral_fraction"],
        plot_first_n=PREDICT["plot_first_n"],
    log:
        f"{OUT}/logs/predict_sample/{{sample}}_chunk{{L}}_{{dna_model}}+{{protein_model}}.log",
    benchmark:
        f"{OUT}/benchmarks/predict_sample/{{sample}}_chunk{{L}}_{{dna_model}}+{{protein_model}}.tsv"
    resources:
        mem_mb=8000,
    conda:
        "../../envs/gpu.yaml"
    script:
        "../scripts/predict.py"
