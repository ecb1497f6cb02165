"""The extraction job plan: how many GPU jobs each model gets over a frame set, which rows of
the frame index each job embeds, and the threads and memory each job asks for.

The workflow asks this module and nothing else: ``rules/helpers/extraction_plan.smk`` builds
one :class:`ExtractionPlan` per run, and the input functions of ``helpers/embed.smk`` and
``helpers/report.smk`` query it. Its inputs
are numbers, so it imports nothing of the stages: a frame set's work (:class:`FrameSetWork`:
the chunks of a sample or of the held-out fragments, counted from the input by
``preprocess/chunk_counts``; the training set's frame index, once drawn), each model's cost as
the registry states it (:class:`ModelCost`), the run's GPUs (:func:`gpus_to_fill`) and the
config's bounds per job (``chunks_per_gpu_job``, ``min_chunks_per_gpu_job``).

Two things, two names. A **frame index row** (``frames/shards.tsv``, written once per frame set
by preprocessing from the frames alone: ``preprocess/shards.py``) is a slice of the frame set;
it never changes with the models, their job counts or the GPUs. An **extraction job** (a row of
the model's job table ``frames/jobs/<model>.tsv``, :func:`job_table`) is a contiguous run of
index rows that one GPU job embeds into one file (``shard_NNNN.safetensors``: the files keep
the old word, so that finished work is not redone).

Job counts: one rule for samples and the training set, applied **per model**: jobs are sized
by work known before they run (a sample's chunk count at DAG build; the training set's
selected frames once it is drawn), at most ``chunks_per_gpu_job`` chunks each, and, where a
run has several GPUs, at least one job per GPU as long as each keeps
``min_chunks_per_gpu_job`` of *work*.

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
model, whose jobs are the ones at risk of being all start-up): the schema's 800,000
DNABERT-S chunks are ~11 PFLOP, ~35 s of work on an H100 at the FastESM2_650 target rate (1M
chunks in 6 min, ~2,800 chunks/s, ~320 TFLOP/s achieved), 3.5x a 10 s start-up. A protein
job keeps the same ~35 s: 100,000 FastESM2_650 chunks or ~23,000 ESM2 3B chunks. Smaller jobs
would spend more of each GPU's time starting than working, and a GPU idle for want of a job
costs less than that on small inputs, which finish in seconds anyway.

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
the file as batches finish), never its matrix; :func:`extraction_mem_mb` says how much from
the job's record count. The cap ``chunks_per_gpu_job`` is what keeps that bounded, for every
model alike (a DNA record costs about as much host memory as a protein record). Threads: on a
GPU run each job takes its share of the cores, so that the jobs of every frame set fill a
node's GPUs side by side (:meth:`ExtractionPlan.threads`).
"""

from __future__ import annotations

import bisect
import itertools
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..formats.frame_index import FRAME_INDEX, JOB_TABLE, FrameRun, JobRow

#: A GPU job's start-up (interpreter, imports, CUDA context, weights) as a share of the floor
#: ``min_chunks_per_gpu_job``: ~10 s, where the schema's floor is ~35 s of work (800,000 DNA
#: chunks: 3.5 start-ups).
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


@dataclass(frozen=True)
class ModelCost:
    """What the plan needs of a model: its ``kind`` (which says how many tokens a frame makes)
    and ``gflop_per_token`` (the registry's forward-pass cost, ~2 x parameters), passed in as
    numbers so that the plan does not read the registry."""

    name: str
    kind: str
    gflop_per_token: float

    @classmethod
    def of(cls, spec: Any) -> ModelCost:
        """The cost of a registry entry (anything with ``name``, ``kind``, ``gflop_per_token``:
        a ``models.registry.ModelSpec``, which this module does not import)."""
        return cls(spec.name, spec.kind, spec.gflop_per_token)

    @property
    def gflop_per_bp(self) -> float:
        """GFLOP per base pair of frame (times the chunk length: per frame)."""
        return self.gflop_per_token * TOKENS_PER_BP[self.kind]


def relative_costs(dna: ModelCost, models: Iterable[ModelCost]) -> dict[str, float]:
    """Work of one chunk through each model, in chunks of the DNA model ``dna`` (its own
    cost is 1): with the shipped registry ~8 for FastESM2_650, ~35 for ESM2 3B."""
    return {m.name: m.gflop_per_bp / dna.gflop_per_bp for m in models}


@dataclass(frozen=True)
class FrameSetWork:
    """What a frame set's jobs are sized by: the ``chunks`` of a sample or of the held-out
    fragments (counted from the input when the DAG is built, before their frames are cut),
    or the frame ``index`` of the training set (its drawn frames, known once the checkpoint
    that draws them has run). Exactly one of the two is set."""

    chunks: int | None
    index: tuple[FrameRun, ...] | None

    @classmethod
    def of_chunks(cls, chunks: int) -> FrameSetWork:
        return cls(chunks, None)

    @classmethod
    def of_index(cls, index: Sequence[FrameRun]) -> FrameSetWork:
        return cls(None, tuple(index))

    @property
    def amount(self) -> int:
        """Chunks, or frames of the index: what ``chunks_per_gpu_job`` counts."""
        if self.index is not None:
            return sum(row.n_records for row in self.index)
        return int(self.chunks or 0)


def jobs_by_size(work: int, per_job: int) -> int:
    """Jobs for ``work`` chunks (or frames) at most ``per_job`` each, at least one.

    Sized by work known at DAG-build time (chunk counts are exact and cheap), not by the
    upper bound of six frames per chunk: real inputs keep 0.6-0.9 frames per chunk, so a
    bound-sized job would be 10-15 % full and pay its start-up many times over.
    """
    if per_job <= 0:
        raise ValueError(f"chunks_per_gpu_job must be positive, got {per_job}")
    return max(1, math.ceil(work / per_job))


def gpu_jobs(work: int, per_job: int, gpus: int, min_per_job: int, cost: float = 1.0) -> int:
    """Extraction jobs of one model for ``work`` chunks (or training frames).

    :func:`jobs_by_size` (the memory cap), raised to the number of GPUs the run has when each
    job still gets at least ``min_per_job`` of work, a chunk of this model being ``cost``
    chunks of the DNA model's work (:func:`relative_costs`). With the schema's bounds
    (500,000 and 800,000), 1M chunks make 8 FastESM2_650 jobs (cost ~8) on 8 GPUs and 2 on 1
    GPU, and 2 DNA jobs (cost 1) either way; 50,000 chunks make 1 job of each.
    """
    if min_per_job <= 0:
        raise ValueError(f"min_per_job must be positive, got {min_per_job}")
    if cost <= 0:
        raise ValueError(f"cost must be positive, got {cost}")
    fill = min(max(gpus, 1), math.floor(work * cost / min_per_job))
    return max(jobs_by_size(work, per_job), fill)


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
    min_per_job: int,
) -> tuple[int, int]:
    """Extraction jobs of the DNA model and of one protein model over ``work`` chunks.

    Each model's count is :func:`gpu_jobs`'s; where the two together exceed the GPUs, the
    protein count is raised to the next count that makes them a whole number of rounds, or
    the one after, when that shortens the estimated :func:`makespan` (module docstring).
    1M chunks on 8 GPUs: (2, 14) with FastESM2_650 (cost ~8); ESM2 3B (cost ~35) keeps (2, 8),
    whose 8 long jobs outweigh the DNA jobs' second round. A job's start-up counts as
    ``STARTUP_SHARE_OF_FLOOR`` of the floor.
    """
    dna = gpu_jobs(work, per_job, gpus, min_per_job, cost=1.0)
    protein = gpu_jobs(work, per_job, gpus, min_per_job, cost=protein_cost)
    if gpus <= 1 or dna + protein <= gpus:
        return dna, protein
    startup = min_per_job * STARTUP_SHARE_OF_FLOOR  # in the floor's unit
    whole = protein + (-(dna + protein)) % gpus

    def estimate(jobs: int) -> float:
        dna_job, protein_job = work / dna + startup, work * protein_cost / jobs + startup
        return makespan([dna_job] * dna + [protein_job] * jobs, gpus)

    best = min(dict.fromkeys((protein, whole, whole + gpus)), key=lambda p: (estimate(p), p))
    return dna, best


def _job_bounds(index: Sequence[FrameRun], n_jobs: int) -> list[tuple[int, int]]:
    """Index row ranges of ``n_jobs`` jobs: each cut at the row start nearest its exact
    share of the frames (``j * frames / n_jobs``), so a job's frames are within one row of
    its share."""
    starts = list(itertools.accumulate((row.n_records for row in index), initial=0))
    total = starts[-1]
    cuts = [0]
    for job in range(1, n_jobs):
        target = job * total / n_jobs
        i = bisect.bisect_left(starts, target)
        if i > 0 and (i == len(starts) or target - starts[i - 1] <= starts[i] - target):
            i -= 1
        cuts.append(min(max(i, cuts[-1]), len(index)))
    cuts.append(len(index))
    return list(itertools.pairwise(cuts))


def job_table(index: Sequence[FrameRun], n_jobs: int) -> list[JobRow]:
    """A model's job table: ``n_jobs`` contiguous runs of the frame index's rows.

    Each job ends at the row boundary nearest its exact share of the frames, so its frames
    are within one index row of ``frames / n_jobs``; with more jobs than rows the extra jobs
    are empty (0 records, an empty byte range: their files have 0 rows).
    """
    if n_jobs <= 0:
        raise ValueError(f"n_jobs must be positive, got {n_jobs}")
    if not index:
        raise InputError("the frame index has no rows")
    jobs = []
    for job, (lo, hi) in enumerate(_job_bounds(index, n_jobs)):
        rows = index[lo:hi]
        if not rows:  # empty: an empty range where the next row starts (or the files end)
            nuc = index[lo].nucleotide_start if lo < len(index) else index[-1].nucleotide_end
            prot = index[lo].protein_start if lo < len(index) else index[-1].protein_end
            jobs.append(JobRow(job, 0, "", nuc, nuc, prot, prot))
            continue
        jobs.append(
            JobRow(
                job,
                sum(row.n_records for row in rows),
                next((row.first_id for row in rows if row.n_records), ""),
                rows[0].nucleotide_start,
                rows[-1].nucleotide_end,
                rows[0].protein_start,
                rows[-1].protein_end,
            )
        )
    return jobs


def write_job_table(
    index: str | os.PathLike[str], n_jobs: int, output: str | os.PathLike[str]
) -> list[JobRow]:
    """Write a model's job table (rule plan_extraction_jobs, and a speed run's one job):
    ``n_jobs`` runs of the rows of the frame index file ``index``. The one function here that
    touches files."""
    jobs = job_table(FRAME_INDEX.read_all(index), n_jobs)
    JOB_TABLE.write(output, jobs)
    return jobs


def extraction_mem_mb(records: int) -> int:
    """``mem_mb`` of an extraction job holding ``records`` records (bounded: no matrix)."""
    return BASE_MEM_MB + math.ceil(records * BYTES_PER_RECORD / 2**20)


def sample_records_per_job(chunks: int, jobs: int) -> int:
    """Records one job of a sample may hold, from its chunk count (frames are not known yet)."""
    return math.ceil(math.ceil(chunks / max(jobs, 1)) * FRAMES_PER_CHUNK)


def training_mem_mb(width: int, block_frames: int, buffer_frames: int) -> int:
    """``mem_mb`` of a training job at input ``width``: bounded by the recipe's block and
    buffer sizes, not by the number of frames (training streams from the files).

    Rows held: the shuffle buffer (on the host when training on the CPU; on a GPU only its
    blocks pass through the host, so this overstates) and the blocks read ahead (validation
    and test are read a block at a time too), each float32, counted twice (a block's DNA and
    protein parts are read before they are joined). With the recipe's sizes (256-frame
    blocks, a 32,768-frame buffer): ~3.6 GB at 2,048-d (FastESM2_650), ~3.9 GB at 3,328-d
    (ESM2 3B), where holding a 10M-frame set at 3,328-d took 133 GB.
    """
    rows = max(buffer_frames, block_frames) + TRAIN_HELD_BLOCKS * block_frames
    return TRAIN_BASE_MEM_MB + math.ceil(2 * 4 * rows * width / 2**20)


def gpus_to_fill(gpu_request: int, configured: int, granted: int | None) -> int:
    """GPUs a run fills with extraction jobs: the config's ``gpus`` when set (clusters, where
    Snakemake cannot know), else the ``--resources gpu=N`` granted (``granted``), else 1; 1
    when the jobs run on the CPU (``gpu_request`` 0: there is nothing to fill)."""
    if not gpu_request:
        return 1
    if configured:
        return configured
    return max(1, int(granted or 1))


@dataclass(frozen=True)
class ExtractionPlan:
    """A run's extraction plan, built once when the DAG is built and asked per frame set and
    model: job counts (by each model's own cost), the jobs' numbers, each job's memory, and
    the threads every job takes."""

    dna_model: str
    #: work of a chunk through each model, in chunks of the DNA model (:func:`relative_costs`)
    relative_cost: Mapping[str, float]
    chunks_per_gpu_job: int
    min_chunks_per_gpu_job: int
    #: GPUs the jobs fill (:func:`gpus_to_fill`; 1 on the CPU)
    gpus: int
    #: whether the jobs run on GPUs (each then takes its share of the cores)
    on_gpu: bool

    @classmethod
    def for_run(
        cls,
        dna: ModelCost,
        models: Iterable[ModelCost],
        *,
        chunks_per_gpu_job: int,
        min_chunks_per_gpu_job: int,
        gpus: int,
        on_gpu: bool,
    ) -> ExtractionPlan:
        """The plan of a run whose DNA model is ``dna`` and whose registry holds ``models``."""
        return cls(
            dna.name,
            relative_costs(dna, models),
            int(chunks_per_gpu_job),
            int(min_chunks_per_gpu_job),
            int(gpus),
            bool(on_gpu),
        )

    def job_count(self, model: str, work: FrameSetWork) -> int:
        """Extraction jobs of ``model`` over a frame set: the DNA model's by :func:`gpu_jobs`
        (few, long jobs), a protein model's by :func:`pair_jobs` (its own cost; raised where
        DNA + protein jobs then fill whole rounds of the GPUs and end sooner)."""
        amount = work.amount
        if model == self.dna_model:
            return gpu_jobs(amount, self.chunks_per_gpu_job, self.gpus, self.min_chunks_per_gpu_job)
        _, jobs = pair_jobs(
            amount,
            self.chunks_per_gpu_job,
            self.gpus,
            self.relative_cost[model],
            self.min_chunks_per_gpu_job,
        )
        return jobs

    def job_numbers(self, model: str, work: FrameSetWork) -> list[str]:
        """The jobs of ``model`` as their files number them (``0000``, ``0001``...)."""
        return [f"{job:04d}" for job in range(self.job_count(model, work))]

    def job_mem_mb(self, model: str, work: FrameSetWork, job: int) -> int:
        """``mem_mb`` of job ``job`` of ``model``: from its own records where the frame index
        is known (the training set: its run of index rows), else from its share of the
        chunks at ``FRAMES_PER_CHUNK`` (a sample or the held-out fragments, whose jobs are
        planned before their frames are cut)."""
        jobs = self.job_count(model, work)
        if work.index is not None:
            return extraction_mem_mb(job_table(work.index, jobs)[job].n_records)
        return extraction_mem_mb(sample_records_per_job(int(work.chunks or 0), jobs))

    def threads(self, loader_workers: int, cores: int | None) -> int:
        """Threads of every extraction job: on a GPU run its fair share of the cores
        (``cores // gpus``, at least its loader workers), so that the jobs of every frame set
        (a sample, the training set, the held-out fragments) fill a node's GPUs side by side
        (``--cores 16 --resources gpu=8``: 2 threads each); on the CPU, and where the cores
        are unknown (``None``: cluster executors give each job its own node), the loader
        workers."""
        workers = max(1, loader_workers)
        if not self.on_gpu or cores is None:
            return workers
        return max(workers, cores // self.gpus)
