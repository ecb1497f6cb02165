"""summary.tsv: viral sequences and bases per sample and model pair, from per_sequence.tsv."""

from __future__ import annotations

import csv

import pytest

from virnucpro_smk.classify.summary import summarize, summarize_lists
from virnucpro_smk.errors import InputError

HEADER = (
    "sequence_id\tlength_bp\tchunks\tchunks_scored\tchunks_viral\tviral_fraction_all\t"
    "viral_fraction_scored\tmax_viral_score\tmean_viral_score\tcall\n"
)


def _table(path, rows):
    path.write_text(
        HEADER
        + "".join(f"{sid}\t{bp}\t1\t1\t0\t0\t0\t0.1\t0.1\t{call}\n" for sid, bp, call in rows)
    )
    return path


def test_summary_counts_viral_sequences_and_bases(tmp_path):
    a = _table(
        tmp_path / "a.tsv",
        [("x", 1000, "viral"), ("y", 250, "nonviral"), ("z", 40, "no coding frame")],
    )
    b = _table(tmp_path / "b.tsv", [("x", 1000, "too few scored chunks")])
    out = tmp_path / "summary.tsv"
    summarize(
        {("s1", "dnaberts_768d+fastesm650_1280d"): a, ("s1", "dnaberts_768d+esm2_3b_2560d"): b},
        out,
    )
    assert out.read_text().startswith("sample\tmodel\tsequences\tbp\tviral_sequences\tviral_bp\n")
    rows = list(csv.DictReader(out.open(), delimiter="\t"))
    assert [(r["sample"], r["model"]) for r in rows] == [
        ("s1", "dnaberts_768d+fastesm650_1280d"),
        ("s1", "dnaberts_768d+esm2_3b_2560d"),
    ]
    assert [
        rows[0]["sequences"],
        rows[0]["bp"],
        rows[0]["viral_sequences"],
        rows[0]["viral_bp"],
    ] == [
        "3",
        "1290",
        "1",
        "1000",
    ] and rows[1]["viral_sequences"] == "0"


def test_parallel_lists_must_agree(tmp_path):
    a = _table(tmp_path / "a.tsv", [("x", 10, "viral")])
    with pytest.raises(InputError, match="must be parallel"):
        summarize_lists([a], ["s1", "s2"], ["m"], tmp_path / "o.tsv")
    with pytest.raises(InputError, match="listed twice"):
        summarize_lists([a, a], ["s1", "s1"], ["m", "m"], tmp_path / "o.tsv")


def test_a_wrong_table_is_refused(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("Sequence_ID\tPrediction\tscore1\tscore2\n")
    with pytest.raises(InputError, match=r"not a per_sequence\.tsv"):
        summarize({("s", "m"): bad}, tmp_path / "o.tsv")
