"""Held-out evaluation on what predict sees: fragments cut from test genomes only, run through
predict's preprocessing (every stop-free frame) and scored by predict's rules with every seed."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from test_predict import _sign_classifier, _write_shards

from conftest import default_thresholds
from virnucpro_smk.classify.heldout import HeldoutFiles, score_heldout
from virnucpro_smk.classify.predict import FeatureFiles
from virnucpro_smk.errors import InputError
from virnucpro_smk.io.fasta import read_nucleotide_fasta, read_simple_fasta
from virnucpro_smk.preprocess.cds_frames import iter_genomes
from virnucpro_smk.preprocess.heldout_fragments import (
    HeldoutDataset,
    SourceRecord,
    cut_test_fragments,
    plan_fragments,
    read_fragment_table,
)
from virnucpro_smk.preprocess.sample import preprocess_fasta

L = 300
MANIFEST_HEADER = "id\tdataset\tgroup\trecord\tgenome\tlabel\tsplit\tshard\n"


def _rows(path):
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _source(genome, record, length, dataset="d", label=1):
    return SourceRecord(dataset, "g", label, genome, record, length)


def test_fragments_are_seeded_fit_their_record_and_skip_short_genomes():
    records = [
        _source("big", "big_chr", 40_000),
        _source("big", "big_plasmid", 2_500),
        _source("small", "small_1", 2_000),
    ]
    fragments = plan_fragments(records, [1000, 3000, 30_000], per_genome=2, seed=5)
    assert fragments == plan_fragments(list(reversed(records)), [30_000, 1000, 3000], 2, 5)
    assert fragments != plan_fragments(records, [1000, 3000, 30_000], 2, 6)
    per = {}
    for f in fragments:
        assert f.start >= 0 and f.end <= f.source.length_bp
        per.setdefault((f.source.genome, f.length_bp), []).append(f)
    # the small genome holds no 3-kb or 30-kb fragment; the big one holds two of each length,
    # a 3-kb or 30-kb fragment never comes from its 2.5-kb plasmid
    assert {k: len(v) for k, v in per.items()} == {
        ("big", 1000): 2,
        ("big", 3000): 2,
        ("big", 30_000): 2,
        ("small", 1000): 2,
    }
    assert all(f.source.record == "big_chr" for f in per[("big", 3000)] + per[("big", 30_000)])
    assert len({f.id for f in fragments}) == len(fragments)
    with pytest.raises(InputError):
        plan_fragments(records, [1000], per_genome=0, seed=5)


def _fasta_dataset(tmp_path: Path) -> tuple[HeldoutDataset, dict[str, str]]:
    """A FASTA dataset of two genomes: genome G1 = records r1 + r2 (a chromosome and its
    plasmid, joined by a genome map), genome G2 = record r3."""
    rng = np.random.default_rng(0)
    seqs = {
        r: "".join(rng.choice(list("ACGT"), n))
        for r, n in (("r1", 5000), ("r2", 3200), ("r3", 4000))
    }
    fasta = tmp_path / "d.fa"
    fasta.write_text("".join(f">{r} description\n{s}\n" for r, s in seqs.items()))
    lengths = tmp_path / "sequences.tsv"
    lengths.write_text(
        "sequence_id\tlength_bp\tn_chunks\n"
        + "".join(f"{r}\t{len(s)}\t1\n" for r, s in seqs.items())
    )
    genomes = tmp_path / "genomes.tsv"
    genomes.write_text("record\tgenome\nr1\tG1\nr2\tG1\nr3\tG2\n")
    spec = {"label": 1, "group": "viral", "fasta": str(fasta), "gbff": ""}
    return HeldoutDataset("d", spec, lengths, genomes), seqs


@pytest.mark.parametrize("other_split", ["train", "val"])  # validation genomes never give any
@pytest.mark.parametrize("test_genome", ["G1", "G2"])
def test_only_test_genomes_are_cut_whole_genomes_with_their_records(
    tmp_path, test_genome, other_split
):
    dataset, seqs = _fasta_dataset(tmp_path)
    manifest = tmp_path / "manifest.tsv"
    other, other_record = ("G2", "r3") if test_genome == "G1" else ("G1", "r1")
    manifest.write_text(
        MANIFEST_HEADER
        + f"x_chunk_1F1\td\tviral\t{other_record}\t{other}\t1\t{other_split}\t0\n"
        + f"y_chunk_1F1\td\tviral\tr\t{test_genome}\t1\ttest\t0\n"
    )
    out = tmp_path / "out"
    summary = cut_test_fragments(
        [dataset], manifest, [1000, 3000], 3, 42, out / "f.fa", out / "f.tsv", out / "f.json"
    )
    table = read_fragment_table(out / "f.tsv")
    cut = {r.id: r.seq for r in read_nucleotide_fasta(out / "f.fa")}
    assert [row.fragment for row in table] == list(cut)
    assert {row.genome for row in table} == {test_genome}
    members = {"G1": {"r1", "r2"}, "G2": {"r3"}}[test_genome]
    assert {row.record for row in table} <= members
    for row in table:  # each fragment is its record's bases at the stated 1-based span
        assert cut[row.fragment] == seqs[row.record][row.start - 1 : row.end]
        assert row.end - row.start + 1 == row.length_bp
    assert summary["genomes_cut"] == 1 and summary["fragments"] == len(table) == 6


def test_a_test_genome_too_short_for_every_length_is_an_error(tmp_path):
    dataset, _ = _fasta_dataset(tmp_path)
    manifest = tmp_path / "manifest.tsv"
    manifest.write_text(MANIFEST_HEADER + "y_chunk_1F1\td\tviral\tr3\tG2\t1\ttest\t0\n")
    with pytest.raises(InputError, match="no held-out fragment"):
        cut_test_fragments(
            [dataset],
            manifest,
            [10_000],
            1,
            0,
            *(tmp_path / n for n in ("a.fa", "a.tsv", "a.json")),
        )


def test_a_test_genomes_non_coding_chunks_are_scored(tmp_path, shared_data):
    """Fragments of a GenBank host genome (the Arabidopsis chloroplast) go through predict's
    preprocessing: frames outside every annotated CDS protein, which the training-mode test
    set never holds, are kept and scored, and chunks without a frame are counted."""
    gbff = shared_data / "genbank/NC_000932_Arabidopsis_chloroplast.gb"
    ((record, sequence, proteins),) = list(iter_genomes(gbff))
    lengths = tmp_path / "sequences.tsv"
    lengths.write_text(f"sequence_id\tlength_bp\tn_chunks\n{record}\t{len(sequence)}\t1\n")
    spec = {"label": 0, "group": "plant", "fasta": "", "gbff": str(gbff)}
    manifest = tmp_path / "manifest.tsv"
    manifest.write_text(MANIFEST_HEADER + f"x\tcp\tplant\t{record}\t{record}\t0\ttest\t0\n")
    held = tmp_path / "heldout"
    cut_test_fragments(
        [HeldoutDataset("cp", spec, lengths, None)],
        manifest,
        [1000, 3000, 10_000],
        2,
        42,
        held / "fragments.fa",
        held / "fragments.tsv",
        held / "fragments.json",
    )
    preprocess_fasta(
        held / "fragments.fa",
        L,
        held / "chunked.fa",
        held / "n.fa",
        held / "p.faa",
        held / "sequences.tsv",
    )
    frames = read_simple_fasta(held / "p.faa")
    outside_cds = {fid for fid, protein in frames if not any(protein in p for p in proteins)}
    assert outside_cds, "a chloroplast's fragments hold frames outside its annotated proteins"
    # score with three seeds' classifiers (viral when the frame's first DNA value > 0)
    ckpts = {}
    for seed in (42, 43, 44):
        (tmp_path / str(seed)).mkdir()
        ckpts[seed] = _sign_classifier(tmp_path / str(seed))
    rng = np.random.default_rng(1)
    dna, protein = _write_shards(
        tmp_path / "emb", [(fid, float(rng.normal())) for fid, _ in frames], 2
    )
    score_heldout(
        FeatureFiles(dna, protein, "standin_dnabert_48d", "standin_esm2_64d", L),
        ckpts, held / "sequences.tsv", HeldoutFiles(held / "chunks.tsv", held / "seqs.tsv"),
        default_thresholds(),
    )  # fmt: skip
    chunks = _rows(held / "chunks.tsv")
    assert [r["seed"] for r in chunks[:: len(chunks) // 3]] == ["42", "43", "44"]
    first = [r for r in chunks if r["seed"] == "42"]
    by_chunk = {f"{r['sequence_id']}_chunk_{r['chunk']}": r for r in first}
    n_chunks = sum(int(r["n_chunks"]) for r in _rows(held / "sequences.tsv"))
    assert len(by_chunk) == n_chunks  # every chunk of every fragment has a row
    for fid in outside_cds:  # each frame outside the CDS set is counted in its chunk's call
        row = by_chunk[fid[:-2]]
        assert int(row["frames_kept"]) >= 1 and row["call"] in ("viral", "nonviral")
    assert sum(int(r["frames_kept"]) for r in first) == len(frames)
    assert any(r["call"] == "no coding frame" and r["frames_kept"] == "0" for r in first)
    seqs = _rows(held / "seqs.tsv")
    assert {r["sequence_id"] for r in seqs} == {
        r["fragment"] for r in _rows(held / "fragments.tsv")
    }


@pytest.mark.parametrize(("train_taxon", "expected"), [("Alphavirus", "yes"), ("Betavirus", "no")])
def test_fragments_say_whether_a_training_genome_shares_their_taxon(
    tmp_path, train_taxon, expected
):
    dataset, _ = _fasta_dataset(tmp_path)
    dataset.genome_map.write_text(
        f"record\tgenome\ttaxon\nr1\tG1\tAlphavirus\nr2\tG1\tAlphavirus\nr3\tG2\t{train_taxon}\n"
    )
    manifest = tmp_path / "manifest.tsv"
    manifest.write_text(
        MANIFEST_HEADER
        + "x_chunk_1F1\td\tviral\tr3\tG2\t1\ttrain\t0\n"
        + "y_chunk_1F1\td\tviral\tr1\tG1\t1\ttest\t0\n"
    )
    out = tmp_path / "out"
    cut_test_fragments(
        [dataset], manifest, [1000], 2, 1, out / "f.fa", out / "f.tsv", out / "f.json"
    )
    table = read_fragment_table(out / "f.tsv")
    assert {(r.taxon, r.taxon_in_training) for r in table} == {("Alphavirus", expected)}


def test_only_predicts_viral_call_counts_as_viral_at_the_sequence_level():
    """A fragment predict could not call (too few scored chunks, no coding frame) is not
    called viral: a user reading per_sequence.tsv would not count it either."""
    from virnucpro_smk.formats.heldout import FragmentRow
    from virnucpro_smk.report.heldout_levels import HeldoutScores, heldout_levels

    fragments = [FragmentRow(f, 900, "d", "g", 1, f, f, 1, 900) for f in ("a", "b", "c")]
    scores = HeldoutScores(
        ["a", "a", "a", "b", "b", "b", "c", "c", "c"],
        np.array([1, 2, 3] * 3),
        np.array([1, 1, 0, 1, 0, 0, 0, 0, 0]),
        np.array([0.9, 0.8, np.nan, 0.9, np.nan, np.nan, np.nan, np.nan, np.nan]),
        np.array([0.1, 0.2, np.nan, 0.1, np.nan, np.nan, np.nan, np.nan, np.nan]),
        np.array([True, True, False, True, False, False, False, False, False]),
        ["a", "b", "c"],
        ["viral", "too few scored chunks", "no coding frame"],
        np.array([2, 1, 0]),
        np.array([2, 1, 0]),
    )
    seq = heldout_levels(fragments, scores)["sequence_0.9kb"]
    assert seq.calls.tolist() == [True, False, False]
    assert seq.metrics()["recall"] == pytest.approx(1 / 3)


def test_equal_chunk_margins_rank_as_ties():
    """The chunk level ranks by best viral - best non-viral: equal margins must be equal
    scores (a float subtraction gives 0.495 for 0.01 - 0.02 and 0.49500000000000005 for
    0.56 - 0.57)."""
    from virnucpro_smk.report.heldout_levels import chunk_rank_scores

    viral = np.array([0.01, 0.56, 0.68, 1.0, 0.0])
    nonviral = np.array([0.02, 0.57, 0.69, 0.0, 1.0])
    scores = chunk_rank_scores(viral, nonviral)
    assert len(set(scores[:3].tolist())) == 1 and scores[0] == 0.495
    assert scores[3:].tolist() == [1.0, 0.0]
