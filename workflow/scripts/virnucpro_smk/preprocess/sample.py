"""Preprocessing of one sample: validate, chunk, six-frame select, and split into shards.

Writes, for a chunk length ``L``:

* the chunked FASTA (60-column lines, as the original);
* the kept frames as nucleotide and protein FASTA (one line per sequence, as the original);
* ``shards.tsv``: byte ranges of ``n_shards`` balanced shards of those frames. The count is
  fixed before the job runs, from the chunk count and the work one GPU job should get
  (``chunks_per_gpu_job``), so that a dry-run lists every GPU job; extraction jobs read their
  byte range straight from the identified files;
* ``sequences.tsv``: per input sequence its length, chunks and kept frames, so that later
  stages can report sequences without any coding frame instead of silently dropping them.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InputError
from ..io.atomic import atomic_open
from ..io.fasta import format_record, read_nucleotide_fasta, scan_lengths, wrap
from ..runtime.progress import Progress
from .chunking import chunk_count
from .frames import translate_record

log = logging.getLogger(__name__)

SEQUENCES_HEADER = "sequence_id\tlength_bp\tn_chunks\tn_kept_frames\n"


@dataclass(frozen=True)
class PreprocessStats:
    sequences: int
    bases: int
    chunks: int
    frames: int
    short_sequences: int


def shard_count(n_chunks: int, chunks_per_gpu_job: int) -> int:
    """GPU jobs (shards) for ``n_chunks`` chunks: one per ``chunks_per_gpu_job``, at least one.

    Sized by work known at DAG-build time (chunk counts are exact and cheap), not by the
    upper bound of six frames per chunk: real inputs keep 0.6-0.9 frames per chunk, so a
    bound-sized job would be 10-15 % full and pay its start-up many times over.
    """
    if chunks_per_gpu_job <= 0:
        raise ValueError(f"chunks_per_gpu_job must be positive, got {chunks_per_gpu_job}")
    return max(1, math.ceil(n_chunks / chunks_per_gpu_job))


def count_chunks(fasta: str | os.PathLike[str], chunk_length: int) -> int:
    """Chunks an input yields, from its sequence lengths alone (cheap; no validation)."""
    return sum(chunk_count(n, chunk_length) for n in scan_lengths(fasta))


def shard_bounds(n_records: int, n_shards: int) -> list[tuple[int, int]]:
    """Split ``n_records`` into ``n_shards`` contiguous, near-equal ranges (some may be empty)."""
    return [(i * n_records // n_shards, (i + 1) * n_records // n_shards) for i in range(n_shards)]


def preprocess_fasta(
    fasta: str | os.PathLike[str],
    chunk_length: int,
    chunked_out: str | os.PathLike[str],
    nucleotide_out: str | os.PathLike[str],
    protein_out: str | os.PathLike[str],
    sequences_out: str | os.PathLike[str],
    ambiguous: str = "drop",
) -> PreprocessStats:
    """Validate and chunk ``fasta``, writing the chunked and the kept-frame FASTA files."""
    n_seq = n_bases = n_chunks = n_frames = n_short = 0
    progress = Progress("preprocess", None, unit="bp", logger=log)
    with (
        atomic_open(chunked_out) as chunked,
        atomic_open(nucleotide_out) as nuc,
        atomic_open(protein_out) as prot,
        atomic_open(sequences_out) as seqs,
    ):
        seqs.write(SEQUENCES_HEADER)
        for record in read_nucleotide_fasta(fasta):
            n_seq += 1
            n_bases += len(record.seq)
            if len(record.seq) < chunk_length:
                n_short += 1
                log.warning(
                    "%s is %d bp, shorter than the chunk length %d: it becomes one shorter chunk",
                    record.id,
                    len(record.seq),
                    chunk_length,
                )
            rec_chunks = rec_frames = 0
            nuc_parts: list[str] = []
            prot_parts: list[str] = []
            chunk_parts: list[str] = []
            for cid, chunk, frames in translate_record(
                record.id, record.seq, chunk_length, ambiguous
            ):
                rec_chunks += 1
                chunk_parts.append(f">{cid}\n{wrap(chunk)}\n")
                for frame in frames:
                    nuc_parts.append(format_record(frame.id, frame.nucleotide))
                    prot_parts.append(format_record(frame.id, frame.protein))
                rec_frames += len(frames)
            chunked.write("".join(chunk_parts))
            nuc.write("".join(nuc_parts))
            prot.write("".join(prot_parts))
            seqs.write(f"{record.id}\t{len(record.seq)}\t{rec_chunks}\t{rec_frames}\n")
            n_chunks += rec_chunks
            n_frames += rec_frames
            progress.update(len(record.seq))
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
    return PreprocessStats(n_seq, n_bases, n_chunks, n_frames, n_short)


SHARD_INDEX_HEADER = (
    "shard\tn_records\tfirst_id\tnucleotide_start\tnucleotide_end\tprotein_start\tprotein_end\n"
)


@dataclass(frozen=True)
class ShardSpan:
    """Byte ranges of one shard inside the two identified-frame files."""

    shard: int
    n_records: int
    first_id: str
    nucleotide: tuple[int, int]
    protein: tuple[int, int]


def _record_offsets(path: str | os.PathLike[str]):
    """Yield (byte offset, header) of each record of a one-line-per-sequence FASTA file."""
    offset = 0
    with open(path, "rb") as handle:
        while True:
            header = handle.readline()
            if not header:
                yield offset, None
                return
            yield offset, header
            offset += len(header) + len(handle.readline())


def index_shards(
    nucleotide: str | os.PathLike[str],
    protein: str | os.PathLike[str],
    n_frames: int,
    n_shards: int,
) -> list[ShardSpan]:
    """Balanced shard boundaries as byte ranges of the identified files.

    Checks on the way that both files hold the same ids in the same order, so that DNA and
    protein shard ``i`` can never disagree.
    """
    bounds = shard_bounds(n_frames, n_shards)
    cut_at = {lo for lo, _ in bounds} | {n_frames}
    cuts: dict[int, tuple[int, int, str]] = {}
    pairs = zip(_record_offsets(nucleotide), _record_offsets(protein), strict=True)
    for i, ((n_off, n_head), (p_off, p_head)) in enumerate(pairs):
        if n_head != p_head:
            raise InputError(f"frame files out of step at record {i + 1}: {n_head!r} vs {p_head!r}")
        if i in cut_at:
            first = n_head[1:].strip().decode() if n_head else ""
            cuts[i] = (n_off, p_off, first)
    if n_frames not in cuts:
        raise InputError(f"expected {n_frames} frames, the identified files hold fewer")
    spans = []
    for shard, (lo, hi) in enumerate(bounds):
        spans.append(
            ShardSpan(
                shard,
                hi - lo,
                cuts[lo][2] if hi > lo else "",
                (cuts[lo][0], cuts[hi][0]),
                (cuts[lo][1], cuts[hi][1]),
            )
        )
    return spans


def write_shard_index(spans: Sequence[ShardSpan], path: str | os.PathLike[str]) -> None:
    with atomic_open(path) as out:
        out.write(SHARD_INDEX_HEADER)
        for s in spans:
            out.write(
                f"{s.shard}\t{s.n_records}\t{s.first_id}\t{s.nucleotide[0]}\t"
                f"{s.nucleotide[1]}\t{s.protein[0]}\t{s.protein[1]}\n"
            )


def read_shard_index(path: str | os.PathLike[str]) -> list[ShardSpan]:
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    if not lines or lines[0] + "\n" != SHARD_INDEX_HEADER:
        raise InputError(f"{path}: not a shard index")
    spans = []
    for line in lines[1:]:
        shard, n, first, ns, ne, ps, pe = line.split("\t")
        spans.append(ShardSpan(int(shard), int(n), first, (int(ns), int(ne)), (int(ps), int(pe))))
    return spans


def read_shard_records(
    frames: str | os.PathLike[str],
    shard_index: str | os.PathLike[str],
    shard: int,
    kind: str,
) -> list[tuple[str, str]]:
    """Records of shard ``shard``, read straight from the identified frames file.

    ``frames`` is ``identified_nucleotide.fa`` (DNA models) or ``identified_protein.faa``
    (protein models), one line per sequence; the shard index gives the byte range. The range
    must hold exactly the index's record count, starting at its first id, with unique ids.
    """
    spans = read_shard_index(shard_index)
    if not 0 <= shard < len(spans):
        raise InputError(f"{shard_index}: no shard {shard} (the index has {len(spans)})")
    span = spans[shard]
    start, end = span.nucleotide if kind == "dna" else span.protein
    with open(frames, "rb") as handle:
        handle.seek(start)
        data = handle.read(end - start)
    if len(data) != end - start:
        raise InputError(f"{frames}: shorter than {shard_index} says (shard {shard})")
    lines = data.decode("ascii").splitlines()
    if len(lines) != 2 * span.n_records or any(not h.startswith(">") for h in lines[::2]):
        raise InputError(
            f"{frames}: bytes {start}-{end} are not the {span.n_records} one-line records "
            f"{shard_index} announces for shard {shard}"
        )
    headers = [h[1:].strip() for h in lines[::2]]
    if headers and headers[0] != span.first_id:
        raise InputError(
            f"{frames}: shard {shard} starts at {headers[0]!r}, {shard_index} says "
            f"{span.first_id!r} (files from different runs?)"
        )
    records = [
        (h.split(None, 1)[0] if h else "", q) for h, q in zip(headers, lines[1::2], strict=True)
    ]
    ids = [rid for rid, _ in records]
    if len(set(ids)) != len(ids):
        raise InputError(f"{frames}: duplicate ids in shard {shard}")
    return records


def preprocess_sample(
    fasta: str | os.PathLike[str],
    chunk_length: int,
    n_shards: int,
    *,
    chunked: str | os.PathLike[str],
    nucleotide: str | os.PathLike[str],
    protein: str | os.PathLike[str],
    sequences: str | os.PathLike[str],
    shard_index: str | os.PathLike[str],
    ambiguous: str = "drop",
) -> PreprocessStats:
    """Full preprocessing of one sample: FASTA outputs, per-sequence table and shard index."""
    stats = preprocess_fasta(
        fasta, chunk_length, chunked, nucleotide, protein, sequences, ambiguous
    )
    write_shard_index(index_shards(nucleotide, protein, stats.frames, n_shards), shard_index)
    return stats
