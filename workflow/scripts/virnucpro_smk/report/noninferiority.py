"""Is the candidate protein model no worse than the baseline, by a stated margin?

The question a lab asks before migrating is one-sided: may FastESM2_650 replace ESM2 3B
without losing more than a tolerable amount of accuracy? A point estimate cannot answer it
(with few test genomes any difference is noise), so the decision is read off the bound of a
paired bootstrap interval of the difference *candidate - baseline*:

* the two models' per-chunk calls are paired unit by unit (same test genomes, same chunks);
* each resample draws whole test genomes with replacement (frames and chunks of one genome
  are correlated) and, for each model, its training seeds with replacement, so training
  variance is part of the interval, not hidden in one lucky run;
* metrics that see both error types: sensitivity and specificity separately, and MCC. An F1
  margin on a balanced test set hides specificity, which governs precision at the low viral
  prevalence of real metagenomes (reported here at ``prevalences``).

Per metric with margin ``m``: ``non_inferior`` when the interval's lower bound is above
``-m``; ``inferior`` when its upper bound is below ``-m``; otherwise ``inconclusive`` (the
test cannot resolve the margin). Too few test genomes of a class, or fewer than three seeds,
is ``inconclusive`` whatever the interval says: a zero-width interval from eight genomes is
not evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .levels import Level

NI_METRICS = ("sensitivity", "specificity", "mcc")
DECISIONS = ("candidate_ok", "candidate_worse", "inconclusive")


def _rates(counts: np.ndarray) -> dict[str, np.ndarray]:
    """Sensitivity, specificity and MCC from confusion counts ``[..., (tp, fn, tn, fp)]``."""
    tp, fn, tn, fp = (counts[..., k].astype(float) for k in range(4))
    with np.errstate(invalid="ignore", divide="ignore"):
        sens = np.where(tp + fn > 0, tp / (tp + fn), np.nan)
        spec = np.where(tn + fp > 0, tn / (tn + fp), np.nan)
        den = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        mcc = np.where(den > 0, (tp * tn - fp * fn) / np.where(den > 0, den, 1.0), 0.0)
    return {"sensitivity": sens, "specificity": spec, "mcc": mcc}


def genome_counts(level: Level, genomes: Sequence[str]) -> np.ndarray:
    """Confusion counts ``(tp, fn, tn, fp)`` per genome (rows in ``genomes`` order)."""
    where = {g: k for k, g in enumerate(genomes)}
    code = np.array([where[g] for g in level.genomes or level.records], dtype=int)
    truth = level.labels.astype(bool)
    calls = level.calls.astype(bool)
    kinds = [truth & calls, truth & ~calls, ~truth & ~calls, ~truth & calls]
    out = np.zeros((len(genomes), 4), dtype=np.int64)
    for k, mask in enumerate(kinds):
        out[:, k] = np.bincount(code[mask], minlength=len(genomes))
    return out


def precision_at(sensitivity: float, specificity: float, prevalence: float) -> float:
    """Precision when a fraction ``prevalence`` of chunks is viral (Bayes' rule).

    A balanced test set says nothing directly about this: precision = sens * p /
    (sens * p + (1 - spec) * (1 - p)), so at p = 1 % each point of specificity lost costs far
    more than a point of sensitivity.
    """
    hits = sensitivity * prevalence
    false = (1.0 - specificity) * (1.0 - prevalence)
    return float(hits / (hits + false)) if hits + false > 0 else float("nan")


def _mean(values: np.ndarray) -> float:
    """Mean of the defined values (NaN when none: a resample without one class)."""
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


def _interval(values: np.ndarray, level: float = 0.95) -> list[float]:
    values = values[~np.isnan(values)]
    if not values.size:
        return [float("nan"), float("nan")]
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    return [float(np.percentile(values, lo)), float(np.percentile(values, hi))]


def metric_decision(interval: Sequence[float], margin: float) -> str:
    """``non_inferior``, ``inferior`` or ``inconclusive`` for a candidate - baseline interval."""
    lo, hi = interval
    if np.isnan(lo) or np.isnan(hi):
        return "inconclusive"
    if lo > -margin:
        return "non_inferior"
    if hi < -margin:
        return "inferior"
    return "inconclusive"


def noninferiority(
    baseline: Mapping[int, Level],
    candidate: Mapping[int, Level],
    margins: Mapping[str, float],
    *,
    resamples: int = 1000,
    seed: int = 0,
    prevalences: Sequence[float] = (0.01, 0.1),
    min_test_genomes: int = 20,
    min_seeds: int = 3,
) -> dict[str, Any]:
    """Paired, genome- and seed-resampling comparison of per-chunk calls (see module doc).

    ``baseline`` and ``candidate`` map each training seed to its chunk :class:`Level`; all
    levels hold the same chunks in the same order (the caller aligns them).
    """
    levels = [*baseline.values(), *candidate.values()]
    ref = levels[0]
    for lv in levels[1:]:
        if lv.units != ref.units or list(lv.labels) != list(ref.labels):
            raise ValueError("the compared levels do not hold the same units in the same order")
    genomes = sorted(set(ref.genomes or ref.records))
    counts = {
        "baseline": np.stack([genome_counts(lv, genomes) for lv in baseline.values()]),
        "candidate": np.stack([genome_counts(lv, genomes) for lv in candidate.values()]),
    }  # (seeds, genomes, 4)
    rng = np.random.default_rng(seed)
    draws: dict[str, dict[str, list[float]]] = {
        m: {"baseline": [], "candidate": []} for m in NI_METRICS
    }
    for _ in range(resamples):
        weights = np.bincount(rng.integers(0, len(genomes), len(genomes)), minlength=len(genomes))
        for name, c in counts.items():
            picked = c[rng.integers(0, c.shape[0], c.shape[0])]  # seeds with replacement
            rates = _rates(np.einsum("g,sgk->sk", weights, picked))
            for m in NI_METRICS:
                draws[m][name].append(_mean(rates[m]))
    point_rates = {name: _rates(c.sum(axis=1)) for name, c in counts.items()}  # per seed
    metrics: dict[str, Any] = {}
    for m in NI_METRICS:
        b, c = np.array(draws[m]["baseline"]), np.array(draws[m]["candidate"])
        diff_ci = _interval(c - b)
        per_seed = {name: [float(v) for v in point_rates[name][m]] for name in counts}
        point = {name: _mean(np.array(v)) for name, v in per_seed.items()}
        metrics[m] = {
            "margin": float(margins[m]),
            "baseline": point["baseline"],
            "candidate": point["candidate"],
            "difference": point["candidate"] - point["baseline"],
            "difference_ci95": diff_ci,
            "per_seed": per_seed,
            "seed_spread": {
                name: (max(v) - min(v) if v else float("nan")) for name, v in per_seed.items()
            },
            "ci95": {"baseline": _interval(b), "candidate": _interval(c)},
            "decision": metric_decision(diff_ci, float(margins[m])),
        }
    low_prevalence: dict[str, Any] = {}
    for p in prevalences:
        row: dict[str, Any] = {}
        for name in counts:
            sens_draws = np.array(draws["sensitivity"][name])
            spec_draws = np.array(draws["specificity"][name])
            row[name] = {
                "precision": precision_at(
                    metrics["sensitivity"][name], metrics["specificity"][name], p
                ),
                "ci95": _interval(
                    np.array(
                        [precision_at(s, t, p) for s, t in zip(sens_draws, spec_draws, strict=True)]
                    )
                ),
            }
        low_prevalence[f"{p:g}"] = row
    per_class = {
        "viral": len({g for g, y in zip(ref.genomes or [], ref.labels, strict=True) if y == 1}),
        "nonviral": len({g for g, y in zip(ref.genomes or [], ref.labels, strict=True) if y == 0}),
    }
    reasons = []
    if min(per_class.values()) < min_test_genomes:
        reasons.append(
            f"too few test genomes to resolve a margin ({per_class['viral']} viral, "
            f"{per_class['nonviral']} non-viral; at least {min_test_genomes} of each needed)"
        )
    n_seeds = {name: c.shape[0] for name, c in counts.items()}
    if min(n_seeds.values()) < min_seeds:
        reasons.append(
            f"training variance not measured: {n_seeds['baseline']} baseline and "
            f"{n_seeds['candidate']} candidate seed(s), at least {min_seeds} needed"
        )
    decisions = {m: metrics[m]["decision"] for m in NI_METRICS}
    failing = [m for m, d in decisions.items() if d == "inferior"]
    open_ = [m for m, d in decisions.items() if d == "inconclusive"]
    if failing:
        verdict = "inferior"
        reasons.insert(0, f"candidate worse beyond the margin on {', '.join(failing)}")
    elif open_ or reasons:
        verdict = "inconclusive"
        if open_:
            reasons.insert(0, f"the interval straddles the margin on {', '.join(open_)}")
    else:
        verdict = "non_inferior"
    return {
        "level": "chunk",
        "unit": "genome (paired cluster bootstrap) x training seed (resampled per model)",
        "resamples": resamples,
        "bootstrap_seed": seed,
        "test_genomes": per_class,
        "seeds": {
            name: sorted(int(s) for s in lv)
            for name, lv in (("baseline", baseline), ("candidate", candidate))
        },
        "metrics": metrics,
        "low_prevalence_precision": low_prevalence,
        "accuracy": verdict,
        "reasons": reasons,
    }


def decide(accuracy: Mapping[str, Any], speed: Mapping[str, Any]) -> dict[str, Any]:
    """The migration decision from the accuracy test and the speed measurement.

    ``candidate_ok``: non-inferior on every margin, speed measured under equal conditions and
    at least the required speed-up. ``candidate_worse``: inferior beyond a margin, or slower
    than required under equal conditions. Anything else is ``inconclusive``, with the reasons.
    """
    reasons = list(accuracy.get("reasons", []))
    equal = bool(speed.get("equal_conditions"))
    speedup, required = speed.get("speedup"), speed.get("min_speedup")
    slow = equal and speedup is not None and required is not None and speedup < required
    if not equal:
        reasons.append(
            "speed not measured under equal conditions: "
            + "; ".join(speed.get("condition_problems") or ["unknown"])
        )
    elif speedup is None:
        reasons.append("no speed-up figure")
    elif slow:
        reasons.append(f"speed-up {speedup:.2f}x is below the required {required:g}x")
    if accuracy.get("accuracy") == "inferior" or slow:
        decision = "candidate_worse"
    elif accuracy.get("accuracy") == "non_inferior" and equal and speedup is not None:
        decision = "candidate_ok"
    else:
        decision = "inconclusive"
    return {"decision": decision, "reasons": reasons}
