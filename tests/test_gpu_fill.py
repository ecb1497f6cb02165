"""A dry-run fills the GPUs it is given: a 1M-chunk sample with `--resources gpu=8` lists at
least 8 extraction jobs per model; with one GPU it stays at 1-2 (the chunk count is
synthesised in the chunk-count cache instead of writing a 300 Mbp FASTA)."""

import json
import re

import pytest

from conftest import ROOT, run_snakemake
from virnucpro_smk.preprocess.chunk_counts import _entry_path

CACHE = ROOT / ".snakemake" / "virnucpro" / "chunk_counts"


@pytest.fixture
def million_chunk_sample(tmp_path):
    """A sample sheet whose one FASTA the cache says yields 1,000,000 chunks of 300 bp."""
    fasta = tmp_path / "big.fasta"
    fasta.write_text(">c1\n" + "ACGT" * 75 + "\n")
    stat = fasta.resolve().stat()
    entry = _entry_path(CACHE, fasta.resolve())
    entry.parent.mkdir(parents=True, exist_ok=True)
    stamp = {"path": str(fasta.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    entry.write_text(json.dumps({**stamp, "chunks": {"300": 1_000_000}}))
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(f"sample\tfasta\nbig\t{fasta}\n")
    yield sheet
    entry.unlink(missing_ok=True)


def _extraction_jobs(sheet, tmp_path, *extra):
    proc = run_snakemake(
        "-n", "embeddings", "--config", f"samples={sheet}", f"outdir={tmp_path / 'out'}",
        "device=cuda", *extra,
    )  # fmt: skip
    paths = set(re.findall(r"embeddings/\w+/\w+/shard_\d{4}\.safetensors", proc.stdout))
    assert paths, proc.stdout[-3000:]
    per_model = {}
    for path in paths:  # distinct shards of each model (a path is listed by several jobs)
        model = path.split("/")[2]
        per_model[model] = per_model.get(model, 0) + 1
    return per_model


def test_eight_gpus_get_at_least_eight_jobs_per_model(million_chunk_sample, tmp_path):
    jobs = _extraction_jobs(million_chunk_sample, tmp_path, "--resources", "gpu=8")
    assert jobs and all(n >= 8 for n in jobs.values()), jobs


def test_one_gpu_keeps_one_or_two_jobs_per_model(million_chunk_sample, tmp_path):
    jobs = _extraction_jobs(million_chunk_sample, tmp_path, "--resources", "gpu=1")
    assert jobs and all(1 <= n <= 2 for n in jobs.values()), jobs


def test_the_gpus_key_speaks_for_clusters(million_chunk_sample, tmp_path):
    jobs = _extraction_jobs(million_chunk_sample, tmp_path, "gpus=4")
    assert jobs and all(n == 4 for n in jobs.values()), jobs
