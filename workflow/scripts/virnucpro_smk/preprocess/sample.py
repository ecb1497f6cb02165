"""Preprocessing of one sample: validate, chunk, six-frame select, and index the shards.

Writes, for a chunk length ``L``:

* the chunked FASTA (60-column lines, as the original);
* the kept frames as nucleotide and protein FASTA (one line per sequence, as the original);
* ``shards.tsv``: the frame index, byte ranges of balanced rows of those frames (see
  :mod:`.shards`; the extraction jobs of each model are runs of its rows);
* ``sequences.tsv``: per input sequence its length, chunks and kept frames, so that later
  stages can report sequences without any coding frame instead of silently dropping them.
"""

from __future__ import annotations

import logging
import os
from array import array
from dataclasses import dataclass
from typing import IO

from ..formats.frame_index import FRAME_INDEX
from ..formats.sequences import SEQUENCES, SequenceRow
from ..io.atomic import atomic_open
from ..io.fasta import format_record, record_lengths, stream_nucleotide_fasta, wrap
from ..runtime.progress import Progress
from .chunking import chunk_count
from .frames import translate_pieces
from .shards import index_shards

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreprocessStats:
    sequences: int
    bases: int
    chunks: int
    frames: int
    short_sequences: int


def preprocess_fasta(
    fasta: str | os.PathLike[str],
    chunk_length: int,
    chunked_out: str | os.PathLike[str],
    nucleotide_out: str | os.PathLike[str],
    protein_out: str | os.PathLike[str],
    sequences_out: str | os.PathLike[str],
    ambiguous: str = "drop",
    *,
    frame_index: str | os.PathLike[str] | None = None,
    n_shards: int | None = None,
) -> PreprocessStats:
    """Validate and chunk ``fasta``, writing the chunked and the kept-frame FASTA files.

    With ``frame_index`` (samples), also write the frame index of the kept frames for the
    extraction jobs (``n_shards`` rows; None: ``shards.index_rows``, from the frames alone).
    Training datasets go without: their frames are indexed after the training manifest has
    selected them.

    Two passes over the input, both block by block: the first measures every record (chunk
    spans need a record's length before its first chunk), the second validates, chunks and
    translates each record a window at a time. Memory is a window and a block, whatever the
    records' length (a 300-Mbp chromosome on one line included); progress is logged every
    30 s with the share of chunks done.
    """
    log.info("%s: measuring its records (pass 1 of 2)", fasta)
    lengths = array("q", record_lengths(fasta))
    total_chunks = sum(chunk_count(n, chunk_length) for n in lengths)
    n_seq = n_bases = n_chunks = n_frames = n_short = 0
    progress = Progress("preprocess", total_chunks, unit="chunks", logger=log)
    with (
        atomic_open(chunked_out) as chunked,
        atomic_open(nucleotide_out) as nuc,
        atomic_open(protein_out) as prot,
        atomic_open(sequences_out) as seqs,
    ):
        # parts of the four files, written _CHUNKS_PER_WRITE chunks at a time (one write per
        # record is slow for reads; one per file would hold a chromosome's frames)
        parts: tuple[list[str], ...] = ([], [], [], [SEQUENCES.header_line])
        chunk_parts, nuc_parts, prot_parts, seq_rows = parts
        outputs = (chunked, nuc, prot, seqs)
        pending = 0
        for record, length in zip(stream_nucleotide_fasta(fasta), lengths, strict=False):
            n_seq += 1
            n_bases += length
            if length < chunk_length:
                n_short += 1
                if n_short == 1:  # the first as an example; the count follows at the end
                    log.warning(
                        "%s is %d bp, shorter than the chunk length %d: it becomes one "
                        "shorter chunk",
                        record.id,
                        length,
                        chunk_length,
                    )
            rec_chunks = rec_frames = 0
            for cid, chunk, frames in translate_pieces(
                record.id, record.pieces, length, chunk_length, ambiguous
            ):
                rec_chunks += 1
                chunk_parts.append(f">{cid}\n{wrap(chunk)}\n")
                for frame in frames:
                    nuc_parts.append(format_record(frame.id, frame.nucleotide))
                    prot_parts.append(format_record(frame.id, frame.protein))
                rec_frames += len(frames)
                pending += 1
                if pending >= _CHUNKS_PER_WRITE:
                    _flush(outputs, parts)
                    progress.update(pending)
                    pending = 0
            seq_rows.append(SEQUENCES.line(SequenceRow(record.id, length, rec_chunks, rec_frames)))
            n_chunks += rec_chunks
            n_frames += rec_frames
        _flush(outputs, parts)
        progress.update(pending)
    progress.finish()
    if n_short:
        log.warning("%d of %d sequences were shorter than %d bp", n_short, n_seq, chunk_length)
    log.info(
        "%s: %d sequences, %d bp -> %d chunks of %d bp -> %d kept frames",
        fasta,
        n_seq,
        n_bases,
        n_chunks,
        chunk_length,
        n_frames,
    )
    if frame_index is not None:
        spans = index_shards(nucleotide_out, protein_out, n_frames, n_shards)
        FRAME_INDEX.write(frame_index, spans)
    return PreprocessStats(n_seq, n_bases, n_chunks, n_frames, n_short)


#: Chunks of a record written (and counted for progress) at a time.
_CHUNKS_PER_WRITE = 4096


def _flush(outputs: tuple[IO[str], ...], parts: tuple[list[str], ...]) -> None:
    """Write each output's parts joined, then empty the parts."""
    for handle, texts in zip(outputs, parts, strict=True):
        handle.write("".join(texts))
        texts.clear()
