"""Prediction: the original's frame file byte for byte, chunk and sequence tables, FASTA, plot."""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import default_region_model, default_thresholds
from virnucpro_smk.classify.calls import CallThresholds
from virnucpro_smk.classify.mlp import CheckpointIdentity, MLPClassifier, save_checkpoint
from virnucpro_smk.classify.predict import (
    NO_CODING_FRAME,
    NONVIRAL,
    TOO_FEW_SCORED,
    VIRAL,
    FeatureFiles,
    PredictionFiles,
    SampleScores,
    predict_sample,
    prediction_columns,
    read_sequence_table,
    sequence_call,
)
from virnucpro_smk.errors import InputError, ModelMismatchError
from virnucpro_smk.formats.predictions import PREDICTIONS
from virnucpro_smk.io.embedding_files import write_embeddings
from virnucpro_smk.preprocess.chunking import chunk_spans
from virnucpro_smk.report.scores_plot import plot_scores

DNA, PROT = "standin_dnabert_48d", "standin_esm2_64d"
L = 300


def _rows(path):
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _sign_classifier(directory: Path, dna_width=48, prot_width=64, chunk=L, **ident) -> Path:
    """An MLP whose viral score is sigmoid(5 * x[0]): the test decides each frame's call."""
    model = MLPClassifier(dna_width + prot_width, hidden_dim=2).eval()
    with torch.no_grad():
        model.hidden_layer.weight.zero_()
        model.hidden_layer.bias.zero_()
        model.hidden_layer.weight[0, 0], model.hidden_layer.weight[1, 0] = 1.0, -1.0
        model.output_layer.weight.copy_(torch.tensor([[0.0, 5.0], [5.0, 0.0]]))
        model.output_layer.bias.zero_()
    weights = directory / "model.safetensors"
    save_checkpoint(
        model, weights, CheckpointIdentity(DNA, dna_width, PROT, prot_width, chunk, **ident)
    )
    return weights


def _meta(model, kind, width, chunk=L, **extra):
    return {"model": model, "kind": kind, "width": width, "chunk_length": chunk, **extra}


def _write_shards(root: Path, frames: list[tuple[str, float]], n_shards: int, **extra):
    """DNA/protein shards of ``frames`` (id, x0): x0 > 0 makes the frame viral."""
    dna_paths, prot_paths = [], []
    gen = torch.Generator().manual_seed(1)
    for s, part in enumerate(np.array_split(np.arange(len(frames)), n_shards)):
        ids = [frames[i][0] for i in part]
        dna = torch.randn(len(ids), 48, generator=gen)
        dna[:, 0] = torch.tensor([frames[i][1] for i in part])
        dna_path = root / "dna" / DNA / f"shard_{s:04d}.safetensors"
        prot_path = root / "protein" / PROT / f"shard_{s:04d}.safetensors"
        write_embeddings(dna_path, ids, dna, _meta(DNA, "dna", 48, **extra))
        write_embeddings(
            prot_path,
            ids,
            torch.randn(len(ids), 64, generator=gen),
            _meta(PROT, "protein", 64, **extra),
        )
        dna_paths.append(dna_path)
        prot_paths.append(prot_path)
    return dna_paths, prot_paths


# Four sequences: a 1500-bp contig (5 chunks) with 3 scored chunks of which 2 viral, a
# 250-bp read with one nonviral chunk, a 400-bp sequence with no kept frame, and a 15,000-bp
# contig (50 chunks) with a single scored (viral) chunk: the case the old rule called viral.
SEQUENCES = {"contig1": 1500, "read_2": 250, "empty": 400, "long_x_chunk_9": 15000}
FRAMES = [
    ("contig1_chunk_1F1", 3.0),
    ("contig1_chunk_1R2", -2.0),
    ("contig1_chunk_3F2", -2.0),
    ("contig1_chunk_5R1", 1.0),
    ("read_2_chunk_1F3", -1.0),
    ("long_x_chunk_9_chunk_7R3", 3.0),
]


def _fasta_text() -> str:
    rng = np.random.default_rng(0)
    return "".join(
        f">{sid} some description\n" + "".join(rng.choice(list("ACGT"), n)) + "\n"
        for sid, n in SEQUENCES.items()
    )


def _kept(sequence_id: str) -> int:
    return sum(fid[:-2].rsplit("_chunk_", 1)[0] == sequence_id for fid, _ in FRAMES)


@pytest.fixture
def sample(tmp_path):
    seqs = tmp_path / "sequences.tsv"
    seqs.write_text(
        "sequence_id\tlength_bp\tn_chunks\tn_kept_frames\n"
        + "".join(f"{s}\t{n}\t{-(-n // L)}\t{_kept(s)}\n" for s, n in SEQUENCES.items())
    )
    fasta = tmp_path / "in.fa.gz"
    with gzip.open(fasta, "wt") as handle:
        handle.write(_fasta_text())
    dna, prot = _write_shards(tmp_path, FRAMES, n_shards=2)
    weights = _sign_classifier(tmp_path / "clf")
    return {"dna": dna, "prot": prot, "weights": weights, "seqs": seqs, "fasta": fasta}


def _outputs(root: Path) -> dict[str, Path]:
    names = ("predictions.tsv", "per_chunk.tsv", "per_sequence.tsv", "viral.fna", "scores.png")
    keys = ("predictions", "per_chunk", "per_sequence", "viral_fasta", "plot")
    return {k: root / "out" / n for k, n in zip(keys, names, strict=True)}


def _run(sample, tmp_path, plot=False, block_rows=None, **thresholds):
    """predict_sample with the schema's settings, ``thresholds`` (e.g. min_scored_fraction)
    changed."""
    out = _outputs(tmp_path)
    picture = out.pop("plot")
    scores = predict_sample(
        FeatureFiles(sample["dna"], sample["prot"], DNA, PROT, L),
        sample["weights"],
        sample["seqs"],
        sample["fasta"],
        PredictionFiles(**out),
        replace(default_thresholds(), **thresholds),
        default_region_model(),
        **({} if block_rows is None else {"block_rows": block_rows}),
    )
    if plot:  # drawing takes a second; one test covers it
        plot_scores(scores, picture, tracks=8, title="test")
        out["plot"] = picture
    return out, scores


def test_predictions_match_the_classifier_on_the_joined_features(sample, tmp_path):
    out, _ = _run(sample, tmp_path)
    from virnucpro_smk.classify.mlp import load_checkpoint, predict_scores
    from whole_embeddings import read_embeddings

    model, _ = load_checkpoint(sample["weights"])
    x = torch.cat(
        [
            torch.cat([read_embeddings(d).matrix, read_embeddings(p).matrix], dim=1)
            for d, p in zip(sample["dna"], sample["prot"], strict=True)
        ]
    )
    rows = io.StringIO()
    columns = prediction_columns([f for f, _ in FRAMES], predict_scores(model, x).numpy())
    PREDICTIONS.write_columns(rows, columns)
    header = "Sequence_ID\tPrediction\tscore1\tscore2\n"
    assert out["predictions"].read_text() == header + rows.getvalue()
    calls = [r["Prediction"] for r in _rows(out["predictions"])]
    assert calls == ["virus", "others", "others", "virus", "others", "virus"]


def test_per_chunk_lists_every_chunk_with_its_span(sample, tmp_path):
    out, _ = _run(sample, tmp_path)
    rows = _rows(out["per_chunk"])
    assert list(rows[0]) == [
        "sequence_id",
        "chunk",
        "start",
        "end",
        "frames_kept",
        "best_viral_score",
        "best_nonviral_score",
        "call",
    ]
    assert len(rows) == 5 + 1 + 2 + 50
    contig = [r for r in rows if r["sequence_id"] == "contig1"]
    spans = [(int(r["start"]) - 1, int(r["end"])) for r in contig]
    assert spans == chunk_spans(1500, L)
    assert [r["call"] for r in contig] == [VIRAL, NO_CODING_FRAME, NONVIRAL, NO_CODING_FRAME, VIRAL]
    assert [r["frames_kept"] for r in contig] == ["2", "0", "1", "0", "1"]
    first = contig[0]  # frames 1F1 (x0=3) and 1R2 (x0=-2): the maxima come from different frames
    assert float(first["best_viral_score"]) == pytest.approx(1 / (1 + np.exp(-15.0)), abs=1e-6)
    assert float(first["best_nonviral_score"]) == pytest.approx(1 / (1 + np.exp(-10.0)), abs=1e-6)
    assert contig[1]["best_viral_score"] == "NA"
    # the chunk number comes from the frame id even when the sequence id holds "_chunk_"
    long = [r for r in rows if r["sequence_id"] == "long_x_chunk_9"]
    assert [r["chunk"] for r in long if r["call"] != NO_CODING_FRAME] == ["7"]
    assert long[-1]["end"] == "15000"


def test_per_sequence_calls_and_fractions(sample, tmp_path):
    out, _ = _run(sample, tmp_path)
    rows = {r["sequence_id"]: r for r in _rows(out["per_sequence"])}
    assert list(rows) == list(SEQUENCES)
    c = rows["contig1"]
    assert (c["length_bp"], c["chunks"], c["chunks_scored"], c["chunks_viral"]) == (
        "1500",
        "5",
        "3",
        "2",
    )
    assert (c["viral_fraction_all"], c["viral_fraction_scored"], c["call"]) == (
        "0.4000",
        "0.6667",
        VIRAL,
    )
    assert (
        rows["read_2"]["call"] == NONVIRAL and rows["read_2"]["viral_fraction_scored"] == "0.0000"
    )
    assert rows["empty"]["call"] == NO_CODING_FRAME
    assert (
        rows["empty"]["max_viral_score"] == "NA" and rows["empty"]["viral_fraction_scored"] == "NA"
    )
    long = rows["long_x_chunk_9"]
    assert (long["chunks_scored"], long["chunks_viral"], long["call"]) == ("1", "1", TOO_FEW_SCORED)
    assert long["viral_fraction_all"] == "0.0200"


def test_viral_fasta_holds_the_viral_records_streamed_from_gzip(sample, tmp_path):
    out, _ = _run(sample, tmp_path, min_scored_fraction=0.0)
    text = out["viral_fasta"].read_text()
    headers = [line for line in text.splitlines() if line.startswith(">")]
    assert headers == [
        ">contig1 viral_fraction=0.6667 max_score=1.000000",
        ">long_x_chunk_9 viral_fraction=1.0000 max_score=1.000000",
    ]
    source = _fasta_text().split(">")[1].split("\n", 1)[1].replace("\n", "")
    assert text.split(">")[1].split("\n", 1)[1].replace("\n", "") == source
    assert max(len(line) for line in text.splitlines() if not line.startswith(">")) == 60


def _has_colour(image: np.ndarray, hex_colour: str) -> bool:
    rgb = np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return bool((np.abs(image[..., :3] - rgb).max(axis=-1) < 0.02).any())


def test_plot_is_written(sample, tmp_path):
    """A decodable PNG whose score tracks show viral, non-viral and unscored chunks and
    sequence calls (titles) in their colours (magic bytes alone would pass a blank figure)."""
    from matplotlib.image import imread

    from virnucpro_smk.report.scores_plot import COLOURS

    out, scores = _run(sample, tmp_path, plot=True)
    image = imread(out["plot"])
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 400
    assert set(scores.calls) == {VIRAL, NONVIRAL, TOO_FEW_SCORED, NO_CODING_FRAME}
    for call in (VIRAL, NONVIRAL, NO_CODING_FRAME):  # drawn opaque (the histograms are not)
        assert _has_colour(image, COLOURS[call]), f"no {call} ({COLOURS[call]}) in the figure"


def test_shards_with_another_identity_are_refused(sample, tmp_path):
    other = tmp_path / "other"
    dna, prot = _write_shards(other, FRAMES, 2, model_commit="ab12" * 10)
    sample["dna"][1], sample["prot"][1] = dna[1], prot[1]
    with pytest.raises(ModelMismatchError, match=r"shard_0001.*model_commit .*but the first shard"):
        _run(sample, tmp_path)
    assert not _outputs(tmp_path)["predictions"].exists()


def test_a_classifier_for_other_features_is_refused(sample, tmp_path):
    sample["weights"] = _sign_classifier(tmp_path / "clf500", chunk=500)
    with pytest.raises(ModelMismatchError, match="chunk_length: checkpoint 500, features 300"):
        _run(sample, tmp_path)


def test_frames_of_another_sample_are_refused(sample, tmp_path):
    dna, prot = _write_shards(tmp_path / "x", [("stranger_chunk_1F1", 1.0)], 1)
    sample["dna"], sample["prot"] = dna, prot
    with pytest.raises(ModelMismatchError, match="'stranger_chunk_1F1' is not a frame"):
        _run(sample, tmp_path)
    dna, prot = _write_shards(tmp_path / "y", [("contig1_chunk_6F1", 1.0)], 1)
    sample["dna"], sample["prot"] = dna, prot
    with pytest.raises(ModelMismatchError, match="'contig1_chunk_6F1' is not a frame"):
        _run(sample, tmp_path)


def test_protein_files_missing_frames_are_refused(sample, tmp_path):
    """The lists may differ in length (models are cut differently), never in frames."""
    sample["prot"] = sample["prot"][:1]
    with pytest.raises(ModelMismatchError, match=r"files hold more rows than the .* files"):
        _run(sample, tmp_path)
    assert not _outputs(tmp_path)["predictions"].exists()


def test_a_sequence_table_of_another_chunk_length_is_refused(sample, tmp_path):
    with pytest.raises(ModelMismatchError, match="made for another chunk length"):
        read_sequence_table(sample["seqs"], 500)


def test_a_fasta_without_the_viral_records_is_refused(sample, tmp_path):
    sample["fasta"] = tmp_path / "wrong.fa"
    sample["fasta"].write_text(">contig2\nACGT\n")
    with pytest.raises(InputError, match="lacks 1 sequence"):
        _run(sample, tmp_path)


@pytest.mark.parametrize(
    ("chunks", "scored", "viral", "call"),
    [
        (50, 1, 1, TOO_FEW_SCORED),  # the old rule called this viral
        (50, 8, 4, VIRAL),  # 16 % scored, half viral
        (50, 8, 3, NONVIRAL),
        (6, 1, 1, VIRAL),  # 3 kb at 500 bp: one scored chunk of six is enough
        (1, 1, 0, NONVIRAL),
        (1, 0, 0, NO_CODING_FRAME),
        (20, 3, 2, VIRAL),  # exactly 15 % scored
        (4, 2, 1, VIRAL),  # exactly 50 % viral: ties are viral, as the chunk rule
    ],
)
def test_sequence_call(chunks, scored, viral, call):
    assert sequence_call(chunks, scored, viral, CallThresholds(0.5, 0.15)) == call


def test_predictions_are_byte_identical_to_the_original(reference):
    for folder in (reference, reference / "test_fixed_500bp"):
        original = (folder / "prediction_results.txt").read_text()
        rows = _rows(folder / "prediction_results.txt")
        scores = np.array([[float(r["score1"]), float(r["score2"])] for r in rows], np.float32)
        mine = io.StringIO()
        PREDICTIONS.write_to(mine, [])  # the header
        PREDICTIONS.write_columns(
            mine, prediction_columns([r["Sequence_ID"] for r in rows], scores)
        )
        assert mine.getvalue() == original


def test_reference_chunk_calls(reference, tmp_path):
    """The original's per-chunk verdicts follow from its frame scores by the same rule."""
    rows = _rows(reference / "prediction_results.txt")
    seqs = tmp_path / "s.tsv"
    seqs.write_text(
        "sequence_id\tlength_bp\tn_chunks\tn_kept_frames\n"
        "synthetic_seq_1\t174\t1\t2\nsynthetic_seq_2\t171\t1\t2\n"
    )
    scores = SampleScores.empty(read_sequence_table(seqs, 500), 500)
    frame_scores = np.array([[float(r["score1"]), float(r["score2"])] for r in rows], np.float32)
    scores.add([r["Sequence_ID"] for r in rows], frame_scores, "reference")
    expected = [
        r["Is_Virus"] == "True" for r in _rows(reference / "prediction_results_highestscore.csv")
    ]
    assert scores.chunk_viral.tolist() == expected
    scores.finish(CallThresholds(0.5, 0.15))
    assert scores.calls == [VIRAL, VIRAL]
    plot_scores(scores, tmp_path / "p.png", tracks=8)
    assert (tmp_path / "p.png").stat().st_size > 1000


def test_block_size_does_not_change_any_output(sample, tmp_path):
    whole, _ = _run(sample, tmp_path / "whole")
    tiny, _ = _run(sample, tmp_path / "tiny", block_rows=1)
    for key in ("predictions", "per_chunk", "per_sequence", "viral_fasta"):
        assert whole[key].read_bytes() == tiny[key].read_bytes(), key


def test_an_empty_shard_still_checks_the_classifier(sample, tmp_path):
    dna, prot = _write_shards(tmp_path / "e", [], 1)
    sample["dna"], sample["prot"] = dna, prot
    lines = sample["seqs"].read_text().splitlines()
    sample["seqs"].write_text(  # preprocessing kept no frame at all
        "\n".join([lines[0], *(line.rsplit("\t", 1)[0] + "\t0" for line in lines[1:])]) + "\n"
    )
    out, scores = _run(sample, tmp_path)
    assert out["predictions"].read_text() == "Sequence_ID\tPrediction\tscore1\tscore2\n"
    assert set(scores.calls) == {NO_CODING_FRAME}
    sample["weights"] = _sign_classifier(tmp_path / "clf500", chunk=500)
    with pytest.raises(ModelMismatchError, match="refuses these features"):
        _run(sample, tmp_path)


def test_a_missing_shard_is_an_error_not_unscored_chunks(sample, tmp_path):
    """Shards from another preprocessing run (e.g. fewer of them) must not pass silently."""
    short = {**sample, "dna": sample["dna"][:1], "prot": sample["prot"][:1]}
    with pytest.raises(InputError, match="another preprocessing run"):
        _run(short, tmp_path)
