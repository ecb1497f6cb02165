# Embeddings: one GPU job per (frame set, chunk length, model, job). A frame set is a sample
# (`samples/<name>`), the training set (`training`) or the comparison's held-out fragments
# (`heldout`). The run's extraction plan (PLAN in common.smk, runtime/job_plan.py) sizes each
# model's jobs by its own work (chunks x its cost relative to the DNA model;
# `chunks_per_gpu_job` at most, raised to fill the run's GPUs above `min_chunks_per_gpu_job`),
# so a small input is one job per model that loads the model once, and a large one gets many
# protein jobs and few DNA jobs; memory follows the job's size. plan_extraction_jobs writes
# the model's job table (its jobs as runs of rows of the frame index) that the jobs read their
# byte ranges from. `extraction.loader_workers`, `progress_seconds`, `checkpoint_seconds` and
# `compile` only change speed, logging and how often a job saves its rows: the script reads
# them from the config, not from params, so changing them reruns nothing.

# the frame index (fine byte-range rows, from the frames alone) and each model's job table
# (its extraction jobs as runs of index rows: job counts differ between models)
FRAME_INDEX = f"{UNIT_DIR}/frames/shards.tsv"
JOB_TABLE = f"{UNIT_DIR}/frames/jobs/{{model}}.tsv"


def frames_of_kind(wildcards):
    """Extraction reads its byte range straight from the identified file of its kind."""
    unit_dir = UNIT_DIR.format(unit=wildcards.unit, L=wildcards.L)
    return f"{unit_dir}/frames/{FRAME_FILES[wildcards.kind]}"


def job_count(wildcards):
    """Params of plan_extraction_jobs: the model's job count over the frame set (the run's
    extraction plan, by the model's own cost: runtime/job_plan.py)."""
    return PLAN.job_count(wildcards.model, frame_set_work(wildcards.unit, wildcards.L))


def job_count_source(wildcards):
    """Input of plan_extraction_jobs naming the checkpoint its job count depends on (Snakemake
    requires it, e.g. in a remote job): the held-out fragments, or the training manifest."""
    if wildcards.unit == "heldout":
        return heldout_fasta(wildcards)
    if wildcards.unit == "training":
        return checkpoints.build_training_set.get(L=wildcards.L).output.manifest
    return []


def extraction_mem(wildcards):
    """``mem_mb`` of an extraction job from its size: the training job's records (its run of
    index rows), or its share of a sample's or the held-out fragments' chunks (records are
    not held as a matrix, so this stays bounded)."""
    work = frame_set_work(wildcards.unit, wildcards.L)
    return PLAN.job_mem_mb(wildcards.model, work, int(wildcards.shard))


def extraction_threads(wildcards):
    """Every extraction job's fair share of the cores on a GPU run (cores // GPUs, at least
    its loader workers); on the CPU or without --cores, the loader workers."""
    return PLAN.threads(EXTRACTION["loader_workers"], known_cores())


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
        shard_index=JOB_TABLE,
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
