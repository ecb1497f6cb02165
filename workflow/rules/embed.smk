# Embeddings: one GPU job per (frame set, chunk length, model, job). A frame set is a sample
# (`samples/<name>`), the training set (`training`) or the comparison's held-out fragments
# (`heldout`). The run's extraction plan (PLAN in helpers/extraction_plan.smk; the logic in
# runtime/job_plan.py) sizes each model's jobs by its own work (chunks x its cost relative to
# the DNA model; `chunks_per_gpu_job` at most, raised to fill the run's GPUs above
# `min_chunks_per_gpu_job`), so a small input is one job per model that loads the model once,
# and a large one gets many protein jobs and few DNA jobs; memory follows the job's size.
# plan_extraction_jobs writes the model's job table (its jobs as runs of rows of the frame
# index) that the jobs read their byte ranges from. `extraction.loader_workers`,
# `progress_seconds`, `checkpoint_seconds` and `compile` only change speed, logging and how
# often a job saves its rows: the script reads them from the config, not from params, so
# changing them reruns nothing.


include: "helpers/embed.smk"


localrules:
    plan_extraction_jobs,


rule plan_extraction_jobs:
    input:
        index=FRAME_INDEX,
        sized_by=job_count_source,
    output:
        JOB_TABLE,
    params:
        n_jobs=job_count,
    log:
        f"{OUT}/logs/plan_extraction_jobs/{{unit}}_chunk{{L}}_{{model}}.log",
    benchmark:
        f"{OUT}/benchmarks/plan_extraction_jobs/{{unit}}_chunk{{L}}_{{model}}.tsv"
    conda:
        "../../envs/preprocess.yaml"
    script:
        "../scripts/plan_extraction_jobs.py"


rule extract_embeddings:
    input:
        frames=frames_of_kind,
        job_table=JOB_TABLE,
        model=model_ready_of,
        precision=PRECISION,
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
