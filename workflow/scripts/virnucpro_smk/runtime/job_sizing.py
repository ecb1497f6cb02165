"""How many GPU jobs each model gets for a frame set, and how much memory each one asks for.

One rule for samples and the training set, applied **per model**: jobs are sized by work
known before they run (a sample's chunk count at DAG build; the training set's selected
frames once it is drawn), at most ``chunks_per_gpu_job`` chunks each, and, where a run has
several GPUs, at least one job per GPU as long as each keeps ``min_chunks_per_gpu_job`` of
*work*.

Work is chunks times the model's cost per frame (:func:`relative_costs`): ``gflop_per_token``
from the registry (about 2 x parameters: DNABERT-S 0.23, FastESM2_650 1.3, ESM2 3B 5.7) times
the tokens a frame makes (``TOKENS_PER_BP``: ~70 BPE tokens for a 300-bp DNA frame, ~100
residues for its protein), relative to the run's DNA model. A protein chunk is then ~8x
(FastESM2_650) to ~35x (ESM2 3B) the work of a DNA chunk, so the protein model is cut into
enough jobs to fill the GPUs while the DNA model keeps few, long jobs: a 1M-chunk sample on 8
GPUs makes 8 FastESM2_650 (or ESM2 3B) jobs and 2 DNABERT-S jobs (fewer would break the
memory cap), instead of 8 + 8 with 8 DNA jobs of a few seconds each paying a ~10 s start-up.
DNA and protein jobs of a frame set are balanced in the sense that matters for the GPUs: no
DNA job holds more work than a protein job (each is capped at the same chunk count and costs
8-35x less per chunk), and the DNA model never gets more jobs than memory or the floor
require, so it is never the straggler nor a crowd of needless start-ups.

Why a floor, and in which unit: every job pays its start-up before the first batch
(interpreter, imports, CUDA context: 6-10 s measured per process, plus the model load),
whatever its size. The floor is counted in chunks *of the run's DNA model* (the cheapest
model, whose jobs are the ones at risk of being all start-up): 800,000 DNABERT-S chunks are
~11 PFLOP, ~35 s of work on an H100 at the FastESM2_650 target rate (1M chunks in 6 min,
~2,800 chunks/s, ~320 TFLOP/s achieved), 3.5x a 10 s start-up. A protein job keeps the same
~35 s: 100,000 FastESM2_650 chunks or ~23,000 ESM2 3B chunks. Smaller jobs would spend more
of each GPU's time starting than working, and a GPU idle for want of a job costs less than
that on small inputs, which finish in seconds anyway.

Whole rounds: when a frame set has more jobs than GPUs, jobs left for a second round run while
the other GPUs idle. 1M chunks on 8 GPUs made 2 DNABERT-S + 8 FastESM2_650 jobs: the 8 protein
jobs fill the GPUs, then the 2 DNA jobs run alone (~1.5M DNA-chunks of work on the longest
GPU). :func:`pair_jobs` raises the protein model's count where that ends the frame set sooner
by an estimate (:func:`makespan`: longest first on the GPUs, each job paying a start-up of
~10 s, ``STARTUP_SHARE_OF_FLOOR`` of the floor), trying a count that makes DNA + protein a
whole number of rounds: there 14 protein jobs, 16 in all, two full rounds whose jobs end
together (~0.57M and 0.5M each; ~1.6M with start-ups against ~2.0M). Only the protein
model's count moves: the DNA model's jobs (and files) stay the same whichever protein models
a run has, so adding one reruns nothing of the DNA model.

Memory: an extraction job holds its records, their tokens and one batch of rows (rows go to
the file as batches finish), never its matrix; ``extraction_mem_mb`` says how much from the
job's record count. The cap ``chunks_per_gpu_job`` is what keeps that bounded, for every
model alike (a DNA record costs about as much host memory as a protein record).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from ..models.registry import ModelSpec
from ..preprocess.shards import shard_count

#: Work floor of a GPU job when jobs are multiplied to fill GPUs, in chunks of the run's DNA
#: model (see the module docstring).
MIN_CHUNKS_PER_GPU_JOB = 800_000
#: A GPU job's start-up (interpreter, imports, CUDA context, weights) as a share of the floor:
#: ~10 s, where the floor is ~35 s of work (800,000 DNA chunks: 3.5 start-ups).
STARTUP_SHARE_OF_FLOOR = 1 / 3.5
#: Tokens a frame makes per base pair of its chunk, by model kind: DNA BPE tokenizers
#: (DNABERT-S) make ~70 tokens of a 300-bp frame; a protein frame is one residue per codon.
#: Chunk length cancels out of every ratio, so only the kinds' ratio (~1.4) matters.
TOKENS_PER_BP = {"dna": 70 / 300, "protein": 1 / 3}
#: Memory of an extraction job besides its records: interpreter, torch, the model's weights
#: read on the host side, loader workers' buffers.
BASE_MEM_MB = 6000
#: Host memory per record held by a job: the id and sequence strings (~0.5 kB), the token
#: list (a Python list of ints: ~8 B per token pointer plus int objects, ~1-3 kB for 60-300
#: tokens) and its batch index; rounded up.
BYTES_PER_RECORD = 4096
#: Memory of a training job besides its rows: interpreter, torch and the CUDA context's host
#: side, the manifest walk (one embedding file's ids per side: up to ~100 MB for 500,000-frame
#: files), a byte of label per frame and the test scores (10M frames: ~60 MB).
TRAIN_BASE_MEM_MB = 3000
#: Blocks a training job holds besides its shuffle buffer (classify/batches.py): the
#: read-ahead queue (``READ_AHEAD_BLOCKS``), the block being read and the block being joined.
TRAIN_HELD_BLOCKS = 8 + 2
#: Kept frames per chunk assumed when a sample's job is sized before its frames exist (real
#: inputs keep 0.6-0.9; twice the measured 0.87 leaves room for coding-dense inputs).
FRAMES_PER_CHUNK = 2.0


def frame_cost(spec: ModelSpec) -> float:
    """GFLOP per base pair of frame for ``spec`` (times the chunk length: per frame)."""
    return spec.gflop_per_token * TOKENS_PER_BP[spec.kind]


def relative_costs(dna: ModelSpec, models: Iterable[ModelSpec]) -> dict[str, float]:
    """Work of one chunk through each model, in chunks of the DNA model ``dna`` (its own
    cost is 1): with the shipped registry ~8 for FastESM2_650, ~35 for ESM2 3B."""
    return {m.name: frame_cost(m) / frame_cost(dna) for m in models}


def gpu_jobs(
    work: int,
    per_job: int,
    gpus: int = 1,
    min_per_job: int = MIN_CHUNKS_PER_GPU_JOB,
    cost: float = 1.0,
) -> int:
    """Extraction jobs of one model for ``work`` chunks (or training frames).

    ``ceil(work / per_job)`` (at least 1: the memory cap), raised to the number of GPUs the
    run has when each job still gets at least ``min_per_job`` of work, a chunk of this model
    being ``cost`` chunks of the DNA model's work (:func:`relative_costs`). With the defaults
    (500,000 and 800,000), 1M chunks make 8 FastESM2_650 jobs (cost ~8) on 8 GPUs and 2 on 1
    GPU, and 2 DNA jobs (cost 1) either way; 50,000 chunks make 1 job of each.
    """
    if min_per_job <= 0:
        raise ValueError(f"min_per_job must be positive, got {min_per_job}")
    if cost <= 0:
        raise ValueError(f"cost must be positive, got {cost}")
    by_size = shard_count(work, per_job)
    fill = min(max(gpus, 1), math.floor(work * cost / min_per_job))
    return max(by_size, fill)


def makespan(job_work: Sequence[float], gpus: int) -> float:
    """When the last of ``job_work`` (one figure per job, start-up included) ends on ``gpus``
    GPUs, each job given to the GPU free first, longest first (what a scheduler filling free
    GPUs achieves at best)."""
    loads = [0.0] * max(gpus, 1)
    for work in sorted(job_work, reverse=True):
        loads[loads.index(min(loads))] += work
    return max(loads)


def pair_jobs(
    work: int,
    per_job: int,
    gpus: int,
    protein_cost: float,
    min_per_job: int = MIN_CHUNKS_PER_GPU_JOB,
    startup: float | None = None,
) -> tuple[int, int]:
    """Extraction jobs of the DNA model and of one protein model over ``work`` chunks.

    Each model's count is :func:`gpu_jobs`'s; where the two together exceed the GPUs, the
    protein count is raised to the next count that makes them a whole number of rounds, or
    the one after, when that shortens the estimated :func:`makespan` (module docstring).
    1M chunks on 8 GPUs: (2, 14) with FastESM2_650 (cost ~8); ESM2 3B (cost ~35) keeps (2, 8),
    whose 8 long jobs outweigh the DNA jobs' second round.
    """
    dna = gpu_jobs(work, per_job, gpus, min_per_job, cost=1.0)
    protein = gpu_jobs(work, per_job, gpus, min_per_job, cost=protein_cost)
    if gpus <= 1 or dna + protein <= gpus:
        return dna, protein
    if startup is None:  # in the floor's unit: the floor is worth 3.5 start-ups
        startup = min_per_job * STARTUP_SHARE_OF_FLOOR
    whole = protein + (-(dna + protein)) % gpus

    def estimate(jobs: int) -> float:
        dna_job, protein_job = work / dna + startup, work * protein_cost / jobs + startup
        return makespan([dna_job] * dna + [protein_job] * jobs, gpus)

    best = min(dict.fromkeys((protein, whole, whole + gpus)), key=lambda p: (estimate(p), p))
    return dna, best


def extraction_mem_mb(records: int) -> int:
    """``mem_mb`` of an extraction job holding ``records`` records (bounded: no matrix)."""
    return BASE_MEM_MB + math.ceil(records * BYTES_PER_RECORD / 2**20)


def training_mem_mb(width: int, block_frames: int, buffer_frames: int) -> int:
    """``mem_mb`` of a training job at input ``width``: bounded by the recipe's block and
    buffer sizes, not by the number of frames (training streams from the files).

    Rows held: the shuffle buffer (on the host when training on the CPU; on a GPU only its
    blocks pass through the host, so this overstates) and the blocks read ahead (validation
    and test are read a block at a time too), each float32, counted twice (a block's DNA and
    protein parts are read before they are joined). With the defaults (256-frame blocks, a
    32,768-frame buffer): ~3.6 GB at 2,048-d (FastESM2_650), ~3.9 GB at 3,328-d (ESM2 3B),
    where holding a 10M-frame set at 3,328-d took 133 GB.
    """
    rows = max(buffer_frames, block_frames) + TRAIN_HELD_BLOCKS * block_frames
    return TRAIN_BASE_MEM_MB + math.ceil(2 * 4 * rows * width / 2**20)


def sample_records_per_job(chunks: int, jobs: int) -> int:
    """Records one job of a sample may hold, from its chunk count (frames are not known yet)."""
    return math.ceil(math.ceil(chunks / max(jobs, 1)) * FRAMES_PER_CHUNK)
