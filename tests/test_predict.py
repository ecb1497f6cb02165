"""Prediction outputs and the original's aggregation rule on known inputs."""

import csv

import pytest
import torch

from virnucpro_smk.predict import plot_sequences, write_predictions


def _rows(path):
    with open(path) as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.fixture
def outputs(tmp_path):
    ids = ["s1_chunk_1F1", "s1_chunk_1R2", "s1_chunk_2F3", "s2_chunk_1R1", "s_x_chunk_3_chunk_1F2"]
    scores = torch.tensor([[0.8, 0.2], [0.3, 0.7], [0.9, 0.1], [0.6, 0.4], [0.5, 0.5]])
    seqs = tmp_path / "sequences.tsv"
    seqs.write_text(
        "sequence_id\tlength_bp\tn_chunks\tn_kept_frames\n"
        "s1\t600\t2\t3\ns2\t300\t1\t1\ns3\t200\t1\t0\ns_x_chunk_3\t250\t1\t1\n"
    )
    summary = write_predictions(ids, scores, seqs, tmp_path, min_viral_fraction=0.5)
    return tmp_path, summary


def test_frame_predictions_have_the_original_columns(outputs):
    out, _ = outputs
    rows = _rows(out / "predictions.tsv")
    assert list(rows[0]) == ["Sequence_ID", "Prediction", "score1", "score2"]
    assert [r["Prediction"] for r in rows] == ["others", "virus", "others", "others", "others"]
    assert rows[1]["score2"] == "0.7"


def test_per_chunk_rule_best_viral_vs_best_nonviral(outputs):
    out, _ = outputs
    calls = {r["chunk_id"]: r["Is_Virus"] for r in _rows(out / "per_chunk.tsv")}
    # s1 chunk 1: best virus 0.7 < best others 0.8 -> False; tie counts as viral
    assert calls == {
        "s1_chunk_1": "False",
        "s1_chunk_2": "False",
        "s2_chunk_1": "False",
        "s_x_chunk_3_chunk_1": "True",
    }


def test_per_sequence_summary_keeps_sequences_without_frames(outputs):
    out, _summary = outputs
    rows = {r["sequence_id"]: r for r in _rows(out / "per_sequence.tsv")}
    assert list(rows) == ["s1", "s2", "s3", "s_x_chunk_3"]
    assert rows["s3"]["call"] == "no coding frame" and rows["s3"]["n_scored_chunks"] == "0"
    assert rows["s1"]["n_viral_chunks"] == "0" and rows["s1"]["max_viral_score"] == "0.700000"
    assert rows["s1"]["mean_viral_score"] == "0.400000"
    assert rows["s_x_chunk_3"]["call"] == "virus"


def test_plot_is_written(outputs, tmp_path):
    _, summary = outputs
    png = tmp_path / "plot.png"
    plot_sequences(summary, png, first_n=3)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_reference_prediction_rule(reference):
    """The original's per-chunk file follows from its frame scores by the same rule."""
    rows = _rows(reference / "prediction_results.txt")
    ids = [r["Sequence_ID"] for r in rows]
    scores = torch.tensor([[float(r["score1"]), float(r["score2"])] for r in rows])
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        seqs = Path(tmp) / "s.tsv"
        seqs.write_text("sequence_id\tlength_bp\tn_chunks\tn_kept_frames\n")
        write_predictions(ids, scores, seqs, tmp)
        mine = {r["chunk_id"]: r["Is_Virus"] for r in _rows(Path(tmp) / "per_chunk.tsv")}
        frames = _rows(Path(tmp) / "predictions.tsv")
    expected = {
        r["Modified_ID"]: r["Is_Virus"]
        for r in _rows(reference / "prediction_results_highestscore.csv")
    }
    assert mine == expected
    assert [f["Prediction"] for f in frames] == [r["Prediction"] for r in rows]
    assert [f["score2"] for f in frames] == [r["score2"] for r in rows]
