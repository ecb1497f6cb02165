# Embeddings: one GPU job per (frame set, chunk length, model, shard). A frame set is a
# sample (`samples/<name>`) or the training set (`training`); shards are sized by work
# (`chunks_per_gpu_job`, raised to fill the run's GPUs above `min_chunks_per_gpu_job`), so a
# small input is one job per model that loads the model once; memory follows the job's size.
# `extraction.loader_workers`, `progress_seconds`, `checkpoint_seconds` and `compile` only
# change speed, logging and how often a job saves its rows: the script reads them from the
# config, not from params, so changing them reruns nothing.


rule extract_embeddings:
    input:
        frames=frames_of_kind,
        shard_index=f"{UNIT_DIR}/frames/shards.tsv",
        model=model_ready_of,
        precision=f"{OUT}/precision/{{model}}.json",
        env=ancient(ENV_REPORT),
    output:
        f"{UNIT_DIR}/{EMBEDDING}",
        stats=EXTRACTION_STATS,
    params:
        spec=model_spec,
        settings=model_settings,
        model_dir=model_path,
        device=JOB_DEVICE,
    log:
        f"{OUT}/logs/extract_embeddings/{{unit}}_chunk{{L}}_{{kind}}_{{model}}_{{shard}}.log",
    benchmark:
        EXTRACTION_BENCHMARK
    threads: extraction_threads
    resources:
        gpu=gpu_count,
        mem_mb=extraction_mem,
        runtime=240,
    conda:
        "../../envs/gpu.yaml"
    script:
        "../scripts/extract_embeddings.py"


rule embeddings:
    input:
        embedding_targets,
