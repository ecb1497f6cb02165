"""summary.tsv: viral sequences and bases per sample and model pair, from per_sequence.tsv."""

from __future__ import annotations

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
        [
            ("x", 1000, "viral"),
            ("y", 250, "nonviral"),
            ("z", 40, "no coding frame"),
            ("p", 5000, "provirus"),
        ],
    )
    b = _table(tmp_path / "b.tsv", [("x", 1000, "too few scored chunks")])
    out = tmp_path / "summary.tsv"
    summarize(
        {("s1", "dnaberts_768d+fastesm650_1280d"): a, ("s1", "dnaberts_768d+esm2_3b_2560d"): b},
        out,
    )
    # columns as README.md documents them; x is viral (1000 bp), "too few scored chunks" is not;
    # p holds a provirus: counted apart, its bases are not viral_bp (only the region is viral)
    assert out.read_text() == (
        "sample\tmodel\tsequences\tbp\tviral_sequences\tviral_bp\tprovirus_sequences\n"
        "s1\tdnaberts_768d+fastesm650_1280d\t4\t6290\t1\t1000\t1\n"
        "s1\tdnaberts_768d+esm2_3b_2560d\t1\t1000\t0\t0\t0\n"
    )


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
