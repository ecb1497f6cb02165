"""Shards: the byte ranges of the kept-frame files that one GPU job embeds.

The number of shards is fixed before any job runs (from the chunk count and
``chunks_per_gpu_job``), so a dry-run lists every GPU job. ``shards.tsv`` records, per shard,
its record count, first id and byte range in both identified-frame files; an extraction job
seeks to its range and checks that it holds exactly what the index announces.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InputError
from ..io.atomic import write_tsv
from ..io.fasta import fasta_id, record_offsets


def shard_count(n_chunks: int, chunks_per_gpu_job: int) -> int:
    """GPU jobs (shards) for ``n_chunks`` chunks: one per ``chunks_per_gpu_job``, at least one.

    Sized by work known at DAG-build time (chunk counts are exact and cheap), not by the
    upper bound of six frames per chunk: real inputs keep 0.6-0.9 frames per chunk, so a
    bound-sized job would be 10-15 % full and pay its start-up many times over.
    """
    if chunks_per_gpu_job <= 0:
        raise ValueError(f"chunks_per_gpu_job must be positive, got {chunks_per_gpu_job}")
    return max(1, math.ceil(n_chunks / chunks_per_gpu_job))


def shard_bounds(n_records: int, n_shards: int) -> list[tuple[int, int]]:
    """Split ``n_records`` into ``n_shards`` contiguous, near-equal ranges (some may be empty)."""
    return [(i * n_records // n_shards, (i + 1) * n_records // n_shards) for i in range(n_shards)]


SHARD_INDEX_COLUMNS = (
    "shard",
    "n_records",
    "first_id",
    "nucleotide_start",
    "nucleotide_end",
    "protein_start",
    "protein_end",
)


@dataclass(frozen=True)
class ShardSpan:
    """Byte ranges of one shard inside the two identified-frame files."""

    shard: int
    n_records: int
    first_id: str
    nucleotide: tuple[int, int]
    protein: tuple[int, int]


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
    pairs = itertools.zip_longest(record_offsets(nucleotide), record_offsets(protein))
    n_records = 0
    for i, (nuc, prot) in enumerate(pairs):
        if nuc is None or prot is None:
            raise InputError(f"{nucleotide} and {protein} hold different numbers of records")
        (n_off, n_id), (p_off, p_id) = nuc, prot
        if n_id != p_id:
            raise InputError(f"frame files out of step at record {i + 1}: {n_id!r} vs {p_id!r}")
        if i in cut_at:
            cuts[i] = (n_off, p_off, n_id)
        n_records = i + 1
    if n_records == n_frames:
        cuts[n_frames] = (os.path.getsize(nucleotide), os.path.getsize(protein), "")
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
    write_tsv(
        path,
        SHARD_INDEX_COLUMNS,
        ((s.shard, s.n_records, s.first_id, *s.nucleotide, *s.protein) for s in spans),
    )


def read_shard_index(path: str | os.PathLike[str]) -> list[ShardSpan]:
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    if not lines or tuple(lines[0].split("\t")) != SHARD_INDEX_COLUMNS:
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
    ids = [fasta_id(h[1:]) for h in lines[::2]]
    if ids and ids[0] != span.first_id:
        raise InputError(
            f"{frames}: shard {shard} starts at {ids[0]!r}, {shard_index} says "
            f"{span.first_id!r} (files from different runs?)"
        )
    records = list(zip(ids, lines[1::2], strict=True))
    if len(set(ids)) != len(ids):
        raise InputError(f"{frames}: duplicate ids in shard {shard}")
    return records
