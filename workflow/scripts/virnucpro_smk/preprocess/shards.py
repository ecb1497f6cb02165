"""Shards: the byte ranges of the kept-frame files that GPU jobs embed.

Two tables in one layout (``formats.frame_index``), each row a record count, a first id and
a byte range in both identified-frame files:

* the **frame index** (``frames/shards.tsv``), written once per frame set by preprocessing
  (or the training-set builder) at a fine granularity that depends on the frames alone
  (:func:`index_rows`): it never changes with the models, their job counts or the GPUs, so
  none of these reruns preprocessing or redraws the training manifest;
* a **job table** per model (``frames/jobs/<model>.tsv``, :func:`group_spans`): that model's
  extraction jobs, each a contiguous run of index rows. Models are given different job counts
  (a DNA frame costs 8-35x less than a protein frame, see ``runtime.job_sizing``), so the
  DNA and protein files of the same frames have different boundaries; the features join
  streams rows across them (``classify.features.PairedFeatures``).

An extraction job seeks to its job's range and checks that it holds exactly what the table
announces (:func:`read_shard_records`).
"""

from __future__ import annotations

import bisect
import itertools
import math
import os
from collections.abc import Sequence

from ..errors import InputError
from ..formats.frame_index import (
    FRAME_INDEX,
    JOB_TABLE,
    ExtractionJob,
    FrameIndexRow,
    FrameRun,
)
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


def shard_bounds(n_records: int, n_shards: int) -> list[tuple[int, int]]:
    """Split ``n_records`` into ``n_shards`` contiguous, near-equal ranges (some may be empty)."""
    return [(i * n_records // n_shards, (i + 1) * n_records // n_shards) for i in range(n_shards)]


def index_shards(
    nucleotide: str | os.PathLike[str],
    protein: str | os.PathLike[str],
    n_frames: int,
    n_shards: int | None = None,
) -> list[FrameIndexRow]:
    """Balanced shard boundaries as byte ranges of the identified files (``n_shards``: the
    frame index's :func:`index_rows` when None).

    Checks on the way that both files hold the same ids in the same order, so that the DNA
    and protein records of any byte range can never disagree.
    """
    if n_shards is None:
        n_shards = index_rows(n_frames)
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
            FrameIndexRow(
                shard,
                hi - lo,
                cuts[lo][2] if hi > lo else "",
                cuts[lo][0],
                cuts[hi][0],
                cuts[lo][1],
                cuts[hi][1],
            )
        )
    return spans


def _job_bounds(spans: Sequence[FrameRun], n_jobs: int) -> list[tuple[int, int]]:
    """Row ranges of ``n_jobs`` jobs: each cut at the row start nearest its exact share of
    the frames (``j * frames / n_jobs``), so a job's frames are within one row of its share."""
    starts = list(itertools.accumulate((s.n_records for s in spans), initial=0))
    total = starts[-1]
    cuts = [0]
    for job in range(1, n_jobs):
        target = job * total / n_jobs
        i = bisect.bisect_left(starts, target)
        if i > 0 and (i == len(starts) or target - starts[i - 1] <= starts[i] - target):
            i -= 1
        cuts.append(min(max(i, cuts[-1]), len(spans)))
    cuts.append(len(spans))
    return list(itertools.pairwise(cuts))


def group_spans(spans: Sequence[FrameRun], n_jobs: int) -> list[ExtractionJob]:
    """A model's job table: ``n_jobs`` contiguous runs of the frame index's rows.

    Each job ends at the row boundary nearest its exact share of the frames, so its frames
    are within one index row of ``frames / n_jobs``; with more jobs than rows the extra jobs
    are empty (0 records, an empty byte range: their files have 0 rows).
    """
    if n_jobs <= 0:
        raise ValueError(f"n_jobs must be positive, got {n_jobs}")
    if not spans:
        raise InputError("the frame index has no rows")
    jobs = []
    for job, (lo, hi) in enumerate(_job_bounds(spans, n_jobs)):
        rows = spans[lo:hi]
        if not rows:  # empty: an empty range where the next row starts (or the files end)
            nuc = spans[lo].nucleotide[0] if lo < len(spans) else spans[-1].nucleotide[1]
            prot = spans[lo].protein[0] if lo < len(spans) else spans[-1].protein[1]
            jobs.append(ExtractionJob(job, 0, "", nuc, nuc, prot, prot))
            continue
        jobs.append(
            ExtractionJob(
                job,
                sum(r.n_records for r in rows),
                next((r.first_id for r in rows if r.n_records), ""),
                rows[0].nucleotide_start,
                rows[-1].nucleotide_end,
                rows[0].protein_start,
                rows[-1].protein_end,
            )
        )
    return jobs


def plan_extraction_jobs(
    index: str | os.PathLike[str], n_jobs: int, output: str | os.PathLike[str]
) -> list[ExtractionJob]:
    """Write a model's job table: ``n_jobs`` runs of the rows of the frame index ``index``."""
    jobs = group_spans(FRAME_INDEX.read_all(index), n_jobs)
    JOB_TABLE.write(output, jobs)
    return jobs


def read_shard_records(
    frames: str | os.PathLike[str],
    shard_index: str | os.PathLike[str],
    shard: int,
    kind: str,
) -> list[tuple[str, str]]:
    """Records of job ``shard``, read straight from the identified frames file.

    ``frames`` is ``identified_nucleotide.fa`` (DNA models) or ``identified_protein.faa``
    (protein models), one line per sequence; the job table ``shard_index`` gives the byte
    range. The range must hold exactly the table's record count, starting at its first id,
    with unique ids.
    """
    spans = JOB_TABLE.read_all(shard_index)
    if not 0 <= shard < len(spans):
        raise InputError(f"{shard_index}: no shard {shard} (the index has {len(spans)})")
    span = spans[shard]
    start, end = span.byte_range(kind)
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
