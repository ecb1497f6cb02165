"""Snakemake's benchmark files: a job's wall seconds, its run interval, who overlapped it.

Every benchmark file is written when its job ends and holds the job's wall seconds, so
``[mtime - s, mtime]`` is the job's run interval. The speed verdict (:mod:`.speed_runs`)
asks whether any other job of the workflow ran while the timing job (rule time_predict)
ran; the report's extraction figures read the jobs' wall seconds.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import InputError
from ..formats.benchmarks import BENCHMARK


def read_benchmark(path: str | os.PathLike[str]) -> dict[str, float | None]:
    """Wall seconds (``s``) and ``max_rss`` (MiB) of one job, averaged over its repeats."""
    rows = BENCHMARK.read_all(path)
    if not rows:
        raise InputError(f"{path}: not a Snakemake benchmark file (no rows)")
    seconds = [r.s for r in rows]
    if any(math.isnan(s) for s in seconds):
        raise InputError(f"{path}: column 's' holds a non-number")
    rss = [r.max_rss for r in rows if r.max_rss is not None]
    return {"s": sum(seconds) / len(seconds), "max_rss": max(rss) if rss else None}


# jobs that merely touch files (target rules, reports) are too short to matter
_TOLERANCE_S = 0.5


def job_interval(path: str | os.PathLike[str]) -> tuple[float, float]:
    """(start, end) of the job whose benchmark file this is, in epoch seconds."""
    end = Path(path).stat().st_mtime
    return end - float(read_benchmark(path)["s"] or 0.0), end


def overlapping_jobs(
    timed: Iterable[str | os.PathLike[str]], others: Iterable[str | os.PathLike[str]]
) -> list[str]:
    """Benchmark files among ``others`` whose job ran while any job of ``timed`` ran."""
    timed_paths = {str(Path(p).resolve()) for p in timed if Path(p).is_file()}
    spans = [job_interval(p) for p in timed_paths]
    hits = []
    for other in others:
        path = str(Path(other).resolve())
        if path in timed_paths or not Path(path).is_file():
            continue
        try:
            start, end = job_interval(path)
        except Exception:  # not a benchmark file: not a job
            continue
        if any(start < e - _TOLERANCE_S and s < end - _TOLERANCE_S for s, e in spans):
            hits.append(str(other))
    return sorted(hits)


def all_benchmarks(directory: str | os.PathLike[str]) -> list[str]:
    """Every benchmark file of the workflow (``<outdir>/benchmarks/<rule>/*.tsv``)."""
    root = Path(directory)
    return sorted(str(p) for p in root.rglob("*.tsv")) if root.is_dir() else []
