"""The README's call rules, pinned by hand-worked cases that tell rules apart.

Three candidate per-chunk rules give different answers on these cases:

=====================================  ======================  ==========  ================
frames of one chunk (viral, nonviral)  max rule (>=, README)   strict >    any frame >= 0.5
=====================================  ======================  ==========  ================
(0.5, 0.5)                             viral (tie)             nonviral    viral
(0.7, 0.3), (0.3, 0.7)                 viral (tie 0.7 = 0.7)   nonviral    viral
(0.6, 0.4), (0.2, 0.8)                 nonviral (0.6 < 0.8)    nonviral    viral
=====================================  ======================  ==========  ================

Each case runs through the pure function, through ``predict_sample`` (hand-made embeddings
and a classifier whose viral score is sigmoid(5 * x0)) and through the comparison's levels,
so the same one-line change in any of them fails here. The per-sequence thresholds are
tested end to end with non-default values (0.6 viral, 0.3 scored) on both sides of each,
so swapping the two thresholds fails too.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from test_predict import DNA, PROT, _sign_classifier, _write_shards

from conftest import default_region_model, default_thresholds
from virnucpro_smk.classify.calls import (
    NO_CODING_FRAME,
    NONVIRAL,
    TOO_FEW_SCORED,
    VIRAL,
    CallThresholds,
    chunk_is_viral,
    sequence_call,
)
from virnucpro_smk.classify.predict import FeatureFiles, PredictionFiles, predict_sample

L = 300


def _x0(viral_score: float) -> float:
    """The feature that makes the sign classifier score ``viral_score`` (inverse sigmoid / 5).

    The classifier's BatchNorm divides by sqrt(1 + 1e-5); x0 is scaled back up by that.
    """
    return math.log(viral_score / (1 - viral_score)) / 5 * math.sqrt(1 + 1e-5)


# --------------------------------------------------------------------------- pure functions


def test_chunk_rule_on_best_scores():
    assert chunk_is_viral(0.5, 0.5) is True  # ties are viral
    assert chunk_is_viral(0.6, 0.8) is False
    assert chunk_is_viral(0.8, 0.6) is True
    best_viral = np.array([0.5, 0.6, 0.7, 0.2], dtype=np.float32)
    best_nonviral = np.array([0.5, 0.8, 0.7, 0.1], dtype=np.float32)
    assert chunk_is_viral(best_viral, best_nonviral).tolist() == [True, False, True, True]


@pytest.mark.parametrize(
    ("viral", "nonviral", "expected"),
    [
        ([0.5], [0.5], True),  # a tie: strict > says nonviral
        ([0.7, 0.3], [0.3, 0.7], True),  # best viral 0.7 = best nonviral 0.7
        ([0.6, 0.2], [0.4, 0.8], False),  # 0.6 < 0.8; "any frame >= 0.5" says viral
        ([0.45, 0.1], [0.55, 0.4], False),  # all rules agree: nonviral
    ],
)
def test_chunk_rule_on_frames(viral, nonviral, expected):
    assert chunk_is_viral(max(viral), max(nonviral)) is expected


@pytest.mark.parametrize(
    ("chunks", "scored", "viral", "call"),
    [
        (10, 5, 3, VIRAL),  # 60 % of scored viral: at the threshold
        (10, 5, 2, NONVIRAL),  # 40 %: below it
        (10, 3, 3, VIRAL),  # 30 % scored: at the threshold
        (10, 2, 2, TOO_FEW_SCORED),  # 20 % scored
        (10, 0, 0, NO_CODING_FRAME),
    ],
)
def test_sequence_rule_on_both_sides_of_each_threshold(chunks, scored, viral, call):
    assert sequence_call(chunks, scored, viral, CallThresholds(0.6, 0.3)) == call


def test_sequence_rule_refuses_impossible_counts():
    with pytest.raises(ValueError, match="viral <= scored <= chunks"):
        sequence_call(4, 2, 3, default_thresholds())


# --------------------------------------------------------------------------- through predict

# One-chunk sequences for the chunk rule (frame viral scores), then 10-chunk sequences for
# the sequence rule: (chunks scored, of which viral) under min_viral_fraction 0.6 and
# min_scored_fraction 0.3. Swapping the two thresholds (0.3 viral, 0.6 scored) turns
# v60 into "too few scored chunks" and v40 into "viral".
CHUNK_CASES = {
    "tie": ([0.5], VIRAL),
    "pair_tie": ([0.7, 0.3], VIRAL),
    "max_rule": ([0.6, 0.2], NONVIRAL),
}
SEQUENCE_CASES = {
    "v60": (5, 3, VIRAL),
    "v40": (5, 2, NONVIRAL),
    "s30": (3, 3, VIRAL),
    "s20": (2, 2, TOO_FEW_SCORED),
    "none": (0, 0, NO_CODING_FRAME),
}


def _frames() -> list[tuple[str, float]]:
    frames = []
    for sid, (scores, _) in CHUNK_CASES.items():
        suffixes = ("F1", "R2", "F3")
        frames += [(f"{sid}_chunk_1{s}", _x0(v)) for s, v in zip(suffixes, scores, strict=False)]
    for sid, (scored, viral, _) in SEQUENCE_CASES.items():
        # chunks 1..viral viral, the next (scored - viral) non-viral, the rest unscored
        frames += [
            (f"{sid}_chunk_{k}F1", 1.0 if k <= viral else -1.0) for k in range(1, scored + 1)
        ]
    return frames


@pytest.fixture
def handmade(tmp_path):
    frames = _frames()
    lengths = {sid: L for sid in CHUNK_CASES} | {sid: 10 * L for sid in SEQUENCE_CASES}
    kept = {sid: sum(f.startswith(f"{sid}_chunk_") for f, _ in frames) for sid in lengths}
    seqs = tmp_path / "sequences.tsv"
    seqs.write_text(
        "sequence_id\tlength_bp\tn_chunks\tn_kept_frames\n"
        + "".join(f"{s}\t{n}\t{n // L}\t{kept[s]}\n" for s, n in lengths.items())
    )
    fasta = tmp_path / "in.fa"
    fasta.write_text("".join(f">{s}\n{'ACGT' * (n // 4)}\n" for s, n in lengths.items()))
    dna, prot = _write_shards(tmp_path, frames, n_shards=1)
    out = tmp_path / "out"
    files = PredictionFiles(
        out / "predictions.tsv", out / "per_chunk.tsv", out / "per_sequence.tsv", out / "v.fna"
    )
    predict_sample(
        FeatureFiles(dna, prot, DNA, PROT, L),
        _sign_classifier(tmp_path / "clf"),
        seqs,
        fasta,
        files,
        CallThresholds(0.6, 0.3),
        default_region_model(),
    )
    return files


def _table(path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_predict_applies_the_chunk_rule(handmade):
    rows = {r["sequence_id"]: r for r in _table(handmade.per_chunk) if r["chunk"] == "1"}
    for sid, (scores, call) in CHUNK_CASES.items():
        assert rows[sid]["call"] == call, sid
        assert float(rows[sid]["best_viral_score"]) == pytest.approx(max(scores), abs=1e-5)
        best_nonviral = max(1 - s for s in scores)
        assert float(rows[sid]["best_nonviral_score"]) == pytest.approx(best_nonviral, abs=1e-5)


def test_predict_applies_the_sequence_rule_with_configured_thresholds(handmade):
    rows = {r["sequence_id"]: r for r in _table(handmade.per_sequence)}
    for sid, (scored, viral, call) in SEQUENCE_CASES.items():
        got = rows[sid]
        assert (got["chunks"], got["chunks_scored"], got["chunks_viral"]) == (
            "10",
            str(scored),
            str(viral),
        ), sid
        assert got["call"] == call, sid
    # one-chunk sequences: the sequence call follows the chunk call (1 of 1 scored)
    for sid, (_, call) in CHUNK_CASES.items():
        assert rows[sid]["call"] == call, sid
    text = handmade.viral_fasta.read_text()
    headers = [line[1:].split()[0] for line in text.splitlines() if line.startswith(">")]
    assert headers == ["tie", "pair_tie", "v60", "s30"]
