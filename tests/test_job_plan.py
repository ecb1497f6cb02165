"""The extraction job plan: one rule per model for samples and training frames, each model by
its own cost (the DNA model gets fewer, longer jobs; protein models fill the GPUs above a work
floor), which index rows each job takes, memory bounded by the job's size, threads."""

import itertools
import math
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, build_into
from virnucpro_smk.formats.frame_index import FRAME_INDEX, FrameIndexRow
from virnucpro_smk.models.registry import parse_registry
from virnucpro_smk.preprocess.shards import index_rows, shard_bounds
from virnucpro_smk.runtime.job_plan import (
    BASE_MEM_MB,
    TRAIN_HELD_BLOCKS,
    ExtractionPlan,
    FrameSetWork,
    ModelCost,
    extraction_mem_mb,
    gpu_jobs,
    gpus_to_fill,
    job_table,
    makespan,
    pair_jobs,
    relative_costs,
    sample_records_per_job,
    training_mem_mb,
)

# the bounds per job as the schema states them (the one home of defaults)
_SCHEMA = yaml.safe_load((Path(ROOT) / "workflow/schemas/config.schema.yaml").read_text())
PER_JOB = _SCHEMA["properties"]["chunks_per_gpu_job"]["default"]
FLOOR = _SCHEMA["properties"]["min_chunks_per_gpu_job"]["default"]


def _model_costs(config: str) -> tuple[ModelCost, list[ModelCost]]:
    """The DNA model's and every model's cost, from a config's registry (as common.smk
    passes them to the plan)."""
    cfg = yaml.safe_load((Path(ROOT) / config).read_text())
    registry = parse_registry(cfg["models"])
    costs = {n: ModelCost.of(s) for n, s in registry.items()}
    return costs[cfg["dna_model"]], list(costs.values())


def _costs(config: str) -> dict[str, float]:
    return relative_costs(*_model_costs(config))


COST = _costs("config/config.yaml")
DNA, FAST, ESM3B = COST["dnaberts_768d"], COST["fastesm650_1280d"], COST["esm2_3b_2560d"]


def test_costs_come_from_the_registry():
    """~2 x parameters per token, times tokens per frame: FastESM2_650 ~8x, ESM2 3B ~35x."""
    assert DNA == 1.0
    assert 7.5 < FAST < 8.5 and 34 < ESM3B < 37
    standin = _costs("config/standin.yaml")  # stand-ins are sized as what they stand in for
    assert standin["standin_fastesm_32d"] == pytest.approx(FAST)
    assert standin["standin_esm2_64d"] == pytest.approx(ESM3B)


@pytest.mark.parametrize(
    ("work", "gpus", "cost", "jobs"),
    [
        (1_000_000, 8, FAST, 8),  # a full node: one protein job per GPU, 125,000 chunks each
        (1_000_000, 8, DNA, 2),  # ... and the DNA model only what memory needs (500k chunks)
        (1_000_000, 1, FAST, 2),  # one GPU: ceil(1M / 500k)
        (1_000_000, 1, DNA, 2),
        (1_000_000, 16, FAST, 10),  # the floor (800k DNA chunks = ~99k FastESM) caps it
        (1_000_000, 16, ESM3B, 16),  # ESM2 3B: 35x the work, fills 16 GPUs
        (250_000, 8, FAST, 2),  # 2 jobs of 125,000; a third would fall below the floor
        (250_000, 8, DNA, 1),
        (50_000, 8, FAST, 1),  # below the floor: one job, whatever the GPUs
        (0, 8, ESM3B, 1),  # an empty sample still has its one (empty) job per model
        (2_600_000, 4, FAST, 6),  # more work than GPUs x per_job: ceil(2.6M / 500k)
    ],
)
def test_jobs_fill_the_gpus_above_the_floor(work, gpus, cost, jobs):
    assert gpu_jobs(work, PER_JOB, gpus, FLOOR, cost=cost) == jobs


def test_every_job_keeps_the_floor_when_gpus_are_filled():
    for work in range(0, 2_000_001, 37_500):
        for gpus in (2, 4, 8):
            for cost in (DNA, FAST, ESM3B):
                n = gpu_jobs(work, PER_JOB, gpus, FLOOR, cost=cost)
                if n > 1 and n > -(-work // PER_JOB):  # raised to fill GPUs
                    smallest = min(hi - lo for lo, hi in shard_bounds(work, n))
                    assert smallest * cost >= FLOOR
                    assert n <= gpus


@pytest.mark.parametrize("protein", [FAST, ESM3B])
def test_dna_jobs_are_fewer_and_never_the_stragglers(protein):
    """DNA and protein jobs of one sample balanced by cost: the DNA model gets the fewest
    jobs its memory cap allows (never multiplied into jobs of a few seconds to fill GPUs),
    and no DNA job is predicted to run longer than a protein job of the same sample."""
    for chunks in (10_000, 300_000, 1_000_000, 3_000_000, 10_000_000):
        for gpus in (1, 2, 4, 8, 16):
            n_dna = gpu_jobs(chunks, PER_JOB, gpus, FLOOR, cost=DNA)
            n_protein = gpu_jobs(chunks, PER_JOB, gpus, FLOOR, cost=protein)
            assert n_dna == max(1, math.ceil(chunks / PER_JOB)), (chunks, gpus)
            assert n_dna <= n_protein
            # predicted duration ~ work per job (chunks x cost, in DNA chunks)
            assert chunks / n_dna * DNA <= chunks / n_protein * protein
    # the figures: 1M chunks on 8 GPUs, FastESM2_650: 8 protein jobs of ~1M DNA-chunk
    # equivalents each and 2 DNA jobs of 500k (a DNA job: half a protein job, not 1/8)
    assert (
        gpu_jobs(1_000_000, PER_JOB, 8, FLOOR, cost=FAST),
        gpu_jobs(1_000_000, PER_JOB, 8, FLOOR),
    ) == (8, 2)


def test_the_floor_and_cost_are_parameters():
    assert gpu_jobs(1_000_000, PER_JOB, 8, min_per_job=400_000) == 2
    assert gpu_jobs(1_000_000, PER_JOB, 8, min_per_job=400_000, cost=2) == 5
    with pytest.raises(ValueError, match="positive"):
        gpu_jobs(10, 5, 2, min_per_job=0)
    with pytest.raises(ValueError, match="positive"):
        gpu_jobs(10, 5, 2, FLOOR, cost=0)


def test_makespan_gives_each_job_to_the_gpu_free_first_longest_first():
    assert makespan([3, 3, 2, 2, 2], 2) == 7  # 3+2+2 | 3+2: no look-ahead, as a scheduler
    assert makespan([1.0] * 10, 8) == 2  # a second round costs a whole job
    assert makespan([5, 1], 1) == 6


def test_dna_and_protein_jobs_fill_whole_rounds_when_that_ends_sooner():
    """The issue's case: 1M chunks on 8 GPUs gave 2 DNA + 8 FastESM2_650 jobs, the DNA jobs
    alone in a second round; now 2 + 14 = 16, two full rounds of jobs of ~equal length."""
    dna, fast = pair_jobs(1_000_000, PER_JOB, 8, FAST, FLOOR)
    assert (dna, fast) == (2, 14)
    per_job = {"dna": 1_000_000 / dna, "protein": 1_000_000 * FAST / fast}
    assert per_job["dna"] <= per_job["protein"] < 1.2 * per_job["dna"], per_job
    # only the protein count moves: the DNA model's jobs are gpu_jobs's whatever the pair
    for protein in (FAST, ESM3B):
        for chunks in (10_000, 1_000_000, 6_000_000):
            for gpus in (1, 2, 4, 8, 16):
                d, p = pair_jobs(chunks, PER_JOB, gpus, protein, FLOOR)
                assert d == gpu_jobs(chunks, PER_JOB, gpus, FLOOR)
                assert p >= gpu_jobs(chunks, PER_JOB, gpus, FLOOR, cost=protein)
                if d + p <= gpus:  # one round: left as gpu_jobs made it (the floor holds)
                    assert p == gpu_jobs(chunks, PER_JOB, gpus, FLOOR, cost=protein)
    # ESM2 3B's 8 jobs are ~9x a DNA job: splitting them to fill two rounds would end later
    assert pair_jobs(1_000_000, PER_JOB, 8, ESM3B, FLOOR) == (2, 8)
    assert pair_jobs(1_000_000, PER_JOB, 1, FAST, FLOOR) == (2, 2)  # one GPU: rounds are whole


def test_training_memory_follows_block_and_buffer_sizes():
    """No frame count in it: training streams from the files (classify/batches.py)."""
    from virnucpro_smk.classify.batches import READ_AHEAD_BLOCKS

    assert TRAIN_HELD_BLOCKS == READ_AHEAD_BLOCKS + 2
    default = training_mem_mb(3328, 256, 32768)
    assert default < 5000  # ESM2 3B width; the rule asked for 32,000 whatever the set
    assert training_mem_mb(3328, 256, 65536) > default > training_mem_mb(2048, 256, 32768)
    buffer_mb = 2 * 4 * 32768 * 3328 / 2**20  # the buffer, read and joined, at float32
    assert training_mem_mb(3328, 256, 65536) - default == pytest.approx(buffer_mb, abs=1)


def _index(n_frames: int) -> list[FrameIndexRow]:
    """A frame index of ``n_frames`` frames as the builders cut it (bytes: 100 per frame)."""
    rows = shard_bounds(n_frames, index_rows(n_frames))
    return [
        FrameIndexRow(i, hi - lo, f"f{lo}", 100 * lo, 100 * hi, 40 * lo, 40 * hi)
        for i, (lo, hi) in enumerate(rows)
    ]


def test_a_training_set_of_millions_of_frames_is_several_jobs_of_bounded_memory():
    """RefSeq scale: 6,000,000 selected frames (viral frames plus as many host frames) are
    planned as several jobs per model from the one frame index, none holding more than its
    share (within one index row), and each job's memory request follows its size instead of
    the whole set's."""
    frames = 6_000_000
    index = _index(frames)
    assert len(index) == 6000  # 1,000 frames a row: the index stays small
    for gpus in (1, 8):
        for cost in (DNA, FAST, ESM3B):
            jobs = gpu_jobs(frames, PER_JOB, gpus, FLOOR, cost=cost)
            assert jobs == 12  # the memory cap rules at this size, for every model
            spans = job_table(index, jobs)
            sizes = [s.n_records for s in spans]
            assert sum(sizes) == frames and max(sizes) == 500_000
            mem = [extraction_mem_mb(n) for n in sizes]
            # 500,000 records x 4 kB + 6 GB base: under 8 GB, where the v1 format held the
            # whole matrix (6M x 2560 floats = 61 GB for ESM2 3B) in one job
            assert max(mem) == BASE_MEM_MB + 1954
    # 16 GPUs: ESM2 3B fills them (16 jobs of 375,000), the DNA model keeps 12
    assert gpu_jobs(frames, PER_JOB, 16, FLOOR, cost=ESM3B) == 16
    assert gpu_jobs(frames, PER_JOB, 16, FLOOR, cost=DNA) == 12
    assert extraction_mem_mb(2 * 500_000) > BASE_MEM_MB + 1954  # doubles records, not base


def test_jobs_of_one_model_hold_their_share_within_one_index_row():
    for frames in (0, 7, 255, 256, 1000, 123_457, 870_000):
        index = _index(frames)
        for jobs in (1, 2, 3, 8, 10, 300):
            spans = job_table(index, jobs)
            sizes = [s.n_records for s in spans]
            assert len(spans) == jobs and sum(sizes) == frames
            row = max(s.n_records for s in index)
            assert all(abs(n - frames / jobs) <= row for n in sizes), (frames, jobs, sizes)
            # contiguous byte ranges covering the files in order
            assert spans[0].nucleotide[0] == 0 and spans[-1].nucleotide[1] == 100 * frames
            for a, b in itertools.pairwise(spans):
                assert a.nucleotide[1] == b.nucleotide[0] and a.protein[1] == b.protein[0]


def test_sample_jobs_ask_memory_for_their_share_of_chunks():
    assert sample_records_per_job(1_000_000, 8) == 250_000  # 125,000 chunks x 2 frames
    assert sample_records_per_job(1_000_000, 2) == 1_000_000  # the DNA model's 2 jobs
    assert sample_records_per_job(0, 1) == 0


def test_the_training_builder_indexes_the_drawn_frames_whatever_the_models(tmp_path):
    """build_training_set writes a frame index from the frames alone (no sizing: the models'
    job counts and the GPUs never redraw the manifest); each model's jobs are runs of its
    rows (180 frames: one row each; jobs of at most 50 frames -> 4 jobs of 45)."""
    from test_genome_splits import _frames, _write_dataset

    datasets = [_frames("virus", "viral", 1, 30, 3), _frames("bact", "bacteria", 0, 50, 4)]
    files = [_write_dataset(tmp_path, ds) for ds in datasets]
    out = tmp_path / "out"
    info = build_into(files, out)
    assert info["frames"] == 180 and info["index_rows"] == index_rows(180) == 180
    index = FRAME_INDEX.read_all(out / "s.tsv")
    jobs = job_table(index, gpu_jobs(info["frames"], 50, 1, FLOOR))
    assert [s.n_records for s in jobs] == [45, 45, 45, 45]


def _plan(gpus: int, on_gpu: bool = True) -> ExtractionPlan:
    """The plan common.smk builds for the shipped registry, with the schema's bounds."""
    dna, models = _model_costs("config/config.yaml")
    return ExtractionPlan.for_run(
        dna,
        models,
        chunks_per_gpu_job=PER_JOB,
        min_chunks_per_gpu_job=FLOOR,
        gpus=gpus,
        on_gpu=on_gpu,
    )


def test_the_gpus_filled_come_from_the_config_else_the_resources_and_none_on_the_cpu():
    assert gpus_to_fill(gpu_request=1, configured=4, granted=8) == 4  # clusters: the config
    assert gpus_to_fill(gpu_request=1, configured=0, granted=8) == 8  # --resources gpu=8
    assert gpus_to_fill(gpu_request=1, configured=0, granted=None) == 1
    assert gpus_to_fill(gpu_request=0, configured=4, granted=8) == 1  # the CPU: nothing to fill


def test_the_plan_sizes_each_model_by_its_own_cost_over_a_frame_set():
    """1M chunks on 8 GPUs: 2 DNA jobs, 14 FastESM2_650 (whole rounds with the DNA jobs), 8
    ESM2 3B; a training index of the same size plans the same counts from its frames."""
    plan, sample = _plan(8), FrameSetWork.of_chunks(1_000_000)
    counts = {m: plan.job_count(m, sample) for m in COST}
    assert counts == {"dnaberts_768d": 2, "fastesm650_1280d": 14, "esm2_3b_2560d": 8}
    assert plan.job_numbers("dnaberts_768d", sample) == ["0000", "0001"]
    training = FrameSetWork.of_index(_index(1_000_000))
    assert training.amount == 1_000_000
    assert {m: plan.job_count(m, training) for m in COST} == counts
    assert _plan(8, on_gpu=False).gpus == 8  # the caller says which GPUs: gpus_to_fill


def test_a_jobs_memory_follows_its_records_or_its_share_of_the_chunks():
    plan = _plan(1)
    index = _index(870_000)
    training = FrameSetWork.of_index(index)
    jobs = plan.job_count("esm2_3b_2560d", training)
    assert jobs == 2
    table = job_table(index, jobs)
    for job in range(jobs):  # the training set: the job's own run of index rows
        want = extraction_mem_mb(table[job].n_records)
        assert plan.job_mem_mb("esm2_3b_2560d", training, job) == want
    # a sample, before its frames exist: its share of the chunks at two frames per chunk
    sample = FrameSetWork.of_chunks(870_000)
    assert plan.job_mem_mb("dnaberts_768d", sample, 1) == extraction_mem_mb(2 * 435_000)


def test_every_extraction_job_takes_its_share_of_the_cores_on_a_gpu_run():
    assert _plan(8).threads(loader_workers=1, cores=16) == 2
    assert _plan(8).threads(loader_workers=4, cores=16) == 4  # at least its loader workers
    assert _plan(8).threads(loader_workers=1, cores=None) == 1  # a cluster: its own node
    assert _plan(1, on_gpu=False).threads(loader_workers=2, cores=16) == 2  # the CPU
