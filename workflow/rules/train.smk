# Training: the manifest is drawn from the datasets' frames before any embedding (split by
# genome, non-viral balanced against viral), only the selected frames are embedded
# (each model's GPU jobs sized by the selected frames and its cost, as samples' are by chunks:
# a checkpoint, since the frames are known only once drawn), then one classifier per
# (chunk length, DNA, protein).


include: "helpers/train.smk"


checkpoint build_training_set:
    input:
        nucleotide=training_dataset_files("dna"),
        protein=training_dataset_files("protein"),
        genomes=training_genome_maps,
        clusters=f"{TRAINING_DIR}/genome_clusters.tsv",
        # Not read: it orders the checkpoint after the environment check. Snakemake (9.27)
        # drops every pending job when a checkpoint's DAG update happens while the producer
        # of an ancient() input is still running (the run then ends "done" with its targets
        # missing); with this input that producer has always finished by then.
        env=ancient(ENV_REPORT),
    output:
        manifest=f"{TRAINING_DIR}/training_manifest.tsv",
        summary=f"{TRAINING_DIR}/training_manifest.json",
        nucleotide=f"{TRAINING_DIR}/frames/identified_nucleotide.fa",
        protein=f"{TRAINING_DIR}/frames/identified_protein.faa",
        frame_index=f"{TRAINING_DIR}/frames/shards.tsv",
    params:
        datasets=TRAINING,
        genome_maps=genome_map_params,
        seed=TRAIN["seed"],
        val_fraction=TRAIN["val_fraction"],
        test_fraction=TRAIN["test_fraction"],
        balance=TRAIN["balance"],
    log:
        f"{OUT}/logs/build_training_set/chunk{{L}}.log",
    benchmark:
        f"{OUT}/benchmarks/build_training_set/chunk{{L}}.tsv"
    resources:
        mem_mb=8000,
    conda:
        "../../envs/preprocess.yaml"
    script:
        "../scripts/build_training_set.py"


rule train_classifier:
    input:
        manifest=f"{TRAINING_DIR}/training_manifest.tsv",
        dna=pair_embeddings("training", "dna"),
        protein=pair_embeddings("training", "protein"),
    output:
        weights=protected(f"{CLASSIFIER_DIR}/model.safetensors"),
        metadata=f"{CLASSIFIER_DIR}/metadata.json",
        log_tsv=f"{CLASSIFIER_DIR}/training_log.tsv",
        test=f"{CLASSIFIER_DIR}/test_predictions.tsv",
        seed_weights=protected(seed_weight_outputs()),
    params:
        recipe=TRAIN["recipe"],
        seed=TRAIN["seed"],
        seeds=TRAIN["seeds"],
        device=JOB_DEVICE,
    log:
        f"{OUT}/logs/train_classifier/{CLASSIFIER_TAG}.log",
    benchmark:
        TRAIN_BENCHMARK
    threads: 2
    resources:
        gpu=gpu_count,
        mem_mb=training_mem,
        runtime=240,
    conda:
        "../../envs/gpu.yaml"
    script:
        "../scripts/train_classifier.py"


rule train:
    input:
        train_targets,
