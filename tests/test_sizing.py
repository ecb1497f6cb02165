"""GPU jobs sized by work: the sizing rule, the chunk-count cache, and what a dry-run lists."""

import gzip
import os
import re

import pytest

from conftest import run_snakemake
from virnucpro_smk.preprocess.chunk_counts import cached_count, count_chunks
from virnucpro_smk.runtime.job_plan import jobs_by_size


def test_jobs_grow_with_chunks_not_with_a_frame_bound():
    assert jobs_by_size(0, 500_000) == 1
    assert jobs_by_size(1, 500_000) == 1
    assert jobs_by_size(1_000_000, 500_000) == 2
    assert jobs_by_size(1_000_001, 500_000) == 3
    assert jobs_by_size(1_000_000, 125_000) == 8  # a user with 8 GPUs asks for smaller jobs
    with pytest.raises(ValueError):
        jobs_by_size(5, 0)


def test_chunk_counts_are_cached_until_the_file_changes(tmp_path):
    fasta = tmp_path / "in.fa"
    fasta.write_text(">a\n" + "A" * 700 + "\n>b\nACGT\n")
    calls = []

    def counter(path, chunk_length):
        calls.append(chunk_length)
        return count_chunks(path, chunk_length)

    cache = tmp_path / "cache"
    assert cached_count(fasta, 300, counter, cache) == 4
    assert cached_count(fasta, 300, counter, cache) == 4
    assert calls == [300], "the second call must come from the cache"
    assert cached_count(fasta, 500, counter, cache) == 3
    assert calls == [300, 500]
    fasta.write_text(">a\n" + "A" * 900 + "\n")
    os.utime(fasta, ns=(1, 1))  # size and mtime both change
    assert cached_count(fasta, 300, counter, cache) == 3
    assert calls == [300, 500, 300]


def _extraction_jobs(stdout: str) -> dict[str, int]:
    """Extraction jobs per model in a dry-run listing (one `output:` line each)."""
    per_model: dict[str, int] = {}
    for line in stdout.splitlines():
        # the embedding file, then the job's stats JSON
        found = re.match(r"\s*output: \S*/embeddings/\w+/([^/]+)/shard_\d{4}\.safetensors", line)
        if found:
            per_model[found.group(1)] = per_model.get(found.group(1), 0) + 1
    return per_model


@pytest.mark.parametrize(("n_chunks", "jobs"), [(3, 1), (1_000_000, 2)])
def test_dry_run_lists_a_few_extraction_jobs(tmp_path, n_chunks, jobs):
    """A 1M-chunk input (300 Mbp; gzip keeps the file small) plans 2 jobs per model."""
    fasta = tmp_path / "big.fa.gz"
    per_record = min(n_chunks, 1000)
    with gzip.open(fasta, "wb", compresslevel=1) as out:
        for i in range(n_chunks // per_record):
            out.write(b">contig%d\n" % i + b"ACGT" * 75 * per_record + b"\n")
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(f"sample\tfasta\nbig\t{fasta}\n")
    listing = run_snakemake(
        "-n",
        "embeddings",
        "--config",
        f"samples={sheet}",
        f"outdir={tmp_path / 'out'}",
        "protein_models=[fastesm650_1280d,esm2_3b_2560d]",
    ).stdout
    assert _extraction_jobs(listing) == {
        "dnaberts_768d": jobs,
        "fastesm650_1280d": jobs,
        "esm2_3b_2560d": jobs,
    }


def test_compare_embeds_only_the_training_shards(tmp_path):
    """`compare` plans extraction for the selected training frames only, never the samples:
    before the training set is drawn (build_training_set is a checkpoint sizing its shards
    from the drawn frames) a dry-run lists no extraction job at all, and no sample work."""
    extra = tmp_path / "train.yaml"
    extra.write_text("train:\n  datasets: config/example_training.tsv\n")
    listing = run_snakemake(
        "-n",
        "compare",
        "--configfile",
        "config/standin.yaml",
        str(extra),
        "--config",
        f"outdir={tmp_path / 'out'}",
    ).stdout
    outputs = [
        line.split("output: ", 1)[1]
        for line in listing.splitlines()
        if line.strip().startswith("output: ") and "/embeddings/" in line
    ]
    assert outputs == []
    assert "checkpoint build_training_set:" in listing
    assert "/samples/" not in listing
