# The embed.smk rules' own input functions, params and path patterns (its rule file
# includes this one; Snakemake's lint keeps functions out of rule files). Uses only
# what common.smk defines or includes.

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
