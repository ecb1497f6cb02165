# The run's extraction plan and what the rules ask it (runtime/job_plan.py holds the logic):
# how much work each frame set is (a sample's or the held-out fragments' chunks, the training
# set's frame index), how many jobs each model gets over it, their numbers, files, memory and
# threads. Included by common.smk once the registry, paths and device are known; embed.smk's
# input functions and every stage that reads embeddings ask these functions.

from functools import cache

from virnucpro_smk.errors import InputError  # noqa: E402
from virnucpro_smk.preprocess.chunk_counts import cached_count, count_chunks  # noqa: E402
from virnucpro_smk.preprocess.shards import read_frame_index  # noqa: E402
from virnucpro_smk.runtime.job_plan import (  # noqa: E402
    ExtractionPlan,
    FrameSetWork,
    ModelCost,
    gpus_to_fill,
)

CHUNK_COUNT_CACHE = ".snakemake/virnucpro/chunk_counts"


# How extraction work is cut into GPU jobs (runtime/job_plan.py): each model by its own cost
# relative to the DNA model, filling the GPUs of the run (config `gpus`, else
# `--resources gpu=N`, else 1; 1 on the CPU) above the work floor.
PLAN = ExtractionPlan.for_run(
    ModelCost.of(DNA_MODEL),
    [ModelCost.of(s) for s in REGISTRY.values()],
    chunks_per_gpu_job=config["chunks_per_gpu_job"],
    min_chunks_per_gpu_job=config["min_chunks_per_gpu_job"],
    gpus=gpus_to_fill(
        GPU_REQUEST,
        int(config["gpus"]),
        getattr(workflow.global_resources.get("gpu"), "value", None),
    ),
    on_gpu=bool(GPU_REQUEST),
)


def known_cores():
    """The run's --cores, None where Snakemake does not know them (cluster executors: each
    job has a node of its own)."""
    try:
        return workflow.cores
    except WorkflowError:
        return None


# ---- how much work: a frame set's extraction jobs, known before any of them runs ---------


@cache  # asked for by every job's input functions; the on-disk cache serves later runs
@one_line_errors()
def sample_chunks(sample, chunk_length):
    """Chunks of a sample (cached on the input's size and mtime: a rerun does not rescan)."""
    try:
        return cached_count(SAMPLES[sample], chunk_length, count_chunks, CHUNK_COUNT_CACHE)
    except (InputError, OSError) as exc:
        raise WorkflowError(f"sample {sample!r}: {exc}") from None


def training_frame_index(chunk_length):
    """The training set's frame index, once drawn (build_training_set is a checkpoint: its
    selected frames, hence its jobs, are known only then)."""
    return checkpoints.build_training_set.get(L=chunk_length).output.frame_index


def _heldout_fasta(chunk_length):
    """The held-out fragments (cut_test_fragments is a checkpoint: which genomes are test
    genomes, hence the fragments and their jobs, are known once the manifest is drawn)."""
    return checkpoints.cut_test_fragments.get(L=str(chunk_length)).output.fasta


def heldout_fasta(wildcards):
    return _heldout_fasta(wildcards.L)


def frame_set_work(unit, chunk_length):
    """What a frame set's extraction jobs are sized by (job_plan.FrameSetWork): a sample's
    chunks at DAG build, the held-out fragments' chunks once cut, the training set's frame
    index once drawn."""
    if unit == "training":
        return FrameSetWork.of_index(read_frame_index(training_frame_index(chunk_length)))
    if unit == "heldout":
        with one_line_errors():
            chunks = cached_count(
                _heldout_fasta(int(chunk_length)),
                int(chunk_length),
                count_chunks,
                CHUNK_COUNT_CACHE,
            )
        return FrameSetWork.of_chunks(chunks)
    return FrameSetWork.of_chunks(sample_chunks(unit.removeprefix("samples/"), int(chunk_length)))


def job_numbers(unit, chunk_length, model):
    """The extraction jobs of ``model`` over a frame set, as their files number them."""
    return PLAN.job_numbers(model, frame_set_work(unit, chunk_length))


def embedding_files(unit, chunk_length, kind, model):
    pattern = f"{UNIT_DIR}/{EMBEDDING}"
    return [
        pattern.format(unit=unit, L=chunk_length, kind=kind, model=model, shard=job)
        for job in job_numbers(unit, chunk_length, model)
    ]
