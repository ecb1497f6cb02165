"""Prediction: frame scores, the original's per-chunk call, a per-sequence summary, a plot.

Outputs for one sample:

* ``predictions.tsv``: the original's columns ``Sequence_ID, Prediction, score1, score2``
  (score1 = non-viral "others", score2 = "virus"), one row per kept frame;
* ``per_chunk.tsv``: the original's rule: a chunk (frame id minus its last two characters)
  is viral when its best viral score >= its best non-viral score;
* ``per_sequence.tsv``: every input sequence, including those with no kept frame
  ("no coding frame"): chunks, scored chunks, viral chunks, max/mean viral score and a call
  (viral when at least ``min_viral_fraction`` of its scored chunks are viral).
"""

from __future__ import annotations

import csv
import logging
import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from .atomic import atomic_open, atomic_path
from .classifier import CheckpointIdentity, load_checkpoint, predict_scores
from .errors import ModelMismatchError
from .merge import read_merged

log = logging.getLogger(__name__)

NO_CODING_FRAME = "no coding frame"


def _fmt(value: float) -> str:
    return str(np.float32(value))  # the original prints numpy float32 values


def score_shards(
    shards: Sequence[str | os.PathLike[str]],
    checkpoint: str | os.PathLike[str],
    dna_model: str,
    protein_model: str,
) -> tuple[list[str], torch.Tensor, dict]:
    """Scores [N, 2] of every frame of the merged shards, refusing a mismatched classifier."""
    ids: list[str] = []
    blocks: list[torch.Tensor] = []
    identity = None
    for path in shards:
        emb = read_merged(path, dna_model, protein_model)
        this = CheckpointIdentity.from_features(emb.meta)
        if identity is not None and this != identity:
            raise ModelMismatchError(f"{path}: {this} differs from the sample's other shards")
        identity = this
        ids += emb.ids
        blocks.append(emb.matrix)
    if identity is None:
        raise ModelMismatchError("no feature shards given")
    model, meta = load_checkpoint(checkpoint, expect=identity)
    x = torch.cat(blocks) if blocks else torch.zeros((0, identity.input_width))
    return ids, predict_scores(model, x), meta


def chunk_of(frame_id: str) -> str:
    return frame_id[:-2]


def sequence_of(chunk_id: str) -> str:
    return chunk_id.rsplit("_chunk_", 1)[0]


def write_predictions(
    ids: list[str],
    scores: torch.Tensor,
    sequences_tsv: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    min_viral_fraction: float = 0.5,
) -> dict[str, dict]:
    out_dir = Path(out_dir)
    s = scores.numpy()
    with atomic_open(out_dir / "predictions.tsv") as out:
        out.write("Sequence_ID\tPrediction\tscore1\tscore2\n")
        for fid, (others, virus) in zip(ids, s, strict=True):
            call = "virus" if virus > others else "others"
            out.write(f"{fid}\t{call}\t{_fmt(others)}\t{_fmt(virus)}\n")
    best: dict[str, list[float]] = {}
    for fid, (others, virus) in zip(ids, s, strict=True):
        cur = best.setdefault(chunk_of(fid), [-1.0, -1.0])
        cur[0], cur[1] = max(cur[0], float(others)), max(cur[1], float(virus))
    with atomic_open(out_dir / "per_chunk.tsv") as out:
        out.write("chunk_id\tIs_Virus\tbest_virus_score\tbest_others_score\n")
        for cid, (others, virus) in best.items():
            out.write(f"{cid}\t{virus >= others}\t{virus:.6f}\t{others:.6f}\n")
    by_sequence: dict[str, list[tuple[str, float, bool]]] = defaultdict(list)
    for cid, (others, virus) in best.items():
        by_sequence[sequence_of(cid)].append((cid, virus, virus >= others))
    summary: dict[str, dict] = {}
    with open(sequences_tsv, encoding="utf-8") as handle:
        table = list(csv.DictReader(handle, delimiter="\t"))
    with atomic_open(out_dir / "per_sequence.tsv") as out:
        out.write(
            "sequence_id\tlength_bp\tn_chunks\tn_scored_chunks\tn_viral_chunks\t"
            "max_viral_score\tmean_viral_score\tcall\n"
        )
        for row in table:
            chunks = by_sequence.get(row["sequence_id"], [])
            n_viral = sum(v for _, _, v in chunks)
            if chunks:
                vs = [score for _, score, _ in chunks]
                call = "virus" if n_viral / len(chunks) >= min_viral_fraction else "others"
                mx, mean = f"{max(vs):.6f}", f"{sum(vs) / len(vs):.6f}"
            else:
                call, mx, mean = NO_CODING_FRAME, "NA", "NA"
            out.write(
                f"{row['sequence_id']}\t{row['length_bp']}\t{row['n_chunks']}\t"
                f"{len(chunks)}\t{n_viral}\t{mx}\t{mean}\t{call}\n"
            )
            summary[row["sequence_id"]] = {
                "chunks": chunks,
                "call": call,
                "length": int(row["length_bp"]),
                "n_chunks": int(row["n_chunks"]),
            }
    return summary


def plot_sequences(
    summary: dict[str, dict], output: str | os.PathLike[str], first_n: int = 20, title: str = ""
) -> None:
    """Best viral score of each chunk along the first ``first_n`` sequences, coloured by call."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary)[:first_n]
    fig, axes = plt.subplots(
        max(len(names), 1),
        1,
        figsize=(8, 1.2 + 0.9 * max(len(names), 1)),
        sharex=False,
        squeeze=False,
    )
    colours = {"virus": "#c0392b", "others": "#2c7fb8", NO_CODING_FRAME: "#999999"}
    for ax, name in zip(axes[:, 0], names, strict=False):
        info = summary[name]
        scored = {int(c[0].rsplit("_chunk_", 1)[1]): c for c in info["chunks"]}
        xs = sorted(scored)
        ax.vlines(xs, 0, [scored[x][1] for x in xs], color="#cccccc", lw=0.8)
        ax.scatter(
            xs,
            [scored[x][1] for x in xs],
            s=14,
            zorder=3,
            c=[colours["virus"] if scored[x][2] else colours["others"] for x in xs],
        )
        unscored = [x for x in range(1, info["n_chunks"] + 1) if x not in scored]
        ax.scatter(
            unscored,
            [0.0] * len(unscored),
            marker="x",
            s=10,
            color=colours[NO_CODING_FRAME],
            zorder=3,
        )
        ax.set_xlim(0.5, info["n_chunks"] + 0.5)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.axhline(0.5, color="black", lw=0.5, ls="--")
        ax.set_ylim(-0.05, 1.05)
        ax.set_ylabel("viral\nscore", fontsize=7)
        ax.set_title(
            f"{name} ({info['length']} bp): {info['call']}",
            fontsize=8,
            loc="left",
            color=colours[info["call"]],
        )
        ax.tick_params(labelsize=6)
    axes[-1, 0].set_xlabel("chunk (x: no coding frame)")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    with atomic_path(output) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def predict_sample(
    shards: Sequence[str | os.PathLike[str]],
    checkpoint: str | os.PathLike[str],
    sequences_tsv: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    dna_model: str,
    protein_model: str,
    plot: str | os.PathLike[str] | None = None,
    plot_first_n: int = 20,
    min_viral_fraction: float = 0.5,
) -> dict[str, dict]:
    ids, scores, meta = score_shards(shards, checkpoint, dna_model, protein_model)
    log.info("scored %d frames with %s (%s)", len(ids), checkpoint, meta.get("created"))
    summary = write_predictions(ids, scores, sequences_tsv, out_dir, min_viral_fraction)
    if plot:
        plot_sequences(summary, plot, plot_first_n, title=f"{dna_model}+{protein_model}")
    return summary
