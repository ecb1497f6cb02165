"""Genomes that cannot leak: records without an assembly link grouped by their source taxon,
species clusters at 95 % ANI over 85 % of the shorter genome (skani), and a training split
that never puts two members of one cluster on two sides."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from conftest import default_split
from virnucpro_smk.io.fasta import read_nucleotide_fasta
from virnucpro_smk.preprocess.cds_frames import build_training_frames
from virnucpro_smk.preprocess.genome_clusters import (
    ClusterDataset,
    genome_clusters,
    read_cluster_map,
    write_cluster_map,
)
from virnucpro_smk.preprocess.genome_splits import DatasetFrames, draw_manifest
from virnucpro_smk.preprocess.genomes import read_genome_ids


def _dataset(tmp_path: Path, name: str, seqs: dict[str, str], genome_map: str | None = None):
    """A FASTA dataset of ``seqs`` with its sequences.tsv (and a genome map's text)."""
    folder = tmp_path / name
    folder.mkdir()
    fasta = folder / "d.fa"
    fasta.write_text("".join(f">{r}\n{s}\n" for r, s in seqs.items()))
    lengths = folder / "sequences.tsv"
    lengths.write_text(
        "sequence_id\tlength_bp\tn_chunks\tn_kept_frames\n"
        + "".join(f"{r}\t{len(s)}\t1\t1\n" for r, s in seqs.items())
    )
    path = None
    if genome_map is not None:
        path = folder / "genomes.tsv"
        path.write_text(genome_map)
    spec = {"label": 1, "group": "viral", "fasta": str(fasta), "gbff": ""}
    return ClusterDataset(name, "viral", 1, spec, lengths, path)


def _mutated(seq: str, rate: float, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice("ACGT".replace(b, "")) if rng.random() < rate else b for b in seq)


def test_the_source_taxon_is_read_beside_the_genome_key(tmp_path, shared_data):
    """The builder's genome map carries the source feature's taxon id (Biopython's reading of
    the record is the oracle); the frame files are unchanged by it (parity tests)."""
    from Bio import SeqIO

    gbk = shared_data / "genbank/NC_001422_phiX174.gbk"
    (record,) = SeqIO.parse(gbk, "genbank")
    source = next(f for f in record.features if f.type == "source")
    expected = next(x for x in source.qualifiers["db_xref"] if x.startswith("taxon:"))[6:]
    out = {k: tmp_path / f"{k}.out" for k in ("chunked", "nucleotide", "protein", "sequences")}
    build_training_frames(gbk, 300, fna=None, **out, genomes=tmp_path / "genomes.tsv")
    genome_of, taxid_of = read_genome_ids(tmp_path / "genomes.tsv")
    assert taxid_of == {record.id: expected} and genome_of == {record.id: record.id}


def test_unlinked_records_of_one_taxon_form_one_cluster(tmp_path):
    """Two segments without an assembly link share taxon 11: one cluster. Records of an
    assembly keep their assembly, whatever their taxon; another taxon stays apart."""
    seqs = {r: "ACGT" * 50 for r in ("seg1", "seg2", "other", "chr", "plasmid")}
    genome_map = (
        "record\tgenome\ttaxon\ttaxid\n"
        "seg1\tseg1\tAlphavirus\t11\n"
        "seg2\tseg2\tAlphavirus\t11\n"
        "other\tother\tAlphavirus\t12\n"
        "chr\tGCF_1\tEscherichia\t11\n"
        "plasmid\tGCF_1\tEscherichia\t11\n"
    )
    rows = genome_clusters([_dataset(tmp_path, "d", seqs, genome_map)], species=False)
    cluster = {r.genome: r.cluster for r in rows}
    assert cluster == {"seg1": "seg1", "seg2": "seg1", "other": "other", "GCF_1": "GCF_1"}
    assert {r.genome: r.reason for r in rows}["seg2"] == "taxon"
    write_cluster_map(rows, tmp_path / "clusters.tsv")
    assert read_cluster_map(tmp_path / "clusters.tsv") == cluster


def test_species_clusters_join_near_identical_genomes_only(tmp_path, shared_data):
    """phiX174 and a copy with 2 % substitutions (ANI ~98 %) are one species; a plasmid and
    its copy with 8 % substitutions (ANI ~92 %) are not, nor are phiX174 and the plasmid."""
    derived = shared_data / "genbank/derived_fasta"
    phix = next(iter(read_nucleotide_fasta(derived / "NC_001422_phiX174.fna"))).seq
    pcp1 = next(
        iter(read_nucleotide_fasta(derived / "NC_005816_Yersinia_pestis_plasmid_pPCP1.fna"))
    ).seq
    seqs = {
        "phix": phix,
        "phix_strain": _mutated(phix, 0.02, 1),
        "pcp1": pcp1,
        "pcp1_far": _mutated(pcp1, 0.08, 2),
        "short": phix[:500],  # too short for skani: never linked
    }
    rows = genome_clusters([_dataset(tmp_path, "d", seqs)], species=True)
    cluster = {r.genome: r.cluster for r in rows}
    assert cluster["phix_strain"] == cluster["phix"] == "phix"
    assert len({cluster["pcp1"], cluster["pcp1_far"], cluster["phix"], cluster["short"]}) == 4
    assert {r.genome: r.reason for r in rows}["phix_strain"] == "ani"


def _frames(genomes: dict[str, int], label: int, group: str) -> DatasetFrames:
    ids = [f"{g}_chunk_{k}F1" for g, n in genomes.items() for k in range(1, n + 1)]
    return DatasetFrames(f"ds_{group}", group, label, ids)


@pytest.mark.parametrize("clustered", [True, False])
def test_two_genomes_of_one_species_cluster_never_straddle_splits(clustered):
    viral = {f"v{k}": 10 for k in range(12)}
    hosts = {f"h{k}": 10 for k in range(12)}
    cluster_of = {"v1": "v0", "v0": "v0"} if clustered else {}
    straddled = 0
    for seed in range(25):
        datasets = [
            DatasetFrames("ds_v", "viral", 1, _frames(viral, 1, "viral").ids, {}, cluster_of),
            _frames(hosts, 0, "host"),
        ]
        rows, summary = draw_manifest(
            datasets, default_split(seed=seed, val_fraction=0.2, test_fraction=0.2)
        )
        split = {r.genome: r.split for r in rows}
        straddled += split["v0"] != split["v1"]
        assert set(summary["clusters_shared_between_splits"].values()) == {0}
    if clustered:
        assert straddled == 0
    else:  # the same draws without the cluster: the two genomes do land apart
        assert straddled > 0
