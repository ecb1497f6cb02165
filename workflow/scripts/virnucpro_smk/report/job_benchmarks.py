"""Were the two protein models timed under equal conditions, and what does the pipeline gain?

A speed-up is only a property of the models when both ran over the same frames on the same
device, each with the device to itself. The workflow schedules the training-set extraction
jobs one at a time (they take every core: ``extraction_threads`` in common.smk), and this
module checks what actually happened from Snakemake's own records:

* every benchmark file is written when its job ends and holds the job's wall seconds, so
  ``[mtime - s, mtime]`` is the job's run interval; a compared extraction job whose interval
  overlaps any other job of the workflow did not have the machine to itself;
* the embedding files record the device and the dtype each model ran in.

It cannot see processes outside the workflow (another user on the GPU): the report says so.
The whole-pipeline figure adds the stages both models share (preprocessing and the DNA
model's extraction of the same frames) to each model's protein stage, so users see how much
of the protein-stage speed-up survives end to end.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import InputError


def _number(text: str | None) -> float | None:
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def read_benchmark(path: str | os.PathLike[str]) -> dict[str, float | None]:
    """Wall seconds (``s``) and ``max_rss`` (MiB) of one job, averaged over its repeats."""
    with open(path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows or "s" not in rows[0]:
        raise InputError(f"{path}: not a Snakemake benchmark file (needs a column 's')")
    seconds = [_number(r["s"]) for r in rows]
    if any(s is None for s in seconds):
        raise InputError(f"{path}: column 's' holds a non-number")
    rss = [v for v in (_number(r.get("max_rss")) for r in rows) if v is not None]
    return {"s": sum(seconds) / len(seconds), "max_rss": max(rss) if rss else None}  # type: ignore[arg-type]


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


def speed_conditions(
    speed: Mapping[str, Mapping[str, Any]],
    timed: Mapping[str, Sequence[str | os.PathLike[str]]],
    every_benchmark: Sequence[str | os.PathLike[str]],
) -> dict[str, Any]:
    """Device, dtype, frames and overlap per model; ``equal_conditions`` and its problems.

    ``speed``: per model, :func:`.comparison.extraction_speed`'s figures; ``timed``: per
    model, its extraction benchmark files; ``every_benchmark``: all of the workflow's.
    """
    models = list(speed)
    problems: list[str] = []
    per_model: dict[str, Any] = {}
    for name in models:
        overlap = overlapping_jobs(timed[name], every_benchmark)
        per_model[name] = {
            "devices": speed[name].get("devices", []),
            "dtypes": speed[name].get("dtypes", []),
            "records": speed[name].get("records"),
            "overlapping_jobs": overlap,
        }
        if overlap:
            problems.append(
                f"{name}: {len(overlap)} other job(s) ran at the same time "
                f"(e.g. {Path(overlap[0]).parent.name}/{Path(overlap[0]).name})"
            )
        if len(speed[name].get("devices", [])) != 1:
            problems.append(f"{name}: its jobs ran on {speed[name].get('devices')}")
        if speed[name].get("wall_seconds") is None:
            problems.append(f"{name}: no end-to-end time (benchmark files missing)")
    devices = {tuple(speed[n].get("devices", [])) for n in models}
    if len(devices) > 1:
        problems.append(f"the models ran on different devices: {sorted(devices)}")
    records = {speed[n].get("records") for n in models}
    if len(records) > 1:
        problems.append(f"the models embedded different frames ({sorted(records)} records)")
    return {
        "equal_conditions": not problems,
        "condition_problems": problems,
        "per_model": per_model,
        "unseen": "processes outside this workflow (other users of the device) are not seen",
    }


def pipeline_seconds(
    shared: Sequence[str | os.PathLike[str]], protein_wall: Mapping[str, float | None]
) -> dict[str, Any]:
    """Whole-pipeline wall seconds per model: the shared stages plus the model's protein stage.

    ``shared``: benchmark files of the stages both models need (preprocessing, the DNA model's
    extraction of the same frames); a missing one leaves the figure out.
    """
    missing = [str(p) for p in shared if not Path(p).is_file()]
    shared_s = sum(float(read_benchmark(p)["s"] or 0.0) for p in shared if Path(p).is_file())
    total = {
        name: (round(shared_s + wall, 3) if wall is not None and not missing else None)
        for name, wall in protein_wall.items()
    }
    return {"shared_seconds": round(shared_s, 3), "missing": missing, "total_seconds": total}


def predict_pipeline_seconds(
    shared: Sequence[str | os.PathLike[str]],
    own: Mapping[str, Sequence[str | os.PathLike[str]]],
    every_benchmark: Sequence[str | os.PathLike[str]] = (),
) -> dict[str, Any]:
    """``predict`` end to end on the held-out fragments, per model, from its jobs' benchmarks.

    ``shared``: the stages both models run (preprocessing the fragments, the DNA model's
    extraction); ``own``: per model, its protein extraction jobs and its scoring job. This is
    what a user's `predict` run costs on contigs like the test genomes', start-up included.
    Each model's jobs are checked for overlap with any other job of the workflow (extraction
    of a frame set other than a sample takes every core, so they normally run alone); a
    missing benchmark file leaves the figure out.
    """
    files = [*shared, *(p for paths in own.values() for p in paths)]
    missing = [str(p) for p in files if not Path(p).is_file()]

    def seconds(paths: Sequence[str | os.PathLike[str]]) -> float:
        return sum(float(read_benchmark(p)["s"] or 0.0) for p in paths if Path(p).is_file())

    shared_s = seconds(shared)
    return {
        "shared_seconds": round(shared_s, 3),
        "model_seconds": {m: round(seconds(paths), 3) for m, paths in own.items()},
        "total_seconds": {
            m: None if missing else round(shared_s + seconds(paths), 3) for m, paths in own.items()
        },
        "overlapping_jobs": {
            m: overlapping_jobs(
                paths, [p for p in every_benchmark if str(p) not in map(str, files)]
            )
            for m, paths in own.items()
        },
        "missing": missing,
    }
