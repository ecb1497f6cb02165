"""How many GPU jobs a frame set gets, and how much memory each one asks for.

One rule for samples and the training set: jobs are sized by work known before they run (a
sample's chunk count at DAG build; the training set's selected frames once it is drawn), at
most ``chunks_per_gpu_job`` each, and, where a run has several GPUs, at least one job per GPU
as long as each keeps ``min_chunks_per_gpu_job`` of work.

Why a floor: every job pays its start-up before the first batch (interpreter, imports, CUDA
context: 6-10 s measured per process, plus the model load), whatever its size. At the target
rate of FastESM2_650 on one H100 (1M chunks in 6 min, ~2,800 chunks/s), 100,000 chunks are
~35 s of GPU work, 3.5x a 10 s start-up; with ESM2 3B (~4.4x the FLOPs per token) the same
job lasts ~2.5 min. Smaller jobs would spend more of each GPU's time starting than working,
and a GPU idle for want of a job costs less than that on small inputs, which finish in
seconds anyway.

Memory: an extraction job holds its records, their tokens and one batch of rows (rows go to
the file as batches finish), never its matrix; ``extraction_mem_mb`` says how much from the
job's record count.
"""

from __future__ import annotations

import math

from ..preprocess.shards import shard_count

#: Work floor of a GPU job when jobs are multiplied to fill GPUs (see the module docstring).
MIN_CHUNKS_PER_GPU_JOB = 100_000
#: Memory of an extraction job besides its records: interpreter, torch, the model's weights
#: read on the host side, loader workers' buffers.
BASE_MEM_MB = 6000
#: Host memory per record held by a job: the id and sequence strings (~0.5 kB), the token
#: list (a Python list of ints: ~8 B per token pointer plus int objects, ~1-3 kB for 60-300
#: tokens) and its batch index; rounded up.
BYTES_PER_RECORD = 4096
#: Kept frames per chunk assumed when a sample's job is sized before its frames exist (real
#: inputs keep 0.6-0.9; twice the measured 0.87 leaves room for coding-dense inputs).
FRAMES_PER_CHUNK = 2.0


def gpu_jobs(
    work: int,
    per_job: int,
    gpus: int = 1,
    min_per_job: int = MIN_CHUNKS_PER_GPU_JOB,
) -> int:
    """Extraction jobs per model for ``work`` chunks (or training frames).

    ``ceil(work / per_job)`` (at least 1), raised to the number of GPUs the run has when each
    job still gets at least ``min_per_job``: 1M chunks on 8 GPUs make 8 jobs, on 1 GPU 2
    (``per_job`` 500,000); 50,000 chunks make 1 job whatever the GPUs.
    """
    if min_per_job <= 0:
        raise ValueError(f"min_per_job must be positive, got {min_per_job}")
    by_size = shard_count(work, per_job)
    fill = min(max(gpus, 1), work // min_per_job)
    return max(by_size, fill)


def extraction_mem_mb(records: int) -> int:
    """``mem_mb`` of an extraction job holding ``records`` records (bounded: no matrix)."""
    return BASE_MEM_MB + math.ceil(records * BYTES_PER_RECORD / 2**20)


def sample_records_per_job(chunks: int, jobs: int) -> int:
    """Records one job of a sample may hold, from its chunk count (frames are not known yet)."""
    return math.ceil(math.ceil(chunks / max(jobs, 1)) * FRAMES_PER_CHUNK)
