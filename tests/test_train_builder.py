"""Training-mode builder: byte parity with the original, streaming input, substring index."""

import gzip
import json
import shutil

import pytest
from Bio import SeqIO

from virnucpro_smk.errors import InputError
from virnucpro_smk.train_builder import (
    ProteinIndex,
    build_training_frames,
    cds_translations,
    iter_genomes,
    scan_genbank_lengths,
)

GENOMES = {
    "NC_000866_phage_T4": "NC_000866_phage_T4.gbff",
    "NC_001422_phiX174": "NC_001422_phiX174.gbk",
}


def _build(gbff, L, tmp_path, fna=None):
    out = {k: tmp_path / k for k in ("chunked", "nuc", "prot", "seqs", "shards")}
    stats = build_training_frames(
        gbff,
        L,
        fna=fna,
        chunked=out["chunked"],
        nucleotide=out["nuc"],
        protein=out["prot"],
        sequences=out["seqs"],
        shard_index=out["shards"],
        n_shards=3,
    )
    return stats, out


@pytest.mark.parametrize("with_fasta", [True, False])
@pytest.mark.parametrize("L", [300, 500])
@pytest.mark.parametrize("name", sorted(GENOMES))
def test_builder_matches_original_bytes(name, L, with_fasta, shared_data, reference, tmp_path):
    gbff = shared_data / "genbank" / GENOMES[name]
    fna = shared_data / "genbank" / "derived_fasta" / f"{name}.fna" if with_fasta else None
    _stats, out = _build(gbff, L, tmp_path, fna)
    ref = reference / "train_builder"
    pairs = {
        "chunked": f"{name}_genomic.chunk{L}.fna.gz",
        "nuc": f"{name}_chunk{L}_identified_nucleotide.fa.gz",
        "prot": f"{name}_chunk{L}_identified_protein.fa.gz",
    }
    for key, ref_name in pairs.items():
        with gzip.open(ref / ref_name) as handle:
            assert out[key].read_bytes() == handle.read(), f"{key} differs from {ref_name}"


def test_cds_lists_match_the_original(shared_data, reference):
    for name, file in GENOMES.items():
        expected = json.loads(
            (reference / "train_builder" / f"{name}_refseq_pro_list.json").read_text()
        )
        with open(shared_data / "genbank" / file) as handle:
            got = {rec.id: cds_translations(rec) for rec in SeqIO.parse(handle, "genbank")}
        assert got == expected


def test_streams_gzip_inputs_without_decompressing_to_disk(shared_data, tmp_path):
    src = shared_data / "genbank"
    gbff, fna = tmp_path / "t4.gbff.gz", tmp_path / "t4.fna.gz"
    with open(src / "NC_000866_phage_T4.gbff", "rb") as a, gzip.open(gbff, "wb") as b:
        shutil.copyfileobj(a, b)
    with open(src / "derived_fasta/NC_000866_phage_T4.fna", "rb") as a, gzip.open(fna, "wb") as b:
        shutil.copyfileobj(a, b)
    before = set(tmp_path.iterdir())
    stats, out = _build(gbff, 300, tmp_path / "o", fna)
    assert stats.frames == 291 and stats.chunks == 564
    assert set(tmp_path.iterdir()) - before == {tmp_path / "o"}
    assert scan_genbank_lengths(gbff) == [168903]
    lines = out["shards"].read_text().splitlines()
    assert len(lines) == 4  # header + 3 shards


def test_mismatched_fasta_and_genbank_are_refused(shared_data, tmp_path):
    gb = shared_data / "genbank"
    with pytest.raises(InputError, match="same records in the same order"):
        list(
            iter_genomes(gb / "NC_000866_phage_T4.gbff", gb / "derived_fasta/NC_001422_phiX174.fna")
        )


def test_protein_index_agrees_with_a_linear_scan():
    import random

    rng = random.Random(2)
    proteins = [
        "".join(rng.choices("ACDEFGHIKLMNPQRSTVWY", k=rng.randint(0, 300))) for _ in range(50)
    ]
    index = ProteinIndex(proteins)
    queries = [p[i : i + n] for p in proteins if p for i, n in ((3, 40), (0, 2), (10, 7))]
    queries += ["".join(rng.choices("ACDEFGHIKLMNPQRSTVWY", k=30)) for _ in range(50)]
    for q in queries:
        assert index.contains(q) == any(q in p for p in proteins)
