"""The frame index: byte ranges of the kept-frame files, and reading one extraction job's
records from them.

The **frame index** (``frames/shards.tsv``, ``formats.frame_index.FRAME_INDEX``) is written
once per frame set by preprocessing (or the training-set builder) at a fine granularity that
depends on the frames alone (:func:`index_rows`): each row a record count, a first id and a
byte range in both identified-frame files. It never changes with the models, their job counts
or the GPUs, so none of these reruns preprocessing or redraws the training manifest.

Each model's **extraction jobs** are runs of index rows, planned by ``runtime/job_plan.py``
(the model's job table ``frames/jobs/<model>.tsv``); an extraction job seeks to its job's range
and checks that it holds exactly what the table announces (:func:`read_shard_records`: the
function keeps the files' old word, "shard", for a job).
"""

from __future__ import annotations

import functools
import itertools
import math
import os
from pathlib import Path

from ..errors import InputError
from ..formats.frame_index import FRAME_INDEX, JOB_TABLE, FrameIndexRow
from ..io.fasta import fasta_id, record_offsets

#: Frames per row of the frame index, for large frame sets: a job's frames are balanced
#: against another job's of the same model to within one row (1,000 frames: under 1 % of a
#: 125,000-chunk job), and the index of 10M frames stays at 10,000 lines.
INDEX_ROW_FRAMES = 1000
#: Rows of the frame index at least (one per frame below that): small frame sets can still be
#: cut into many balanced jobs (tests and `chunks_per_gpu_job` of a few chunks).
MIN_INDEX_ROWS = 256


def index_rows(n_frames: int) -> int:
    """Rows of the frame index of ``n_frames`` frames: from the frames alone, never from job
    counts (at least one row, an empty one for an empty frame set)."""
    return max(1, math.ceil(n_frames / INDEX_ROW_FRAMES), min(n_frames, MIN_INDEX_ROWS))


def shard_bounds(n_records: int, n_ranges: int) -> list[tuple[int, int]]:
    """Split ``n_records`` into ``n_ranges`` contiguous, near-equal ranges (some may be empty):
    the rows of a frame index."""
    return [(i * n_records // n_ranges, (i + 1) * n_records // n_ranges) for i in range(n_ranges)]


def index_shards(
    nucleotide: str | os.PathLike[str],
    protein: str | os.PathLike[str],
    n_frames: int,
    n_rows: int | None = None,
) -> list[FrameIndexRow]:
    """The frame index of the identified files: ``n_rows`` balanced rows (None: the frame
    index's :func:`index_rows`) as byte ranges of both files.

    Checks on the way that both files hold the same ids in the same order, so that the DNA
    and protein records of any byte range can never disagree.
    """
    if n_rows is None:
        n_rows = index_rows(n_frames)
    bounds = shard_bounds(n_frames, n_rows)
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
    rows = []
    for row, (lo, hi) in enumerate(bounds):
        rows.append(
            FrameIndexRow(
                row,
                hi - lo,
                cuts[lo][2] if hi > lo else "",
                cuts[lo][0],
                cuts[hi][0],
                cuts[lo][1],
                cuts[hi][1],
            )
        )
    return rows


def read_frame_index(path: str | os.PathLike[str]) -> tuple[FrameIndexRow, ...]:
    """The rows of the frame index file ``path``, read once per version of the file: the DAG
    asks for them for every job of the training set, and a rerun checkpoint rewrites the file
    after a first DAG build read the old one."""
    stat = Path(path).stat()
    return _read_frame_index(str(path), stat.st_mtime_ns, stat.st_size)


@functools.cache
def _read_frame_index(path: str, mtime_ns: int, size: int) -> tuple[FrameIndexRow, ...]:
    return tuple(FRAME_INDEX.read(path))


def read_shard_records(
    frames: str | os.PathLike[str],
    job_table: str | os.PathLike[str],
    job: int,
    kind: str,
) -> list[tuple[str, str]]:
    """Records of extraction job ``job``, read straight from the identified frames file.

    ``frames`` is ``identified_nucleotide.fa`` (DNA models) or ``identified_protein.faa``
    (protein models), one line per sequence; the model's job table ``job_table`` gives the
    byte range. The range must hold exactly the table's record count, starting at its first
    id, with unique ids.
    """
    jobs = JOB_TABLE.read_all(job_table)
    if not 0 <= job < len(jobs):
        raise InputError(f"{job_table}: no job {job} (the table has {len(jobs)} jobs)")
    planned = jobs[job]
    start, end = planned.byte_range(kind)
    with open(frames, "rb") as handle:
        handle.seek(start)
        data = handle.read(end - start)
    if len(data) != end - start:
        raise InputError(f"{frames}: shorter than {job_table} says (job {job})")
    lines = data.decode("ascii").splitlines()
    if len(lines) != 2 * planned.n_records or any(not h.startswith(">") for h in lines[::2]):
        raise InputError(
            f"{frames}: bytes {start}-{end} are not the {planned.n_records} one-line records "
            f"{job_table} announces for job {job}"
        )
    ids = [fasta_id(h[1:]) for h in lines[::2]]
    if ids and ids[0] != planned.first_id:
        raise InputError(
            f"{frames}: job {job} starts at {ids[0]!r}, {job_table} says "
            f"{planned.first_id!r} (files from different runs?)"
        )
    records = list(zip(ids, lines[1::2], strict=True))
    if len(set(ids)) != len(ids):
        raise InputError(f"{frames}: duplicate ids in job {job}")
    return records
