"""Prediction for one sample: frame scores streamed block by block, chunk and sequence calls.

Outputs (see :func:`predict_sample`):

* ``predictions.tsv``: the original's file, byte for byte: ``Sequence_ID, Prediction,
  score1, score2`` (score1 = non-viral "others", score2 = "virus"; numpy float32 printing),
  one row per kept frame, in shard order;
* ``per_chunk.tsv``: every chunk of every input sequence with its 1-based span, the number
  of kept frames, its best viral and non-viral scores and the original's call
  (``calls.chunk_is_viral``: best viral >= best non-viral), ``no coding frame`` when no
  frame of the chunk was kept;
* ``per_sequence.tsv``: every input sequence with chunk counts, viral fractions over all and
  over scored chunks, max/mean viral score and a call (``calls.sequence_call``);
* ``viral.fna``: the input records called viral, streamed from the sample's FASTA;
* ``regions.tsv`` and ``viral_regions.fna``: viral regions along each sequence
  (``.regions``), as its call allows them (``regions.regions_for_calls``: a sequence called
  viral is one whole region, any other keeps only its proviruses); a sequence not called
  viral that holds a provirus is called ``provirus`` in ``per_sequence.tsv`` (column
  ``regions``: regions per sequence);
* the returned :class:`SampleScores` is what ``report.scores_plot`` draws ``scores.png`` from.

Memory grows with neither the number nor the size of the shards: features are read one
block of rows at a time (``.features.PairedFeatures``), frame rows are written as they are
scored, and what is kept is a few numbers per chunk in numpy arrays (about 12 bytes per
chunk) plus the sequence table.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..errors import InputError, ModelMismatchError
from ..formats.predictions import (
    PER_CHUNK,
    PER_SEQUENCE,
    PREDICTIONS,
    SCORE_DECIMALS,
    ChunkScore,
    SequenceCall,
)
from ..formats.regions import REGIONS
from ..formats.sequences import SEQUENCES
from ..io.atomic import atomic_open
from ..io.fasta import format_record, read_nucleotide_fasta
from ..preprocess.chunking import chunk_count, chunk_of, chunk_spans, split_chunk_id
from .calls import CALLS as CALLS  # re-exported: callers import the call names from here too
from .calls import (
    NO_CODING_FRAME,
    NONVIRAL,
    VIRAL,
    CallThresholds,
    chunk_is_viral,
    region_call,
    sequence_call,
)
from .calls import PROVIRUS as PROVIRUS
from .calls import TOO_FEW_SCORED as TOO_FEW_SCORED
from .features import BLOCK_ROWS, PairedFeatures
from .mlp import CheckpointIdentity, MLPClassifier, load_checkpoint, predict_scores
from .region_files import RegionFasta, sample_region_rows, sample_regions
from .region_model import ChunkRegions, RegionModel, regions_for_calls

log = logging.getLogger(__name__)


FRAME_SUFFIXES = frozenset(("F1", "F2", "F3", "R1", "R2", "R3"))


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
    """Read ``sequences.tsv`` (``formats.sequences``) into arrays, checking chunk counts.

    A table whose chunk counts disagree with ``chunk_length`` was made for another chunk
    length: refusing it keeps chunk spans honest.
    """
    ids: list[str] = []
    lengths: list[int] = []
    counts: list[int] = []
    kept: int | None = 0
    for row in SEQUENCES.read(path):
        if row.n_kept_frames is None:  # a table older than the column
            kept = None
        elif kept is not None:
            kept += row.n_kept_frames
        length, n = row.length_bp, row.n_chunks
        if n != chunk_count(length, chunk_length) or n < 1:
            raise ModelMismatchError(
                f"{path}: {row.sequence_id} ({length} bp) has {n} chunks, but "
                f"{chunk_length}-bp chunking gives {chunk_count(length, chunk_length)}; "
                "the table was made for another chunk length"
            )
        ids.append(row.sequence_id)
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
    regions: ChunkRegions | None = None  # viral regions (set by add_regions())

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
        return self.chunk_scored & chunk_is_viral(self.best_viral, self.best_nonviral)

    def finish(self, thresholds: CallThresholds) -> SampleScores:
        """Per-sequence counts, scores and calls from the chunk arrays."""
        starts = self.table.offsets[:-1]
        scored = self.chunk_scored
        self.chunks_scored = np.add.reduceat(scored.astype(np.int64), starts)
        self.chunks_viral = np.add.reduceat(self.chunk_viral.astype(np.int64), starts)
        printed = self.printed_viral
        self.max_viral = np.fmax.reduceat(np.where(scored, printed, np.nan), starts)
        sums = np.add.reduceat(np.where(scored, printed, 0.0), starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.mean_viral = np.where(self.chunks_scored > 0, sums / self.chunks_scored, np.nan)
        self.calls = [
            sequence_call(c, s, v, thresholds)
            for c, s, v in zip(
                self.table.n_chunks.tolist(),
                self.chunks_scored.tolist(),
                self.chunks_viral.tolist(),
                strict=True,
            )
        ]
        return self

    @property
    def printed_viral(self) -> np.ndarray:
        """Best viral score of each chunk as ``per_chunk.tsv`` prints it (6 decimals), float64.

        Every mean (``per_sequence.tsv``, ``regions.tsv``) is over these, so each table can be
        recomputed from ``per_chunk.tsv`` to the last digit (``virnucpro-smk regions`` does).
        Exact: a float32 times 1e6 is exact in float64, so ``rint`` rounds the value the way
        ``f"{x:.6f}"`` does, and the quotient is the double that parsing the text gives.
        """
        return np.round(self.best_viral.astype(np.float64), SCORE_DECIMALS)

    def add_regions(self, model: RegionModel) -> SampleScores:
        """Viral regions (after finish()) as the calls allow them (``regions_for_calls``:
        a ``viral`` sequence is one whole region, others keep their proviruses), then the
        calls of sequences holding a provirus upgraded (``calls.region_call``)."""
        decoded = sample_regions(self, model)
        self.regions = regions_for_calls(decoded, self.calls, self.table.n_chunks)
        for i in np.unique(self.regions.sequence[~self.regions.whole]).tolist():
            self.calls[i] = region_call(self.calls[i], [PROVIRUS], VIRAL)
        return self

    def region_counts(self) -> np.ndarray:
        if self.regions is None:
            return np.zeros(len(self.table.ids), dtype=np.int64)
        return self.regions.counts(len(self.table.ids))

    def viral_fraction_scored(self, i: int) -> float:
        return (
            float(self.chunks_viral[i] / self.chunks_scored[i]) if self.chunks_scored[i] else np.nan
        )


# --------------------------------------------------------------------------- writers


def prediction_columns(
    frame_ids: Sequence[str], scores: np.ndarray
) -> tuple[Sequence[str], list[str], np.ndarray, np.ndarray]:
    """The columns of the original's ``prediction_results.txt`` for a block of frames
    (``formats.predictions.PREDICTIONS``): ids, calls by the original's ``>`` rule (a tie is
    ``others``), the non-viral and the viral float32 scores, which the table prints as the
    original did. Columns, not rows: a sample has 10M frames."""
    scores = np.asarray(scores, dtype=np.float32)
    others, virus = scores[:, 0], scores[:, 1]
    return frame_ids, np.where(virus > others, "virus", "others").tolist(), others, virus


def _finite(value: float) -> float | None:
    """A score, or None (written ``NA``) when there is none (NaN, or -inf: never scored)."""
    value = float(value)
    return value if math.isfinite(value) else None


def chunk_cells(
    scores: SampleScores,
) -> Iterator[tuple[int, str, int, int, float | None, float | None, str]]:
    """Every chunk in table order: (sequence index, sequence id, chunk number (1-based), kept
    frames, best viral, best non-viral, call); scores None and ``no coding frame`` when the
    chunk kept no frame. ``per_chunk.tsv`` and the comparison's ``heldout_chunks.tsv`` are
    both written from this."""
    table, viral = scores.table, scores.chunk_viral
    for i, sid in enumerate(table.ids):
        base = int(table.offsets[i])
        for k in range(int(table.n_chunks[i])):
            row = base + k
            frames = int(scores.frames[row])
            if frames:
                call = VIRAL if viral[row] else NONVIRAL
                best_v = _finite(scores.best_viral[row])
                best_o = _finite(scores.best_nonviral[row])
            else:
                call, best_v, best_o = NO_CODING_FRAME, None, None
            yield i, sid, k + 1, frames, best_v, best_o, call


def chunk_rows(scores: SampleScores) -> Iterator[ChunkScore]:
    """``per_chunk.tsv``: every chunk of every sequence, 1-based inclusive spans as the
    chunker cut them."""
    table = scores.table
    spans: list[tuple[int, int]] = []
    current = -1
    for i, sid, k, frames, best_v, best_o, call in chunk_cells(scores):
        if i != current:
            current, spans = i, chunk_spans(int(table.lengths[i]), scores.chunk_length)
        start, end = spans[k - 1]
        yield ChunkScore(sid, k, start + 1, end, frames, best_v, best_o, call)


def sequence_rows(scores: SampleScores) -> Iterator[SequenceCall]:
    """``per_sequence.tsv``: every sequence's counts, fractions, scores, call and regions."""
    table = scores.table
    n_regions = scores.region_counts()
    for i, sid in enumerate(table.ids):
        chunks, scored = int(table.n_chunks[i]), int(scores.chunks_scored[i])
        viral = int(scores.chunks_viral[i])
        yield SequenceCall(
            sid,
            int(table.lengths[i]),
            chunks,
            scored,
            viral,
            viral / chunks if chunks else None,
            viral / scored if scored else None,
            _finite(scores.max_viral[i]),
            _finite(scores.mean_viral[i]),
            scores.calls[i],
            int(n_regions[i]),
        )


def write_sequence_fastas(
    scores: SampleScores,
    fasta: str | os.PathLike[str],
    viral_output: str | os.PathLike[str],
    region_output: str | os.PathLike[str] | None = None,
) -> int:
    """One pass over the input FASTA writes ``viral.fna`` (the records called viral) and,
    when asked, ``viral_regions.fna`` (each region's bases), both in 60-column lines.

    A metagenome's FASTA is read once, not once per file, and only as far as the last record
    either file needs. Returns the number of viral records written.
    """
    wanted = {sid: i for sid, i in scores.table.index.items() if scores.calls[i] == VIRAL}
    regions = (
        RegionFasta(sample_region_rows(scores, scores.regions), fasta)
        if region_output is not None
        else None
    )
    written = 0
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(atomic_open(viral_output))
        region_out = stack.enter_context(atomic_open(region_output)) if regions else None
        if wanted or (regions and not regions.done):
            for record in read_nucleotide_fasta(fasta):
                i = wanted.pop(record.id, None)
                if i is not None:
                    header = (
                        f"{record.id} viral_fraction={scores.viral_fraction_scored(i):.4f} "
                        f"max_score={scores.max_viral[i]:.6f}"
                    )
                    out.write(format_record(header, record.seq, width=60))
                    written += 1
                if regions:
                    regions.add(record, region_out)
                if not wanted and (regions is None or regions.done):
                    break
        if wanted:
            missing = ", ".join(list(wanted)[:10])
            raise InputError(
                f"{fasta}: lacks {len(wanted)} sequence(s) of the sample's sequences.tsv "
                f"called viral ({missing}); is it the sample's input FASTA?"
            )
        if regions:
            regions.finish()
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
    """Load the classifier for the features' identity (once: a later call must match it)."""
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


@dataclass(frozen=True)
class PredictionFiles:
    """The four tables and FASTA :func:`predict_sample` writes, as the rule names them."""

    predictions: str | os.PathLike[str]
    per_chunk: str | os.PathLike[str]
    per_sequence: str | os.PathLike[str]
    viral_fasta: str | os.PathLike[str]
    regions: str | os.PathLike[str] | None = None
    region_fasta: str | os.PathLike[str] | None = None


@dataclass(frozen=True)
class FeatureFiles:
    """A frame set's embedding files of one model pair: what every scorer of a frame set
    reads (predict, and the comparison's held-out fragments). Each side lists its model's
    files in frame order and holds every kept frame once; the two sides may be cut at
    different rows (each model's jobs are sized by its own cost)."""

    dna: Sequence[str | os.PathLike[str]]
    protein: Sequence[str | os.PathLike[str]]
    dna_model: str
    protein_model: str
    chunk_length: int

    @classmethod
    def of_job(cls, inputs: Any, wildcards: Any) -> FeatureFiles:
        """A scoring job's files: its ``dna`` and ``protein`` inputs, and the model pair and
        chunk length its wildcards name (rules predict_sample and score_heldout)."""
        return cls(
            list(inputs.dna),
            list(inputs.protein),
            wildcards.dna_model,
            wildcards.protein_model,
            int(wildcards.L),
        )

    @property
    def label(self) -> str:
        """How messages name the files: ``2 dnaberts_768d + 8 fastesm650_1280d file(s)``."""
        return (
            f"{len(self.dna)} {self.dna_model} + {len(self.protein)} {self.protein_model} file(s)"
        )

    def blocks(
        self, block_rows: int = BLOCK_ROWS
    ) -> Iterator[tuple[str, dict, list[str], torch.Tensor]]:
        """``(where, identity metadata, frame ids, [DNA | protein] rows)`` block by block, in
        frame order over all files. The DNA and the protein files are joined row by row
        (``.features.PairedFeatures``, ids checked). The first item holds no rows: it names
        the identity before any row is read, also for an empty set."""
        if not self.dna or not self.protein:
            raise ModelMismatchError("no feature shards given")
        n_frames = 0
        with PairedFeatures(
            self.dna, self.protein, self.dna_model, self.protein_model, self.chunk_length
        ) as f:
            yield self.label, f.meta, [], torch.empty((0, int(f.meta["width"])))
            for ids, x in f.blocks(block_rows):
                n_frames += len(ids)
                yield f.where, f.meta, ids, x
        log.info("%s: %d frames scored", self.label, n_frames)


def check_frame_count(
    table: SequenceTable, n_frames: int, where: str, sequences_tsv: str | os.PathLike[str]
) -> None:
    """The files must hold exactly the frames preprocessing kept (``sequences.tsv``)."""
    kept = table.kept_frames
    if kept is not None and n_frames != kept:
        raise InputError(
            f"{where} hold {n_frames} frames but {sequences_tsv} counts {kept} "
            "kept frames: the embeddings come from another preprocessing run (rerun without "
            "--rerun-triggers mtime, or delete the sample's embeddings)"
        )


def predict_sample(
    features: FeatureFiles,
    checkpoint: str | os.PathLike[str],
    sequences_tsv: str | os.PathLike[str],
    fasta: str | os.PathLike[str],
    outputs: PredictionFiles,
    thresholds: CallThresholds,
    region_model: RegionModel,
    *,
    block_rows: int = BLOCK_ROWS,
) -> SampleScores:
    """Score a sample block by block and write its four tables and FASTA.

    ``features`` are the sample's DNA and protein files (rows joined across them with ids
    checked row by row); every file must carry its side's first file's identity (model,
    revision, weight commit, dtype, chunk length); the classifier is loaded once, against that
    identity. Sequences are called by ``thresholds`` and their regions decoded by
    ``region_model`` (the run's ``predict:`` settings). Features are read ``block_rows`` rows
    at a time and ``predictions.tsv`` rows are written as they are scored, so memory depends
    on neither the number nor the size of the files; what grows is ~12 bytes per chunk and
    the sequence table.
    """
    table = read_sequence_table(sequences_tsv, features.chunk_length)
    scores = SampleScores.empty(table, features.chunk_length)
    state: dict = {}
    n_frames = 0
    with PREDICTIONS.writer(outputs.predictions) as write:
        for block_where, meta, ids, x in features.blocks(block_rows):
            model = _classifier_for(meta, state, checkpoint, block_where)
            block_scores = predict_scores(model, x).numpy()
            del x  # before the next block is read
            scores.add(ids, block_scores, block_where)
            write.columns(*prediction_columns(ids, block_scores))
            n_frames += len(ids)
    check_frame_count(table, n_frames, features.label, sequences_tsv)
    scores.finish(thresholds)
    scores.add_regions(region_model)
    PER_CHUNK.write(outputs.per_chunk, chunk_rows(scores))
    PER_SEQUENCE.write(outputs.per_sequence, sequence_rows(scores))
    n_viral = write_sequence_fastas(scores, fasta, outputs.viral_fasta, outputs.region_fasta)
    if outputs.regions is not None:
        REGIONS.write(outputs.regions, sample_region_rows(scores, scores.regions))
    log.info(
        "%d frames, %d chunks, %d sequences, %d called viral, %d viral regions "
        "(internal ones need >= %d viral-called chunks in a row; classifier %s, created %s)",
        n_frames,
        table.total_chunks,
        len(table.ids),
        n_viral,
        len(scores.regions),
        region_model.min_region_scored_chunks,
        checkpoint,
        state["checkpoint_meta"].get("created"),
    )
    return scores
