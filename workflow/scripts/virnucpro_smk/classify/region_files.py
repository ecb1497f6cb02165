"""Region caller at the edges: tracks from predict or from a ``per_chunk.tsv``; region files.

``regions.tsv`` and ``viral_regions.fna`` are written by predict for every sample and model
pair, and by ``virnucpro-smk regions`` from any ``per_chunk.tsv``. Both go through
``io.atomic``; the FASTA is streamed from the input, one record at a time.
"""

from __future__ import annotations

import math
import os
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..formats.predictions import PER_CHUNK
from ..formats.regions import REGIONS, RegionRow
from ..formats.sequences import SEQUENCE_LENGTHS
from ..io.fasta import format_record
from ..preprocess.chunking import chunk_spans
from .calls import CallThresholds, sequence_call
from .region_model import (
    HOST_CALL,
    UNSCORED,
    VIRAL_CALL,
    ChunkRegions,
    RegionModel,
    call_regions,
    region_rows,
    regions_for_calls,
)

_CALL_CODES = {"viral": VIRAL_CALL, "nonviral": HOST_CALL, "no coding frame": UNSCORED}


def sample_track(scores) -> np.ndarray:
    """Per-chunk call codes of a predicted sample (a finished ``predict.SampleScores``)."""
    return np.where(scores.chunk_scored, scores.chunk_viral.astype(np.int8), UNSCORED).astype(
        np.int8
    )


def sample_regions(scores, model: RegionModel) -> ChunkRegions:
    """Regions of a predicted sample, as chunk indices (~25 bytes a region)."""
    return call_regions(sample_track(scores), scores.table.offsets, model)


def sample_region_rows(scores, regions: ChunkRegions) -> Iterator[RegionRow]:
    """``regions.tsv`` rows of a sample's regions, one at a time, in sequence order."""
    table = scores.table

    def span_bp(seq: int, first: int, last: int) -> tuple[int, int]:
        length = int(table.lengths[seq])
        spans = chunk_spans(length, scores.chunk_length)
        return spans[first][0] + 1, spans[last][1]

    return region_rows(
        regions, table.ids, table.offsets, span_bp, sample_track(scores), scores.printed_viral
    )


def region_header(row: RegionRow) -> str:
    """FASTA header of a region: ``<id>:<start>-<end>`` then the kind and source sequence."""
    return (
        f"{row.sequence_id}:{row.start}-{row.end} kind={row.kind} sequence={row.sequence_id} "
        f"start={row.start} end={row.end} length_bp={row.length_bp}"
    )


class RegionFasta:
    """Writes each region's bases (60-column lines) as the input FASTA's records stream past.

    ``rows`` come in the FASTA's record order (predict's sequence table is the FASTA's
    order), so records and rows are walked side by side and nothing is held but one record;
    ``predict.write_sequence_fastas`` feeds it from the same pass that writes ``viral.fna``.
    """

    def __init__(self, rows: Iterable[RegionRow], fasta: str | os.PathLike[str]):
        self._pending = iter(rows)
        self._row = next(self._pending, None)
        self._fasta = fasta
        self.written = 0

    @property
    def done(self) -> bool:
        return self._row is None

    def add(self, record, out) -> None:
        """Write the regions of ``record`` (a FASTA record with ``id`` and ``seq``) to ``out``."""
        row = self._row
        while row is not None and row.sequence_id == record.id:
            if row.end > len(record.seq):
                raise InputError(
                    f"{self._fasta}: {record.id} is {len(record.seq)} bp but a region ends at "
                    f"{row.end}; is it the sample's input FASTA?"
                )
            out.write(format_record(region_header(row), record.seq[row.start - 1 : row.end], 60))
            self.written += 1
            row = next(self._pending, None)
        self._row = row

    def finish(self) -> None:
        """Refuse a FASTA that ended before every region was written."""
        if self._row is not None:
            raise InputError(
                f"{self._fasta}: lacks {self._row.sequence_id} (or holds it out of the sample's "
                "order), which holds a viral region; is it the sample's input FASTA?"
            )


# --------------------------------------------------------------------------- per_chunk.tsv


def read_sequence_lengths(path: str | os.PathLike[str]) -> dict[str, int]:
    """``sequence_id -> length_bp`` from ``sequences.tsv`` or ``per_sequence.tsv``."""
    return {row.sequence_id: row.length_bp for row in SEQUENCE_LENGTHS.read(path)}


@dataclass
class ChunkTrack:
    """The columns of a ``per_chunk.tsv`` the region caller needs, sequences back to back."""

    ids: list[str]
    offsets: np.ndarray
    calls: np.ndarray  # int8
    viral_scores: np.ndarray  # float64 (nan when unscored)
    starts: np.ndarray  # int64, 1-based
    ends: np.ndarray  # int64, inclusive


def read_chunk_track(
    path: str | os.PathLike[str], lengths: dict[str, int] | None = None
) -> ChunkTrack:
    """Read a ``per_chunk.tsv``, refusing what the caller cannot trust, with file and row.

    Rows of a sequence must be consecutive and in chunk order (as predict writes them); with
    ``lengths`` every sequence must be listed there and no chunk may end past its end.
    """
    ids: list[str] = []
    offsets = [0]
    calls = array("b")
    scores = array("d")
    starts, ends = array("q"), array("q")
    seen: set[str] = set()
    for line, row in PER_CHUNK.read_numbered(path):
        where = f"{path}, line {line}"
        sid = row.sequence_id
        if not ids or sid != ids[-1]:
            if sid in seen:
                raise InputError(f"{where}: rows of {sid} are not consecutive")
            if ids:
                offsets.append(len(calls))
            ids.append(sid)
            seen.add(sid)
        call = _CALL_CODES.get(row.call)
        if call is None:
            raise InputError(f"{where}: call {row.call!r} is none of {', '.join(_CALL_CODES)}")
        start, end = row.start, row.end
        if not 1 <= start <= end:
            raise InputError(f"{where}: span {start}-{end} is not a 1-based span")
        if len(calls) > offsets[-1] and start <= starts[-1]:
            if start == starts[-1]:
                raise InputError(
                    f"{where}: repeats the chunk of {sid} starting at {start} (line "
                    f"{line - 1}); every chunk must appear once"
                )
            raise InputError(f"{where}: chunks of {sid} are not in order")
        if lengths is not None:
            length = lengths.get(sid)
            if length is None:
                raise InputError(f"{where}: {sid} is not in the sequence table")
            if end > length:
                raise InputError(
                    f"{where}: chunk ends at {end}, past the end of {sid} ({length} bp)"
                )
        score = row.best_viral_score
        if call == UNSCORED:
            score = math.nan
        elif score is None or not math.isfinite(score):
            raise InputError(f"{where}: best_viral_score {score!r} is not a number")
        elif not 0.0 <= score <= 1.0:
            raise InputError(
                f"{where}: best_viral_score {score} is outside [0, 1] (a softmax score)"
            )
        calls.append(call)
        scores.append(score)
        starts.append(start)
        ends.append(end)
    if not ids:
        raise InputError(f"{path}: no chunks")
    offsets.append(len(calls))
    return ChunkTrack(
        ids,
        np.asarray(offsets, dtype=np.int64),
        np.frombuffer(calls, dtype=np.int8),
        np.frombuffer(scores, dtype=np.float64),
        np.frombuffer(starts, dtype=np.int64),
        np.frombuffer(ends, dtype=np.int64),
    )


def track_calls(track: ChunkTrack, thresholds: CallThresholds) -> list[str]:
    """Each sequence's call from its chunk counts, as predict calls it (before regions)."""
    starts = track.offsets[:-1]
    chunks = np.diff(track.offsets).tolist()
    scored = np.add.reduceat((track.calls != UNSCORED).astype(np.int64), starts).tolist()
    viral = np.add.reduceat((track.calls == VIRAL_CALL).astype(np.int64), starts).tolist()
    return [
        sequence_call(c, s, v, thresholds) for c, s, v in zip(chunks, scored, viral, strict=True)
    ]


def track_regions(
    track: ChunkTrack, model: RegionModel, thresholds: CallThresholds
) -> Iterator[RegionRow]:
    """Regions of a ``per_chunk.tsv`` as predict writes them: decoded, then as the sequence
    calls allow (``regions_for_calls``), means over the table's scores as printed."""
    decoded = call_regions(track.calls, track.offsets, model)
    regions = regions_for_calls(decoded, track_calls(track, thresholds), np.diff(track.offsets))

    def span_bp(seq: int, first: int, last: int) -> tuple[int, int]:
        base = int(track.offsets[seq])
        return int(track.starts[base + first]), int(track.ends[base + last])

    return region_rows(regions, track.ids, track.offsets, span_bp, track.calls, track.viral_scores)


def regions_from_per_chunk(
    per_chunk: str | os.PathLike[str],
    output: str | os.PathLike[str],
    sequences: str | os.PathLike[str] | None,
    model: RegionModel,
    thresholds: CallThresholds,
) -> list[RegionRow]:
    """``virnucpro-smk regions``: ``regions.tsv`` from any ``per_chunk.tsv``.

    Given predict's ``per_chunk.tsv`` and the run's settings, it writes predict's
    ``regions.tsv`` byte for byte. An output that is a directory or cannot be written is
    refused in one line before anything is read.
    """
    output = Path(output)
    if output.is_dir():
        raise InputError(f"{output}: is a directory; --out names the regions.tsv to write")
    lengths = read_sequence_lengths(sequences) if sequences is not None else None
    track = read_chunk_track(per_chunk, lengths)
    rows = list(track_regions(track, model, thresholds))
    try:
        REGIONS.write(output, rows)
    except OSError as exc:
        raise InputError(f"{output}: cannot be written ({exc.strerror or exc})") from None
    return rows
