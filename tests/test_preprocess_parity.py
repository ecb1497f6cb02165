"""Byte-for-byte parity with the original VirNucPro's preprocessing outputs."""

import gzip

import pytest

from virnucpro_smk.preprocess.sample import preprocess_fasta

INPUTS = {
    "vibrant_mixed_example": "vibrant_mixed_example.fasta",
    "dvf_virus_val": "dvf_virus_val.fa",
    "dvf_host_val": "dvf_host_val.fa",
    "biopython_NC_001802_HIV1": "biopython_NC_001802_HIV1.fna",
}


def _run(fasta, L, tmp_path):
    out = {k: tmp_path / k for k in ("chunked.fa", "nuc.fa", "prot.faa", "seqs.tsv")}
    stats = preprocess_fasta(
        fasta, L, out["chunked.fa"], out["nuc.fa"], out["prot.faa"], out["seqs.tsv"]
    )
    return stats, out


@pytest.mark.parametrize("L", [300, 500])
@pytest.mark.parametrize("name", sorted(INPUTS))
def test_preprocess_matches_original_bytes(name, L, shared_data, reference, tmp_path):
    stats, out = _run(shared_data / INPUTS[name], L, tmp_path)
    ref = reference / "preprocess"
    expected = {
        "chunked.fa": ref / f"{name}_chunked{L}.fa.gz",
        "nuc.fa": ref / f"{name}_chunk{L}_identified_nucleotide.fa.gz",
        "prot.faa": ref / f"{name}_chunk{L}_identified_protein.faa.gz",
    }
    for key, ref_file in expected.items():
        assert out[key].read_bytes() == gzip.open(ref_file).read(), (
            f"{key} differs from {ref_file.name}"
        )
    assert stats.frames == out["nuc.fa"].read_text().count(">")


@pytest.mark.parametrize(
    ("folder", "stem", "L"),
    [("", "test_with_orfs", 500), ("test_fixed_500bp", "test_fixed_500bp", 500)],
)
def test_vanilla_prediction_inputs(folder, stem, L, reference, tmp_path):
    base = reference / folder if folder else reference
    _stats, out = _run(base / f"{stem}.fa", L, tmp_path)
    assert out["chunked.fa"].read_bytes() == (base / f"{stem}_chunked{L}.fa").read_bytes()
    assert out["nuc.fa"].read_bytes() == (base / f"{stem}_identified_nucleotide.fa").read_bytes()
    assert out["prot.faa"].read_bytes() == (base / f"{stem}_identified_protein.faa").read_bytes()


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_sequences_table_counts_the_originals_chunks_and_frames(
    name, shared_data, reference, tmp_path
):
    """Per input record: its length, and its chunks and kept frames as the original wrote them."""
    from Bio import SeqIO

    _stats, out = _run(shared_data / INPUTS[name], 300, tmp_path)
    ref = reference / "preprocess"
    counts = {r.id: [len(r.seq), 0, 0] for r in SeqIO.parse(shared_data / INPUTS[name], "fasta")}
    for column, file in (
        (1, f"{name}_chunked300.fa.gz"),
        (2, f"{name}_chunk300_identified_nucleotide.fa.gz"),
    ):
        with gzip.open(ref / file, "rt") as handle:
            for record in SeqIO.parse(handle, "fasta"):
                chunk = record.id if column == 1 else record.id[:-2]
                counts[chunk.rsplit("_chunk_", 1)[0]][column] += 1
    rows = out["seqs.tsv"].read_text().splitlines()
    assert rows[0].split("\t") == ["sequence_id", "length_bp", "n_chunks", "n_kept_frames"]
    assert [r.split("\t") for r in rows[1:]] == [[rid, *map(str, c)] for rid, c in counts.items()]
