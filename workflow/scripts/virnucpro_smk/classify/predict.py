"""Prediction for one sample: frame scores streamed shard by shard, chunk and sequence calls.

Outputs (see :func:`predict_sample`):

* ``predictions.tsv``: the original's file, byte for byte: ``Sequence_ID, Prediction,
  score1, score2`` (score1 = non-viral "others", score2 = "virus"; numpy float32 printing),
  one row per kept frame, in shard order;
* ``per_chunk.tsv``: every chunk of every input sequence with its 1-based span, the number
  of kept frames, its best viral and non-viral scores and the original's call (viral when
  the best viral score >= the best non-viral score), ``no coding frame`` when no frame of
  the chunk was kept;
* ``per_sequence.tsv``: every input sequence with chunk counts, viral fractions over all and
  over scored chunks, max/mean viral score and a call (:func:`sequence_call`);
* ``viral.fna``: the input records called viral, streamed from the sample's FASTA;
* ``scores.png``: the per-sequence score distribution and score tracks along the longest
  sequences (:func:`plot_scores`).

Memory grows with neither the number nor the size of the shards: features are read one
block of rows at a time (``features.FeatureBlocks``), frame rows are written as they are
scored, and what is kept is a few numbers per chunk in numpy arrays (about 12 bytes per
chunk) plus the sequence table.
"""

from __future__ import annotations

import csv
import itertools
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, ModelMismatchError
from ..io.atomic import atomic_open, atomic_path
from ..io.fasta import format_record, read_nucleotide_fasta
from ..preprocess.chunking import chunk_count, chunk_of, chunk_spans, split_chunk_id
from .features import BLOCK_ROWS, FeatureBlocks
from .mlp import CheckpointIdentity, MLPClassifier, load_checkpoint, predict_scores

log = logging.getLogger(__name__)

VIRAL = "viral"
NONVIRAL = "nonviral"
NO_CODING_FRAME = "no coding frame"
TOO_FEW_SCORED = "too few scored chunks"
CALLS = (VIRAL, NONVIRAL, TOO_FEW_SCORED, NO_CODING_FRAME)
COLOURS = {
    VIRAL: "#c0392b",
    NONVIRAL: "#2c7fb8",
    TOO_FEW_SCORED: "#e69f00",
    NO_CODING_FRAME: "#999999",
}

PREDICTIONS_HEADER = "Sequence_ID\tPrediction\tscore1\tscore2\n"
PER_CHUNK_HEADER = (
    "sequence_id\tchunk\tstart\tend\tframes_kept\tbest_viral_score\tbest_nonviral_score\tcall\n"
)
PER_SEQUENCE_HEADER = (
    "sequence_id\tlength_bp\tchunks\tchunks_scored\tchunks_viral\tviral_fraction_all\t"
    "viral_fraction_scored\tmax_viral_score\tmean_viral_score\tcall\n"
)
FRAME_SUFFIXES = frozenset(("F1", "F2", "F3", "R1", "R2", "R3"))
_ROWS_PER_WRITE = 65536  # per_chunk.tsv lines joined per write


# --------------------------------------------------------------------------- sequence table


@dataclass
class SequenceTable:
    """``sequences.tsv`` of a sample, with each sequence's first row in the chunk arrays."""

    ids: list[str]
    lengths: np.ndarray  # int64, bp
    n_chunks: np.ndarray  # int64
    offsets: np.ndarray  # int64, len(ids) + 1: chunks of sequence i are offsets[i]:offsets[i+1]
    index: dict[str, int]
    kept_frames: int | None = None  # preprocessing's count (None: table without the column)

    @property
    def total_chunks(self) -> int:
        return int(self.offsets[-1])


def read_sequence_table(path: str | os.PathLike[str], chunk_length: int) -> SequenceTable:
    """Read ``sequences.tsv`` (sequence_id, length_bp, n_chunks, ...), checking chunk counts.

    A table whose chunk counts disagree with ``chunk_length`` was made for another chunk
    length: refusing it keeps chunk spans honest.
    """
    ids: list[str] = []
    lengths: list[int] = []
    counts: list[int] = []
    kept: int | None = None
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = {"sequence_id", "length_bp", "n_chunks"} - set(reader.fieldnames or ())
        if missing:
            raise InputError(f"{path}: lacks column(s) {', '.join(sorted(missing))}")
        if "n_kept_frames" in (reader.fieldnames or ()):
            kept = 0
        for row in reader:
            if kept is not None:
                kept += int(row["n_kept_frames"])
            length, n = int(row["length_bp"]), int(row["n_chunks"])
            if n != chunk_count(length, chunk_length) or n < 1:
                raise ModelMismatchError(
                    f"{path}: {row['sequence_id']} ({length} bp) has {n} chunks, but "
                    f"{chunk_length}-bp chunking gives {chunk_count(length, chunk_length)}; "
                    "the table was made for another chunk length"
                )
            ids.append(row["sequence_id"])
            lengths.append(length)
            counts.append(n)
    if not ids:
        raise InputError(f"{path}: no sequences")
    index = {sid: i for i, sid in enumerate(ids)}
    if len(index) != len(ids):
        raise InputError(f"{path}: duplicate sequence ids")
    n_chunks = np.asarray(counts, dtype=np.int64)
    offsets = np.zeros(len(ids) + 1, dtype=np.int64)
    np.cumsum(n_chunks, out=offsets[1:])
    return SequenceTable(ids, np.asarray(lengths, dtype=np.int64), n_chunks, offsets, index, kept)


# --------------------------------------------------------------------------- aggregation


def sequence_call(
    chunks: int,
    scored: int,
    viral: int,
    min_viral_fraction: float = 0.5,
    min_scored_fraction: float = 0.15,
) -> str:
    """Per-sequence call from its chunk counts.

    ``viral`` when at least ``min_viral_fraction`` of the *scored* chunks are viral and at
    least ``min_scored_fraction`` of all chunks were scored; ``nonviral`` when enough chunks
    were scored but too few are viral; ``too few scored chunks`` when under
    ``min_scored_fraction`` of the chunks kept a frame (a 50-chunk contig is not called
    on one chunk); ``no coding frame`` when none did. Unscored chunks are not counted as
    non-viral: viral chunks lose frames more often than host chunks (300 bp: 35 % of
    dvf_virus_val chunks keep no frame vs 27 % of dvf_host_val; 500 bp: 53 % vs 44 %).
    """
    if scored == 0:
        return NO_CODING_FRAME
    if scored < min_scored_fraction * chunks - 1e-9:
        return TOO_FEW_SCORED
    return VIRAL if viral >= min_viral_fraction * scored - 1e-9 else NONVIRAL


@dataclass
class SampleScores:
    """Per-chunk aggregates of a sample (arrays indexed like ``table.offsets``) and calls."""

    table: SequenceTable
    chunk_length: int
    frames: np.ndarray  # int32 per chunk: kept frames scored
    best_viral: np.ndarray  # float32 per chunk (-inf when unscored)
    best_nonviral: np.ndarray  # float32 per chunk (-inf when unscored)
    chunks_scored: np.ndarray | None = None  # int64 per sequence (set by finish())
    chunks_viral: np.ndarray | None = None
    max_viral: np.ndarray | None = None  # float per sequence (nan when unscored)
    mean_viral: np.ndarray | None = None
    calls: list[str] | None = None

    @classmethod
    def empty(cls, table: SequenceTable, chunk_length: int) -> SampleScores:
        n = table.total_chunks
        return cls(
            table,
            chunk_length,
            np.zeros(n, dtype=np.int32),
            np.full(n, -np.inf, dtype=np.float32),
            np.full(n, -np.inf, dtype=np.float32),
        )

    def chunk_rows(self, frame_ids: list[str], where: str) -> np.ndarray:
        """Row of each frame's chunk; refuses frames of chunks not in the sequence table."""
        index, offsets, n_chunks = self.table.index, self.table.offsets, self.table.n_chunks
        rows = np.empty(len(frame_ids), dtype=np.int64)
        last_chunk, last_row = None, -1
        for k, fid in enumerate(frame_ids):
            chunk = chunk_of(fid)
            if chunk != last_chunk:
                seq, number = split_chunk_id(chunk)
                i = index.get(seq)
                if i is None or not number.isdigit() or not 1 <= int(number) <= n_chunks[i]:
                    raise ModelMismatchError(
                        f"{where}: frame {fid!r} is not a frame of any chunk in the sample's "
                        "sequences.tsv; features of another sample or chunk length?"
                    )
                last_chunk, last_row = chunk, int(offsets[i]) + int(number) - 1
            if fid[-2:] not in FRAME_SUFFIXES:
                raise ModelMismatchError(f"{where}: {fid!r} does not end in a frame (F1-R3)")
            rows[k] = last_row
        return rows

    def add(self, frame_ids: list[str], scores: np.ndarray, where: str) -> None:
        """Fold one shard's frame scores [N, 2] (others, virus) into the chunk maxima."""
        rows = self.chunk_rows(frame_ids, where)
        np.maximum.at(self.best_nonviral, rows, scores[:, 0])
        np.maximum.at(self.best_viral, rows, scores[:, 1])
        np.add.at(self.frames, rows, 1)

    @property
    def chunk_scored(self) -> np.ndarray:
        return self.frames > 0

    @property
    def chunk_viral(self) -> np.ndarray:
        """The original's rule: best viral score >= best non-viral score (ties are viral)."""
        return self.chunk_scored & (self.best_viral >= self.best_nonviral)

    def finish(self, min_viral_fraction: float, min_scored_fraction: float) -> SampleScores:
        """Per-sequence counts, scores and calls from the chunk arrays."""
        starts = self.table.offsets[:-1]
        scored = self.chunk_scored
        self.chunks_scored = np.add.reduceat(scored.astype(np.int64), starts)
        self.chunks_viral = np.add.reduceat(self.chunk_viral.astype(np.int64), starts)
        viral_or_nan = np.where(scored, self.best_viral.astype(np.float64), np.nan)
        self.max_viral = np.fmax.reduceat(viral_or_nan, starts)
        sums = np.add.reduceat(np.where(scored, self.best_viral.astype(np.float64), 0.0), starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.mean_viral = np.where(self.chunks_scored > 0, sums / self.chunks_scored, np.nan)
        self.calls = [
            sequence_call(c, s, v, min_viral_fraction, min_scored_fraction)
            for c, s, v in zip(
                self.table.n_chunks.tolist(),
                self.chunks_scored.tolist(),
                self.chunks_viral.tolist(),
                strict=True,
            )
        ]
        return self

    def viral_fraction_scored(self, i: int) -> float:
        return (
            float(self.chunks_viral[i] / self.chunks_scored[i]) if self.chunks_scored[i] else np.nan
        )


# --------------------------------------------------------------------------- writers


def format_prediction_rows(frame_ids: Sequence[str], scores: np.ndarray) -> str:
    """The original's ``prediction_results.txt`` rows (numpy float32 printing, ``>`` rule)."""
    scores = np.asarray(scores, dtype=np.float32)
    others, virus = scores[:, 0], scores[:, 1]
    calls = np.where(virus > others, "virus", "others").tolist()
    return "".join(
        f"{fid}\t{call}\t{o}\t{v}\n"
        for fid, call, o, v in zip(
            frame_ids, calls, others.astype(str).tolist(), virus.astype(str).tolist(), strict=True
        )
    )


def _score_text(value: float) -> str:
    return "NA" if not np.isfinite(value) else f"{value:.6f}"


def _fraction_text(num: int, den: int) -> str:
    return f"{num / den:.4f}" if den else "NA"


def write_per_chunk(scores: SampleScores, output: str | os.PathLike[str]) -> None:
    """Every chunk of every sequence, 1-based inclusive spans as the chunker cut them."""
    table, viral = scores.table, scores.chunk_viral
    with atomic_open(output) as out:
        out.write(PER_CHUNK_HEADER)
        lines: list[str] = []
        for i, sid in enumerate(table.ids):
            base = int(table.offsets[i])
            spans = chunk_spans(int(table.lengths[i]), scores.chunk_length)
            for k, (start, end) in enumerate(spans):
                row = base + k
                frames = int(scores.frames[row])
                if frames:
                    call = VIRAL if viral[row] else NONVIRAL
                    best_v, best_o = (
                        _score_text(scores.best_viral[row]),
                        _score_text(scores.best_nonviral[row]),
                    )
                else:
                    call, best_v, best_o = NO_CODING_FRAME, "NA", "NA"
                lines.append(
                    f"{sid}\t{k + 1}\t{start + 1}\t{end}\t{frames}\t{best_v}\t{best_o}\t{call}\n"
                )
            if len(lines) >= _ROWS_PER_WRITE:
                out.write("".join(lines))
                lines.clear()
        out.write("".join(lines))


def write_per_sequence(scores: SampleScores, output: str | os.PathLike[str]) -> None:
    table = scores.table
    with atomic_open(output) as out:
        out.write(PER_SEQUENCE_HEADER)
        for i, sid in enumerate(table.ids):
            chunks, scored = int(table.n_chunks[i]), int(scores.chunks_scored[i])
            viral = int(scores.chunks_viral[i])
            out.write(
                f"{sid}\t{table.lengths[i]}\t{chunks}\t{scored}\t{viral}\t"
                f"{_fraction_text(viral, chunks)}\t{_fraction_text(viral, scored)}\t"
                f"{_score_text(scores.max_viral[i])}\t{_score_text(scores.mean_viral[i])}\t"
                f"{scores.calls[i]}\n"
            )


def write_viral_fasta(
    scores: SampleScores, fasta: str | os.PathLike[str], output: str | os.PathLike[str]
) -> int:
    """Stream the input FASTA and copy the records called viral (60-column lines)."""
    wanted = {sid: i for sid, i in scores.table.index.items() if scores.calls[i] == VIRAL}
    written = 0
    with atomic_open(output) as out:
        if wanted:  # an all-non-viral sample does not need its input read again
            for record in read_nucleotide_fasta(fasta):
                i = wanted.pop(record.id, None)
                if i is None:
                    continue
                header = (
                    f"{record.id} viral_fraction={scores.viral_fraction_scored(i):.4f} "
                    f"max_score={scores.max_viral[i]:.6f}"
                )
                out.write(format_record(header, record.seq, width=60))
                written += 1
        if wanted:
            missing = ", ".join(list(wanted)[:10])
            raise InputError(
                f"{fasta}: lacks {len(wanted)} sequence(s) of the sample's sequences.tsv "
                f"called viral ({missing}); is it the sample's input FASTA?"
            )
    return written


# --------------------------------------------------------------------------- scoring


def _identity(meta: dict) -> tuple[CheckpointIdentity, str | None, str | None]:
    return (
        CheckpointIdentity.from_features(meta),
        meta.get("dna_commit"),
        meta.get("protein_commit"),
    )


def _classifier_for(
    meta: dict, state: dict, checkpoint: str | os.PathLike[str], where: str
) -> MLPClassifier:
    """Load the classifier for the first shard's identity; later shards must match it."""
    identity = _identity(meta)
    if "identity" not in state:
        model, ckpt_meta = load_checkpoint(checkpoint, expect=identity[0])
        state.update(identity=identity, model=model, checkpoint_meta=ckpt_meta)
    elif identity != state["identity"]:
        raise ModelMismatchError(
            f"{where}: features of {identity}, but the sample's first shard holds "
            f"{state['identity']}"
        )
    return state["model"]


def predict_sample(
    dna_shards: Sequence[str | os.PathLike[str]],
    protein_shards: Sequence[str | os.PathLike[str]],
    checkpoint: str | os.PathLike[str],
    sequences_tsv: str | os.PathLike[str],
    fasta: str | os.PathLike[str],
    chunk_length: int,
    dna_model: str,
    protein_model: str,
    *,
    predictions: str | os.PathLike[str],
    per_chunk: str | os.PathLike[str],
    per_sequence: str | os.PathLike[str],
    viral_fasta: str | os.PathLike[str],
    plot: str | os.PathLike[str] | None = None,
    min_viral_fraction: float = 0.5,
    min_scored_fraction: float = 0.15,
    plot_tracks: int = 8,
    title: str = "",
    block_rows: int = BLOCK_ROWS,
) -> SampleScores:
    """Score a sample shard by shard, block by block, and write its five outputs.

    ``dna_shards[i]`` and ``protein_shards[i]`` hold the same frames (checked). The
    classifier is loaded once, against the first shard's identity; every later shard must
    carry the same identity (models, widths, revisions, weight commits, chunk length).
    Features are read ``block_rows`` rows at a time and ``predictions.tsv`` rows are
    written as they are scored, so memory depends on neither the number nor the size of
    the shards; what grows is ~12 bytes per chunk and the sequence table.
    """
    if len(dna_shards) != len(protein_shards):
        raise InputError(
            f"{len(dna_shards)} DNA shard(s) but {len(protein_shards)} protein shard(s)"
        )
    if not dna_shards:
        raise ModelMismatchError("no feature shards given")
    table = read_sequence_table(sequences_tsv, chunk_length)
    scores = SampleScores.empty(table, chunk_length)
    state: dict = {}
    n_frames = 0
    with atomic_open(predictions) as out:
        out.write(PREDICTIONS_HEADER)
        for dna_path, protein_path in zip(dna_shards, protein_shards, strict=True):
            where = f"{dna_path} + {protein_path}"
            with FeatureBlocks(
                dna_path, protein_path, dna_model, protein_model, chunk_length
            ) as shard:
                model = _classifier_for(shard.meta, state, checkpoint, where)
                for ids, x in shard.blocks(block_rows):
                    block_scores = predict_scores(model, x).numpy()
                    del x  # before the next block is read
                    scores.add(ids, block_scores, where)
                    out.write(format_prediction_rows(ids, block_scores))
                    n_frames += len(ids)
            log.info("%s: %d frames scored (%d so far)", where, len(shard.ids), n_frames)
    kept = table.kept_frames
    if kept is not None and n_frames != kept:
        raise InputError(
            f"{len(dna_shards)} shard(s) hold {n_frames} frames but {sequences_tsv} counts {kept} "
            "kept frames: the embeddings come from another preprocessing run (rerun without "
            "--rerun-triggers mtime, or delete the sample's embeddings)"
        )
    scores.finish(min_viral_fraction, min_scored_fraction)
    write_per_chunk(scores, per_chunk)
    write_per_sequence(scores, per_sequence)
    n_viral = write_viral_fasta(scores, fasta, viral_fasta)
    log.info(
        "%d frames, %d chunks, %d sequences, %d called viral (classifier %s, created %s)",
        n_frames,
        table.total_chunks,
        len(table.ids),
        n_viral,
        checkpoint,
        state["checkpoint_meta"].get("created"),
    )
    if plot:
        plot_scores(scores, plot, tracks=plot_tracks, title=title)
    return scores


# --------------------------------------------------------------------------- picture

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
    for call in (VIRAL, NONVIRAL, TOO_FEW_SCORED):
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


def _plot_track(ax, scores: SampleScores, i: int) -> None:
    """Best viral score of each chunk of sequence ``i`` over its span (x in kb)."""
    from matplotlib.collections import LineCollection

    table = scores.table
    base, length = int(table.offsets[i]), int(table.lengths[i])
    viral, scored = scores.chunk_viral, scores.chunk_scored
    segments, colours, gaps = [], [], []
    for k, (start, end) in enumerate(chunk_spans(length, scores.chunk_length)):
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
    scores: SampleScores, output: str | os.PathLike[str], tracks: int = 8, title: str = ""
) -> None:
    """Left: per-sequence max viral score by call; right: tracks along the longest sequences.

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
            "per chunk (red: viral chunk, blue: non-viral)"
        )
    else:
        _plot_calls_by_length(fig.add_subplot(grid[0, 1]), scores, calls)
        panels = f"right: calls by sequence length, {n:,} sequences"
    n_viral = int((calls == VIRAL).sum())
    viral_bp = int(table.lengths[calls == VIRAL].sum())
    heading = (
        f"{n_viral:,} of {n:,} sequences called viral "
        f"({viral_bp:,} of {int(table.lengths.sum()):,} bp)"
    )
    fig.suptitle(
        (f"{title}: {heading}" if title else heading)
        + f"\nleft: per-sequence max viral score by call; {panels}",
        fontsize=10,
    )
    with atomic_path(output) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
