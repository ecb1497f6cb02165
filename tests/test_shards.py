from pathlib import Path

import pytest

from virnucpro_smk.formats.frame_index import FRAME_INDEX
from virnucpro_smk.io.fasta import read_simple_fasta
from virnucpro_smk.preprocess.chunk_counts import count_chunks
from virnucpro_smk.preprocess.sample import preprocess_fasta
from virnucpro_smk.preprocess.shards import read_shard_records, shard_bounds
from virnucpro_smk.runtime.job_plan import jobs_by_size


def test_shard_bounds_are_balanced_and_contiguous():
    bounds = shard_bounds(10, 4)
    assert bounds == [(0, 2), (2, 5), (5, 7), (7, 10)]
    assert shard_bounds(2, 4) == [(0, 0), (0, 1), (1, 1), (1, 2)]


@pytest.mark.parametrize("chunks_per_job", [7, 50, 100000])
def test_shards_partition_the_frames_in_order(shared_data, tmp_path, chunks_per_job):
    fasta = shared_data / "vibrant_mixed_example.fasta"
    n = jobs_by_size(count_chunks(fasta, 300), chunks_per_job)
    out = {k: tmp_path / k for k in ("chunked.fa", "nuc.fa", "prot.faa", "seqs.tsv", "shards.tsv")}
    stats = preprocess_fasta(
        fasta,
        300,
        out["chunked.fa"],
        out["nuc.fa"],
        out["prot.faa"],
        out["seqs.tsv"],
        frame_index=out["shards.tsv"],
        n_shards=n,
    )
    spans = FRAME_INDEX.read_all(out["shards.tsv"])
    assert len(spans) == n
    all_nuc, all_prot = [], []
    for span in spans:
        nuc = read_shard_records(out["nuc.fa"], out["shards.tsv"], span.shard, "dna")
        prot = read_shard_records(out["prot.faa"], out["shards.tsv"], span.shard, "protein")
        assert [i for i, _ in nuc] == [i for i, _ in prot], "DNA and protein shards must align"
        assert len(nuc) == span.n_records
        all_nuc += nuc
        all_prot += prot
    assert all_nuc == read_simple_fasta(out["nuc.fa"])
    assert all_prot == read_simple_fasta(out["prot.faa"])
    assert len(all_nuc) == stats.frames == 393


def test_chunk_count_reads_gzip(tmp_path):
    import gzip

    path = tmp_path / "x.fa"
    with gzip.open(path, "wt") as handle:
        handle.write(">a\n" + "A" * 700 + "\n>b\nACGT\n")
    assert count_chunks(Path(path), 300) == 4
