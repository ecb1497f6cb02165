"""``scores.png``: what a sample's predictions look like, for a person deciding what to trust.

Three panels: the distribution of each sequence's best viral score, coloured by its call;
score tracks along the longest sequences (where chunks sit, which frames were scored, where
no frame was kept); and, for read sets whose sequences are too short for tracks, the share
of each call by length. Matplotlib is imported inside the functions: prediction jobs that
write no picture, and the DAG, do not pay for it.
"""

from __future__ import annotations

import itertools
import os

import numpy as np

from ..classify.predict import (
    CALLS,
    NO_CODING_FRAME,
    NONVIRAL,
    PROVIRUS,
    TOO_FEW_SCORED,
    VIRAL,
    SampleScores,
)
from ..io.atomic import atomic_path
from ..preprocess.chunking import chunk_spans

COLOURS = {
    VIRAL: "#c0392b",
    PROVIRUS: "#8e44ad",
    NONVIRAL: "#2c7fb8",
    TOO_FEW_SCORED: "#e69f00",
    NO_CODING_FRAME: "#999999",
}

#: Tracks only say something when sequences span several chunks; read sets get a
#: calls-by-length panel instead.
MIN_TRACK_CHUNKS = 3


def _kb(bp: float) -> float:
    return bp / 1000.0


def _plot_distribution(ax, scores: SampleScores, calls: np.ndarray) -> None:
    """Per-sequence max viral score, one outline histogram per call (not stacked)."""
    from matplotlib.ticker import MaxNLocator

    n = len(calls)
    bins = np.linspace(0, 1, 26)
    for call in (VIRAL, PROVIRUS, NONVIRAL, TOO_FEW_SCORED):
        values = scores.max_viral[calls == call]
        if len(values):
            ax.hist(
                values,
                bins=bins,
                histtype="stepfilled",
                alpha=0.45,
                edgecolor=COLOURS[call],
                lw=1.2,
                color=COLOURS[call],
                label=f"{call}: {len(values):,}",
            )
    no_frame = int((calls == NO_CODING_FRAME).sum())
    if no_frame:
        ax.plot([], [], " ", label=f"{NO_CODING_FRAME}: {no_frame:,} (no score)")
    if n >= 1000:
        ax.set_yscale("log")
    else:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.axvline(0.5, color="black", lw=0.6, ls="--")
    ax.set_xlim(0, 1)
    ax.set_xlabel("max viral score over the sequence's chunks")
    ax.set_ylabel("sequences")
    ax.set_title(f"per-sequence max viral score, {n:,} sequences", fontsize=9, loc="left")
    ax.legend(fontsize=7, loc="best", framealpha=0.8)


#: Pixel columns of a track: a track with more chunks than this is drawn as the maximum
#: best viral score per column, so every scored chunk counts (a 50-Mbp record has 8,740
#: scored chunks; drawn one segment each, most would be overdrawn).
TRACK_COLUMNS = 800


def track_columns(
    starts: np.ndarray, scores: np.ndarray, viral: np.ndarray, length: int, columns: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel column: max score of the scored chunks starting there, whether the maximum
    chunk is viral, and whether the column holds a scored chunk at all."""
    col = np.minimum(starts * columns // max(length, 1), columns - 1)
    best = np.full(columns, -np.inf)
    np.maximum.at(best, col, scores)
    is_max = scores >= best[col]
    any_viral = np.zeros(columns, dtype=bool)
    np.logical_or.at(any_viral, col[is_max], viral[is_max])
    return best, any_viral, np.isfinite(best)


def _region_spans(scores: SampleScores, i: int) -> list[tuple[int, int]]:
    regions = scores.regions
    if regions is None:
        return []
    spans = chunk_spans(int(scores.table.lengths[i]), scores.chunk_length)
    mine = np.flatnonzero(regions.sequence == i)
    return [(spans[regions.first[k]][0], spans[regions.last[k]][1]) for k in mine.tolist()]


def _plot_track(ax, scores: SampleScores, i: int) -> None:
    """Best viral score of each chunk of sequence ``i`` over its span (x in kb), viral regions
    shaded; a long track is drawn as the maximum per pixel column."""
    from matplotlib.collections import LineCollection

    table = scores.table
    base, length = int(table.offsets[i]), int(table.lengths[i])
    viral, scored = scores.chunk_viral, scores.chunk_scored
    spans = chunk_spans(length, scores.chunk_length)
    for start, end in _region_spans(scores, i):
        ax.axvspan(_kb(start), _kb(end), color=COLOURS[PROVIRUS], alpha=0.15, lw=0)
    segments, colours, gaps = [], [], []
    if len(spans) > TRACK_COLUMNS:
        rows = np.arange(base, base + len(spans))
        starts = np.array([s for s, _ in spans], dtype=np.int64)
        keep = scored[rows]
        best, col_viral, filled = track_columns(
            starts[keep],
            scores.best_viral[rows][keep].astype(np.float64),
            viral[rows][keep],
            length,
            TRACK_COLUMNS,
        )
        width = length / TRACK_COLUMNS
        for c in np.flatnonzero(filled).tolist():
            y = float(best[c])
            segments.append([(_kb(c * width), y), (_kb((c + 1) * width), y)])
            colours.append(COLOURS[VIRAL if col_viral[c] else NONVIRAL])
        gaps = [(_kb(c * width), _kb(width)) for c in np.flatnonzero(~filled).tolist()]
    else:
        for k, (start, end) in enumerate(spans):
            r = base + k
            if scored[r]:
                y = float(scores.best_viral[r])
                segments.append([(_kb(start), y), (_kb(end), y)])
                colours.append(COLOURS[VIRAL if viral[r] else NONVIRAL])
            else:
                gaps.append((_kb(start), _kb(end - start)))
    ax.add_collection(LineCollection(segments, colors=colours, linewidths=2.2))
    ax.broken_barh(gaps, (-0.05, 0.06), color=COLOURS[NO_CODING_FRAME], lw=0)
    ax.axhline(0.5, color="black", lw=0.5, ls="--")
    ax.set_xlim(0, _kb(length))
    ax.set_ylim(-0.05, 1.05)
    ax.set_yticks([0, 0.5, 1])
    ax.tick_params(labelsize=6)
    call = scores.calls[i]
    ax.set_title(
        f"{table.ids[i]}  {length:,} bp: {int(scores.chunks_viral[i])} of "
        f"{int(scores.chunks_scored[i])} scored chunks viral ({int(table.n_chunks[i])} chunks)"
        f" -> {call}",
        fontsize=7,
        loc="left",
        color=COLOURS[call],
        pad=2,
    )


def _plot_calls_by_length(ax, scores: SampleScores, calls: np.ndarray) -> None:
    """Share of each call per sequence-length bin (for read sets, where tracks say nothing)."""
    lengths = scores.table.lengths
    edges = np.unique(np.quantile(lengths, np.linspace(0, 1, 11)).round())
    if len(edges) < 2:
        edges = np.array([lengths.min(), lengths.max() + 1])
    edges[-1] = lengths.max() + 1  # bins are [a, b): the longest sequence falls in the last
    which = np.clip(np.searchsorted(edges, lengths, side="right") - 1, 0, len(edges) - 2)
    totals = np.bincount(which, minlength=len(edges) - 1)
    bottom = np.zeros(len(edges) - 1)
    labels = [f"{int(a)}-{int(b) - 1}" for a, b in itertools.pairwise(edges)]
    if lengths.min() == lengths.max():
        labels = [f"{int(lengths[0])}"]
    x = np.arange(len(labels))
    for call in CALLS:
        counts = np.bincount(which[calls == call], minlength=len(edges) - 1)
        share = np.divide(counts, totals, out=np.zeros(len(counts)), where=totals > 0)
        ax.bar(x, share, bottom=bottom, color=COLOURS[call], label=call, width=0.85)
        bottom += share
    ax.set_xticks(x, labels, rotation=30, fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_xlabel("sequence length (bp), bins of about equal counts")
    ax.set_ylabel("share of sequences")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.set_title(
        f"calls by length (the longest sequence has under {MIN_TRACK_CHUNKS} chunks: "
        "no score tracks)",
        fontsize=9,
        loc="left",
    )


def plot_scores(
    scores: SampleScores, output: str | os.PathLike[str], tracks: int, title: str = ""
) -> None:
    """Left: per-sequence max viral score by call; right: tracks along the ``tracks`` longest
    sequences (``predict.plot_tracks``).

    When even the longest sequence has fewer than ``MIN_TRACK_CHUNKS`` chunks (reads), the
    right panel shows the calls by length instead. Cost: O(sequences) plus the chunks of
    the ``tracks`` longest sequences.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = scores.table
    n = len(table.ids)
    calls = np.asarray(scores.calls)
    longest = np.argsort(-table.lengths, kind="stable")[: max(tracks, 1)]
    show_tracks = int(table.n_chunks[longest[0]]) >= MIN_TRACK_CHUNKS
    rows = len(longest) if show_tracks else 1
    fig = plt.figure(figsize=(13, max(4.5, 1.4 + 0.85 * rows)), layout="constrained")
    grid = fig.add_gridspec(rows, 2, width_ratios=(4.5, 8.5))
    _plot_distribution(fig.add_subplot(grid[:, 0]), scores, calls)
    if show_tracks:
        axes = [fig.add_subplot(grid[row, 1]) for row in range(rows)]
        for ax, i in zip(axes, longest, strict=True):
            _plot_track(ax, scores, int(i))
        axes[-1].set_xlabel("position (kb); grey bars: chunks with no coding frame")
        panels = (
            f"right: score tracks for the {rows} longest of {n:,} sequences, best viral score "
            "per chunk (red: viral chunk, blue: non-viral; max per pixel column on long tracks); "
            "shaded: viral regions"
        )
    else:
        _plot_calls_by_length(fig.add_subplot(grid[0, 1]), scores, calls)
        panels = f"right: calls by sequence length, {n:,} sequences"
    n_viral = int((calls == VIRAL).sum())
    viral_bp = int(table.lengths[calls == VIRAL].sum())
    heading = (
        f"{n_viral:,} of {n:,} sequences called viral "
        f"({viral_bp:,} of {int(table.lengths.sum()):,} bp), "
        f"{int((calls == PROVIRUS).sum()):,} holding a provirus"
    )
    fig.suptitle(
        (f"{title}: {heading}" if title else heading)
        + f"\nleft: per-sequence max viral score by call; {panels}",
        fontsize=10,
    )
    with atomic_path(output) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
