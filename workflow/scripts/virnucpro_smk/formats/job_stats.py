"""An extraction job's stats JSON (``<job>.json`` beside its benchmark): its in-process
timers, tokens and GPU figures, written by ``models.embeddings`` and read by the comparison
and the timed speed runs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import InputError

# optional per-job figures of an extraction job's stats JSON, shown when present
GPU_FIGURES = (
    "gpu_util_mean_pct",
    "peak_gpu_mib",
    "seconds_to_first_batch",
    "seconds_after_last_batch",
)


def read_job_stats(path: str | os.PathLike[str]) -> dict[str, Any]:
    """An extraction job's stats JSON (its in-process timers, tokens, GPU figures)."""
    try:
        stats = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable extraction stats ({exc}); rerun its job") from None
    if not isinstance(stats, dict):
        raise InputError(f"{path}: extraction stats are not a JSON object")
    return stats


def gpu_figures(stats: dict[str, Any]) -> dict[str, float]:
    """The :data:`GPU_FIGURES` a job recorded (absent or None where it could not measure)."""
    return {k: float(stats[k]) for k in GPU_FIGURES if isinstance(stats.get(k), (int, float))}
