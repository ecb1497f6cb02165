"""Is the candidate fast enough? The speed half of the decision, from repeated paired runs.

The figure that gates is what a user waits for: `predict` end to end on one fixed input (the
held-out fragments), preprocessing, DNA extraction, protein extraction and scoring, each a
fresh process as the workflow's jobs are (start-up and model loading included), run for
both models alternately (baseline, candidate, baseline, candidate, ...) inside one job that
holds every core and the run's GPUs (rule ``time_predict``, :mod:`..speed.predict_timing`).

Why paired ratios of adjacent runs: a machine drifts (another user, thermal state, page
cache), and a baseline run and the candidate run right after it share most of the drift, so
each pair's ratio ``baseline seconds / candidate seconds`` cancels it. The interval is a
t interval on the log ratios over the pairs (``n - 1`` degrees of freedom): with three to
five repeats a bootstrap has too few distinct resamples to mean anything (3 pairs give 10),
while the t interval is exact when the log ratios are normal and honest about its width
(with 3 pairs, t = 4.30). Three pairs are the fewest that give an interval with a measured
spread; fewer makes the verdict ``inconclusive``.

What else makes it ``inconclusive`` (speed under unequal conditions is not the models'):

* **outside load**: during each run, the CPU time the whole machine spent busy (``/proc/stat``)
  minus the CPU time of the run's own processes, per wall second, above
  ``max_outside_load`` cores; the load average before and after each run is recorded beside
  it but not gated (it is a one-minute moving average, so the previous run's own processes
  are still in it);
* **other GPU processes**: any process on the run's GPUs (NVML) before or after a run;
* **other jobs of the workflow** running while the timing job ran (benchmark files);
* **different run dtypes** of the two protein models (a bf16 model against a float32 one
  measures the dtype, not the model), or runs on different devices.

Verdict: ``fast_enough`` when the interval's lower bound is at least ``min_speedup``,
``too_slow`` when its upper bound is below it, else ``inconclusive``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..formats.speed_runs import SpeedRun

FAST_ENOUGH, TOO_SLOW, INCONCLUSIVE = "fast_enough", "too_slow", "inconclusive"
SPEED_VERDICTS = (FAST_ENOUGH, TOO_SLOW, INCONCLUSIVE)
MIN_PAIRS = 3  # the fewest pairs whose spread gives an interval (see the module doc)


@dataclass(frozen=True)
class SpeedResult:
    """The speed verdict with its runs, paired ratios and the conditions checked."""

    speed: str
    reasons: list[str]
    speedup: float | None  # geometric mean of the paired ratios (baseline s / candidate s)
    speedup_ci95: tuple[float, float] | None
    min_speedup: float
    pair_ratios: list[float]
    conditions_ok: bool
    condition_problems: list[str]
    runs: list[SpeedRun]
    method: str = (
        "predict end to end on the held-out fragments (preprocess, DNA, protein, scoring; "
        "each a fresh process), baseline and candidate alternating; t interval on the log "
        "ratios of adjacent pairs"
    )


def pair_ratios(runs: Sequence[SpeedRun], baseline: str, candidate: str) -> list[float]:
    """``baseline seconds / candidate seconds`` of each repeat's pair of runs."""
    by_repeat: dict[int, dict[str, float]] = {}
    for run in runs:
        by_repeat.setdefault(run.repeat, {})[run.model] = run.seconds
    return [
        pair[baseline] / pair[candidate]
        for _, pair in sorted(by_repeat.items())
        if baseline in pair and candidate in pair and pair[candidate] > 0
    ]


def ratio_interval(ratios: Sequence[float], level: float = 0.95) -> tuple[float, float] | None:
    """t interval of the geometric mean ratio (log scale); None with fewer than 2 ratios."""
    if len(ratios) < 2:
        return None
    from scipy.special import stdtrit  # Student t quantile (scipy.stats costs seconds to import)

    logs = np.log(np.asarray(ratios, dtype=float))
    quantile = float(stdtrit(len(logs) - 1, (1 + level) / 2))
    half = quantile * logs.std(ddof=1) / math.sqrt(len(logs))
    return (float(np.exp(logs.mean() - half)), float(np.exp(logs.mean() + half)))


def condition_problems(
    runs: Sequence[SpeedRun],
    baseline: str,
    candidate: str,
    max_outside_load: float,
    overlapping_jobs: Sequence[str] = (),
) -> list[str]:
    """Why the runs were not under equal conditions (empty: they were)."""
    problems: list[str] = []
    busy = [r for r in runs if r.outside_load is not None and r.outside_load > max_outside_load]
    if busy:
        worst = max(busy, key=lambda r: r.outside_load or 0.0)
        problems.append(
            f"outside load during {len(busy)} of {len(runs)} run(s) (up to "
            f"{worst.outside_load:.2f} cores busy with other processes, at most "
            f"{max_outside_load:g} allowed)"
        )
    unknown = [r for r in runs if r.outside_load is None]
    if unknown:
        problems.append(
            f"outside load not measurable on this system ({len(unknown)} run(s): no /proc/stat)"
        )
    gpu = [r for r in runs if r.gpu_processes_before or r.gpu_processes_after]
    if gpu:
        other = sorted({p for r in gpu for p in (*r.gpu_processes_before, *r.gpu_processes_after)})
        problems.append(
            f"other processes on the GPU around {len(gpu)} run(s): {', '.join(other[:5])}"
        )
    if overlapping_jobs:
        problems.append(
            f"{len(overlapping_jobs)} other job(s) of the workflow ran during the timed runs "
            f"(e.g. {Path(overlapping_jobs[0]).parent.name}/{Path(overlapping_jobs[0]).name})"
        )
    devices = sorted({r.device for r in runs})
    if len(devices) > 1:
        problems.append(f"the runs used different devices: {', '.join(devices)}")
    dtypes = {
        m: sorted({r.dtypes.get(m, "?") for r in runs if r.model == m})
        for m in (baseline, candidate)
    }
    if any(len(v) != 1 for v in dtypes.values()) or dtypes[baseline] != dtypes[candidate]:
        problems.append(
            f"the protein models ran in different dtypes ({baseline}: "
            f"{', '.join(dtypes[baseline]) or '?'}; {candidate}: "
            f"{', '.join(dtypes[candidate]) or '?'}): the ratio would measure the dtype"
        )
    return problems


def speed_test(
    runs: Sequence[SpeedRun],
    baseline: str,
    candidate: str,
    min_speedup: float,
    max_outside_load: float,
    overlapping_jobs: Sequence[str] = (),
) -> SpeedResult:
    """The speed verdict from the runs (see the module doc)."""
    ratios = pair_ratios(runs, baseline, candidate)
    ci = ratio_interval(ratios)
    point = float(np.exp(np.mean(np.log(ratios)))) if ratios else None
    problems = (
        condition_problems(runs, baseline, candidate, max_outside_load, overlapping_jobs)
        if runs
        else []
    )
    reasons = list(problems)
    if not runs:
        reasons.insert(0, "no speed runs (rule time_predict)")
    elif len(ratios) < MIN_PAIRS:
        reasons.insert(
            0,
            f"too few repeats for an interval: {len(ratios)} pair(s) of runs, at least "
            f"{MIN_PAIRS} needed (compare.speed_repeats)",
        )
    verdict = INCONCLUSIVE
    if not reasons and ci is not None:
        if ci[0] >= min_speedup:
            verdict = FAST_ENOUGH
        elif ci[1] < min_speedup:
            verdict = TOO_SLOW
            reasons.append(
                f"speed-up {point:.2f}x [{ci[0]:.2f}, {ci[1]:.2f}] is below the required "
                f"{min_speedup:g}x"
            )
        else:
            reasons.append(
                f"the speed-up interval [{ci[0]:.2f}, {ci[1]:.2f}] straddles the required "
                f"{min_speedup:g}x (more repeats narrow it)"
            )
    return SpeedResult(
        verdict,
        reasons,
        round(point, 4) if point is not None else None,
        (round(ci[0], 4), round(ci[1], 4)) if ci else None,
        min_speedup,
        [round(r, 4) for r in ratios],
        not problems,
        problems,
        list(runs),
    )
