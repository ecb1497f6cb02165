"""GPU job sizing: the same rule for samples and training frames, GPUs filled above a floor,
memory bounded by the job's size."""

import pytest

from conftest import build_into
from virnucpro_smk.preprocess.shards import read_shard_index, shard_bounds
from virnucpro_smk.runtime.job_sizing import (
    BASE_MEM_MB,
    MIN_CHUNKS_PER_GPU_JOB,
    extraction_mem_mb,
    gpu_jobs,
    sample_records_per_job,
)


@pytest.mark.parametrize(
    ("work", "gpus", "jobs"),
    [
        (1_000_000, 8, 8),  # a full node: one job per GPU, 125,000 chunks each
        (1_000_000, 1, 2),  # one GPU: ceil(1M / 500k)
        (1_000_000, 16, 10),  # 16 GPUs: the floor (100,000 chunks a job) caps it at 10
        (250_000, 8, 2),  # 2 jobs of 125,000; a third would fall below the floor
        (50_000, 8, 1),  # below the floor: one job, whatever the GPUs
        (0, 8, 1),  # an empty sample still has its one (empty) job per model
        (2_600_000, 4, 6),  # more work than GPUs x per_job: ceil(2.6M / 500k)
    ],
)
def test_jobs_fill_the_gpus_above_the_floor(work, gpus, jobs):
    assert gpu_jobs(work, 500_000, gpus) == jobs


def test_every_job_keeps_the_floor_when_gpus_are_filled():
    for work in range(0, 2_000_001, 37_500):
        for gpus in (2, 4, 8):
            n = gpu_jobs(work, 500_000, gpus)
            if n > 1 and n > -(-work // 500_000):  # raised to fill GPUs
                assert min(hi - lo for lo, hi in shard_bounds(work, n)) >= MIN_CHUNKS_PER_GPU_JOB
                assert n <= gpus


def test_the_floor_is_a_parameter():
    assert gpu_jobs(1_000_000, 500_000, 8, min_per_job=400_000) == 2
    with pytest.raises(ValueError, match="positive"):
        gpu_jobs(10, 5, 2, min_per_job=0)


def test_a_training_set_of_millions_of_frames_is_several_jobs_of_bounded_memory():
    """RefSeq scale: 6,000,000 selected frames (viral frames plus as many host frames) are
    planned as several jobs per model, none holding more than its share, and each job's
    memory request follows its size instead of the whole set's."""
    frames = 6_000_000
    jobs = gpu_jobs(frames, 500_000, gpus=1)
    assert jobs == 12
    sizes = [hi - lo for lo, hi in shard_bounds(frames, jobs)]
    assert max(sizes) == 500_000
    mem = [extraction_mem_mb(n) for n in sizes]
    # 500,000 records x 4 kB + 6 GB base: under 8 GB, where the v1 format held the whole
    # matrix (6M x 2560 floats = 61 GB for ESM2 3B) in one job
    assert max(mem) == BASE_MEM_MB + 1954
    assert extraction_mem_mb(2 * 500_000) > max(mem)  # doubles the records, not the base


def test_sample_jobs_ask_memory_for_their_share_of_chunks():
    assert sample_records_per_job(1_000_000, 8) == 250_000  # 125,000 chunks x 2 frames
    assert sample_records_per_job(0, 1) == 0


def test_the_training_builder_sizes_its_shards_from_the_drawn_frames(tmp_path):
    """build_training_set is given the sizing rule, not a count: the workflow's training jobs
    follow the frames actually selected (180 here: jobs of at most 50 frames -> 4 shards)."""
    from functools import partial

    from test_training_set import _frames, _write_dataset

    datasets = [_frames("virus", "viral", 1, 30, 3), _frames("bact", "bacteria", 0, 50, 4)]
    files = [_write_dataset(tmp_path, ds) for ds in datasets]
    out = {k: tmp_path / "out" / k for k in ("m.tsv", "m.json", "n.fa", "p.faa", "s.tsv")}
    seen = []

    def sizing(frames):
        seen.append(frames)
        return partial(gpu_jobs, per_job=50, gpus=1)(frames)

    info = build_into(
        files,
        out["m.tsv"].parent,
        n_shards=sizing,
    )
    assert seen == [info["frames"]] == [180]
    assert info["shards"] == 4
    assert [s.n_records for s in read_shard_index(out["s.tsv"])] == [45, 45, 45, 45]
