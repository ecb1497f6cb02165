"""A dry-run fills the GPUs it is given, model by model: a 1M-chunk sample with `--resources
gpu=8` lists at least 8 extraction jobs for each protein model and fewer for the DNA model
(8-35x cheaper per frame); with one GPU it stays at 1-2 per model (the chunk count is
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


def _extraction_jobs(sheet, tmp_path, *extra, threads=None):
    proc = run_snakemake(
        "-n", "embeddings", "--config", f"samples={sheet}", f"outdir={tmp_path / 'out'}",
        "device=cuda", *extra,
    )  # fmt: skip
    paths = set(re.findall(r"embeddings/\w+/\w+/shard_\d{4}\.safetensors", proc.stdout))
    assert paths, proc.stdout[-3000:]
    if threads is not None:
        threads.extend(extraction_threads(proc.stdout))
    per_model = {}
    for path in paths:  # distinct shards of each model (a path is listed by several jobs)
        model = path.split("/")[2]
        per_model[model] = per_model.get(model, 0) + 1
    return per_model


def extraction_threads(dry_run_output: str) -> list[int]:
    """The threads of every extraction job a dry-run plans."""
    jobs = dry_run_output.split("rule extract_embeddings:")[1:]
    return [int(re.search(r"^\s+threads: (\d+)$", job, re.M)[1]) for job in jobs]


DNA = "dnaberts_768d"


def test_eight_gpus_get_at_least_eight_protein_jobs_and_fewer_dna_jobs(
    million_chunk_sample, tmp_path
):
    threads = []
    jobs = _extraction_jobs(
        million_chunk_sample, tmp_path, "protein_models=[fastesm650_1280d,esm2_3b_2560d]",
        "--cores", "16", "--resources", "gpu=8", threads=threads,
    )  # fmt: skip
    assert set(jobs) == {DNA, "fastesm650_1280d", "esm2_3b_2560d"}, jobs
    assert jobs["fastesm650_1280d"] >= 8 and jobs["esm2_3b_2560d"] >= 8, jobs
    # the DNA model: only as many jobs as its memory cap needs (1M / 500k chunks)
    assert jobs[DNA] == 2, jobs
    # the default pair (FastESM2_650) fills whole rounds: 2 DNA + 14 protein jobs, not 2 + 8
    # (whose DNA jobs ran alone in a second round); ESM2 3B's 8 long jobs outweigh that
    assert jobs[DNA] + jobs["fastesm650_1280d"] == 16, jobs
    # each job takes its share of the cores, 16 // 8, so eight run side by side
    assert threads and max(threads) == 2, threads


def test_one_gpu_keeps_one_or_two_jobs_per_model(million_chunk_sample, tmp_path):
    jobs = _extraction_jobs(million_chunk_sample, tmp_path, "--resources", "gpu=1")
    assert jobs and all(1 <= n <= 2 for n in jobs.values()), jobs


def test_the_gpus_key_speaks_for_clusters(million_chunk_sample, tmp_path):
    jobs = _extraction_jobs(million_chunk_sample, tmp_path, "gpus=4")
    assert jobs == {DNA: 2, "fastesm650_1280d": 4}, jobs
