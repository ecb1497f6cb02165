"""The training set's extraction per protein model: context beside the speed verdict.

Each extraction job of the training frames ran once, beside the workflow's other jobs, so
its times are context; the speed verdict reads the dedicated repeated runs of
:mod:`.speed_runs`. The wall seconds come from Snakemake's benchmark files (start-up and
loading included: what the user waits for), the in-process timers from the stats JSON each
job writes, the dtype and identity from the embedding files' metadata. Everything here takes
values already read (the rule script reads the files).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ModelMismatchError
from ..formats.job_stats import GPU_FIGURES, gpu_figures


@dataclass(frozen=True)
class ExtractionFigures:
    """One protein model's extraction of the training frames, all its jobs together.

    ``wall_seconds`` (and what is derived from it) is None when a benchmark file is missing;
    ``load_seconds`` when a job did not record it; the GPU figures when no job recorded them.
    """

    jobs: int
    embedding_files: int
    missing_benchmarks: list[str]
    records: int
    tokens: int
    wall_seconds: float | None
    embed_seconds: float
    load_seconds: float | None
    overhead_seconds: float | None
    records_per_wall_s: float | None
    tokens_per_embed_s: float | None
    max_rss_mib: float | None
    peak_gpu_mib: float | None
    gpu_util_mean_pct: float | None
    seconds_to_first_batch: float | None
    seconds_after_last_batch: float | None
    devices: list[str]
    dtypes: list[str]
    training_wall_seconds: float | None  # the classifier's training job (first figure, context)


@dataclass(frozen=True)
class ExtractionSpeedup:
    """Baseline time / candidate time of the training-set extraction (context only)."""

    end_to_end: float | None  # wall seconds; None when ``problem`` says why
    in_process: float | None  # in-process embedding seconds
    problem: str | None


def _sum(values: Sequence[float], digits: int) -> float | None:
    return round(sum(values), digits) if values else None


def extraction_figures(
    model: str,
    chunk_length: int,
    embeddings: Mapping[str, Mapping[str, Any]],
    job_stats: Sequence[Mapping[str, Any]],
    benchmarks: Mapping[str, Mapping[str, float | None] | None],
    training_benchmark: Mapping[str, float | None] | None,
) -> ExtractionFigures:
    """The figures of one model's extraction jobs.

    ``embeddings``: each embedding file's metadata by file name (identity checks, dtypes);
    ``job_stats``: each job's stats JSON; ``benchmarks``: each job's benchmark figures
    (:func:`.job_benchmarks.read_benchmark`) by file name, None for a file that is missing;
    ``training_benchmark``: the classifier training job's, None when missing.
    """
    dtypes: set[str] = set()
    for path, meta in embeddings.items():
        if meta.get("model") != model:
            raise ModelMismatchError(f"{path}: holds {meta.get('model')} vectors, not {model}")
        if int(meta.get("chunk_length", chunk_length)) != chunk_length:
            raise ModelMismatchError(
                f"{path}: chunk length {meta.get('chunk_length')}, expected {chunk_length}"
            )
        dtypes.add(str(meta.get("dtype", "unknown")))
    records = sum(int(s.get("records", 0)) for s in job_stats)
    tokens = sum(int(s.get("tokens", 0)) for s in job_stats)
    embed = sum(float(s.get("embed_seconds", s.get("seconds", 0.0))) for s in job_stats)
    has_load = bool(embeddings) and bool(job_stats)
    has_load = has_load and all(s.get("load_seconds") is not None for s in job_stats)
    load = sum(float(s["load_seconds"]) for s in job_stats) if has_load else None
    peak = [float(s["peak_gpu_mib"]) for s in job_stats if s.get("peak_gpu_mib") is not None]
    recorded = [gpu_figures(s) for s in job_stats]
    gpu = {  # per-job GPU figures, where the job recorded them
        key: [f[key] for f in recorded if key in f] for key in GPU_FIGURES if key != "peak_gpu_mib"
    }
    missing = [path for path, figures in benchmarks.items() if figures is None]
    jobs = [figures for figures in benchmarks.values() if figures is not None]
    wall = sum(j["s"] for j in jobs) if jobs and not missing else None  # type: ignore[misc]
    rss = [j["max_rss"] for j in jobs if j["max_rss"] is not None]
    utilization = gpu["gpu_util_mean_pct"]
    return ExtractionFigures(
        jobs=len(benchmarks),
        embedding_files=len(embeddings),
        missing_benchmarks=missing,
        records=records,
        tokens=tokens,
        wall_seconds=round(wall, 3) if wall is not None else None,
        embed_seconds=round(embed, 3),
        load_seconds=round(load, 3) if load is not None else None,
        overhead_seconds=round(wall - embed, 3) if wall is not None else None,
        records_per_wall_s=round(records / wall, 2) if wall else None,
        tokens_per_embed_s=round(tokens / embed, 1) if embed else None,
        max_rss_mib=max(rss) if rss else None,  # type: ignore[type-var]
        peak_gpu_mib=round(max(peak), 1) if peak else None,
        gpu_util_mean_pct=round(sum(utilization) / len(utilization), 1) if utilization else None,
        seconds_to_first_batch=_sum(gpu["seconds_to_first_batch"], 3),
        seconds_after_last_batch=_sum(gpu["seconds_after_last_batch"], 3),
        devices=sorted({str(s.get("device_name", "unknown")) for s in job_stats}),
        dtypes=sorted(dtypes),
        training_wall_seconds=(
            round(training_benchmark["s"] or 0.0, 3) if training_benchmark is not None else None
        ),
    )


def speedup(baseline_seconds: float | None, candidate_seconds: float | None) -> float | None:
    """Baseline time / candidate time (3 decimals); None when either time is missing."""
    if not baseline_seconds or not candidate_seconds:
        return None
    return round(baseline_seconds / candidate_seconds, 3)


def extraction_speedup(
    baseline: ExtractionFigures, candidate: ExtractionFigures
) -> ExtractionSpeedup:
    """End to end (wall seconds) and in process; the end-to-end ratio only when both models'
    jobs were all timed and embedded the same records."""
    problem = None
    if baseline.missing_benchmarks or candidate.missing_benchmarks:
        n = len(baseline.missing_benchmarks) + len(candidate.missing_benchmarks)
        problem = f"{n} extraction benchmark file(s) missing: no end-to-end time"
    elif not baseline.jobs or not candidate.jobs:
        problem = "no extraction benchmark files were given"
    elif baseline.records != candidate.records:
        problem = (
            f"the models embedded different numbers of records "
            f"({baseline.records} vs {candidate.records}): times are not comparable"
        )
    return ExtractionSpeedup(
        end_to_end=None if problem else speedup(baseline.wall_seconds, candidate.wall_seconds),
        in_process=speedup(baseline.embed_seconds, candidate.embed_seconds),
        problem=problem,
    )
