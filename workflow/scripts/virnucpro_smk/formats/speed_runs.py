"""The speed runs file (``predict_runs_chunk<L>.json``): what rule ``time_predict`` writes and
the comparison's speed verdict reads, one :class:`SpeedRun` per timed end-to-end run."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

#: The stages of one timed run, each a fresh process (``speed.predict_stage``).
STAGES = ("preprocess", "dna", "protein", "predict")


@dataclass(frozen=True)
class SpeedRun:
    """One end-to-end predict run of one model, with the conditions around it."""

    model: str
    repeat: int  # 0-based pair number
    position: int  # 0-based place in the run order
    seconds: float  # wall seconds, all stages
    stage_seconds: dict[str, float]
    device: str
    dtypes: dict[str, str]  # model name -> run dtype (the DNA model and this protein model)
    loadavg_before: tuple[float, float, float]
    loadavg_after: tuple[float, float, float]
    outside_load: float | None  # cores busy with other processes during the run; None unknown
    gpu_processes_before: tuple[str, ...] = ()  # other processes on the run's GPUs (NVML)
    gpu_processes_after: tuple[str, ...] = ()
    gpu_figures: dict[str, dict[str, float]] = field(default_factory=dict)  # stage -> figures


def runs_from_json(data: Mapping[str, object], where: str = "speed runs") -> list[SpeedRun]:
    """The :class:`SpeedRun` list of a runs JSON (what rule ``time_predict`` writes)."""
    try:
        return [
            SpeedRun(
                str(r["model"]),
                int(r["repeat"]),
                int(r["position"]),
                float(r["seconds"]),
                {str(k): float(v) for k, v in r["stage_seconds"].items()},
                str(r["device"]),
                {str(k): str(v) for k, v in r["dtypes"].items()},
                tuple(float(v) for v in r["loadavg_before"]),  # type: ignore[arg-type]
                tuple(float(v) for v in r["loadavg_after"]),  # type: ignore[arg-type]
                None if r["outside_load"] is None else float(r["outside_load"]),
                tuple(str(p) for p in r.get("gpu_processes_before", ())),
                tuple(str(p) for p in r.get("gpu_processes_after", ())),
                {
                    str(s): {str(k): float(v) for k, v in figs.items()}
                    for s, figs in (r.get("gpu_figures") or {}).items()
                },
            )
            for r in data["runs"]  # type: ignore[union-attr]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{where}: not a runs file of rule time_predict ({exc!r})") from None


def read_speed_runs(path: str | os.PathLike[str]) -> list[SpeedRun]:
    """Read the runs JSON of rule ``time_predict``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable speed runs ({exc}); rerun time_predict") from None
    return runs_from_json(data, str(path))
