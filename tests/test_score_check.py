"""End-to-end score check against the original's prediction_results.txt (test_with_orfs.fa,
500 bp): the check accepts the original's own scores and refuses one score moved beyond the
tolerance; the pipeline run is exercised with stand-in models (the published checkpoint and
real weights are not at hand)."""

from __future__ import annotations

import pytest
import torch

from virnucpro_smk.classify.mlp import CheckpointIdentity, MLPClassifier, save_checkpoint
from virnucpro_smk.classify.score_check import (
    SCORE_TOLERANCE,
    check_scores,
    pipeline_scores,
    read_original_scores,
)
from virnucpro_smk.errors import InputError
from virnucpro_smk.formats.predictions import PREDICTIONS, FramePrediction

FRAMES = [
    "synthetic_seq_1_chunk_1R1",
    "synthetic_seq_1_chunk_1R2",
    "synthetic_seq_2_chunk_1R1",
    "synthetic_seq_2_chunk_1R2",
]


@pytest.fixture
def original(reference):
    return reference / "prediction_results.txt"


def perturbed_copy(original, tmp_path, frame, delta):
    """The original's file with one frame's viral score moved by ``delta`` (score1 follows)."""
    lines = original.read_text().splitlines()
    for i, line in enumerate(lines):
        fields = line.split("\t")
        if fields[0] == frame:
            viral = float(fields[3]) + delta
            call = "virus" if viral >= 0.5 else "others"
            lines[i] = "\t".join([frame, call, f"{1 - viral:.8g}", f"{viral:.8g}"])
    out = tmp_path / "perturbed.txt"
    out.write_text("\n".join(lines) + "\n")
    return out


def test_the_original_file_is_read_by_hand(original):
    scores = read_original_scores(original)
    assert list(scores) == FRAMES
    assert scores["synthetic_seq_2_chunk_1R1"] == pytest.approx(0.4498659)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_the_check_accepts_the_originals_scores(original, tmp_path, dtype):
    theirs = read_original_scores(original)
    ours = (
        FramePrediction(f, "virus" if s >= 0.5 else "others", 1 - s, s) for f, s in theirs.items()
    )
    PREDICTIONS.write(tmp_path / "ours.txt", ours)  # the formats writer, their layout
    result = check_scores(read_original_scores(tmp_path / "ours.txt"), theirs, dtype)
    assert result.passed and result.frames == 4 and result.max_abs_diff < 1e-7


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_one_score_beyond_the_tolerance_is_refused(original, tmp_path, dtype):
    theirs = read_original_scores(original)
    tol = SCORE_TOLERANCE[dtype]
    frame = "synthetic_seq_1_chunk_1R1"  # viral score 0.879: far from the fence
    near = read_original_scores(perturbed_copy(original, tmp_path, frame, -tol / 2))
    assert check_scores(near, theirs, dtype).passed
    far = read_original_scores(perturbed_copy(original, tmp_path, frame, -2 * tol))
    result = check_scores(far, theirs, dtype)
    assert not result.passed and result.worst_frame == frame
    assert result.max_abs_diff == pytest.approx(2 * tol, rel=1e-4)
    assert any(p.startswith(frame) for p in result.problems)


def test_a_missing_frame_or_flipped_call_is_refused(original):
    theirs = read_original_scores(original)
    fewer = {k: v for k, v in theirs.items() if k != FRAMES[0]}
    assert "frames differ" in check_scores(fewer, theirs).problems[0]


def test_a_broken_original_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("Sequence_ID\tPrediction\tscore1\tscore2\nx\tvirus\t0.9\t0.1\n")
    with pytest.raises(InputError, match="disagrees with the scores"):
        read_original_scores(bad)


def test_the_pipeline_scores_the_originals_frames_with_standins(standins, original, tmp_path):
    """Stand-ins in place of DNABERT-S and ESM2 3B and a random classifier in place of the
    converted 500_model.pth: the run must keep exactly the original's four frames (same
    chunking and frame selection) and give each a score; the scores themselves are random,
    so the check refuses them, as it must."""
    dna_spec, dna_dir = standins["standin_dnabert_48d"]
    prot_spec, prot_dir = standins["standin_esm2_64d"]
    identity = CheckpointIdentity(dna_spec.name, 48, prot_spec.name, 64, 500)
    torch.manual_seed(0)
    weights = tmp_path / "clf" / "model.safetensors"
    weights.parent.mkdir()
    save_checkpoint(MLPClassifier(112, 16), weights, identity)
    ours, dtype = pipeline_scores(
        original.with_name("test_with_orfs.fa"),
        500,
        (dna_spec, dna_dir),
        (prot_spec, prot_dir),
        weights,
    )
    assert list(ours) == FRAMES and dtype == "float32"
    assert all(0.0 <= s <= 1.0 for s in ours.values())
    assert check_scores(ours, ours).passed
    assert not check_scores(ours, read_original_scores(original)).passed
