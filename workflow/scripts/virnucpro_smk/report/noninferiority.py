"""May the candidate protein model replace the baseline? The accuracy half of the decision.

A point estimate cannot answer a one-sided question like this one (with few test genomes any
difference is noise), so every gated figure is read off a bound of a paired bootstrap
interval, and the gate is built so that it cannot pass a model users would reject:

* **the errors users pay for.** Sensitivity (candidate - baseline, the lower bound above
  ``-sensitivity_margin``) and the false-positive rate as a **ratio** candidate / baseline
  (the upper bound below ``fpr_ratio_margin``). A difference of specificities hides a
  multiplied error rate (0.999 -> 0.996 is a difference of 0.003 and four times the false
  positives, which at 1 % viral prevalence takes precision from 0.91 to 0.71); a ratio does
  not. Rates under ``fpr_floor`` count as the floor, so two near-perfect models (or a
  baseline without a single false positive) give a finite ratio: below the floor a false
  positive rate is treated as negligible, and the floor is stated in the report.
* **every genome counts.** The gated rates are genome-averaged: each test genome's rate over
  its own units (chunks, or fragments of one length), averaged over genomes. Pooling units
  weighs a genome by its length, so a candidate blind to every small genome would barely
  move a pooled sensitivity; genome-averaged it loses a fifth. Pooled figures stay as context.
* **every gated stratum.** The chunk level and the per-sequence call at each gated fragment
  length are tested separately and the candidate must be non-inferior in *every* one (an
  intersection-union test: each stratum is tested at the full 2.5 % one-sided level, and the
  joint claim "non-inferior everywhere" holds only when every one does, so no multiplicity
  correction is needed). A stratum with fewer than ``min_test_genomes`` genomes of a class
  is reported ``not_gated`` and leaves the verdict at best ``inconclusive``: a stratum the
  test cannot judge is never passed silently.
* **the interval's sources.** Each resample draws viral and non-viral test genomes
  separately with replacement (stratified: every resample keeps the class sizes, so a rate
  is always defined) and, per model, its training seeds with replacement, so training
  variance is inside the interval. Both models see the same genome draws (paired).

Per gated metric: ``non_inferior`` when the whole interval is on the good side of the
margin, ``inferior`` when it is wholly on the bad side, else ``inconclusive``. The accuracy
verdict: ``inferior`` when any gated metric of any stratum is; ``non_inferior`` when all are
and at least ``min_seeds`` training seeds per model were compared; else ``inconclusive``,
with the reasons.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .level_metrics import interval

NON_INFERIOR, INFERIOR, INCONCLUSIVE, NOT_GATED = (
    "non_inferior",
    "inferior",
    "inconclusive",
    "not_gated",
)
ACCURACY_VERDICTS = (NON_INFERIOR, INFERIOR, INCONCLUSIVE)
GATED_METRICS = ("sensitivity", "false_positive_rate")
LEVEL = 0.95  # two-sided: each bound is a one-sided 97.5 % bound


@dataclass(frozen=True)
class AccuracySettings:
    """The gate's settings, every one from the schema-validated ``compare:`` section (no
    defaults here: the schema states them)."""

    sensitivity_margin: float
    fpr_ratio_margin: float
    fpr_floor: float
    min_test_genomes: int
    min_seeds: int
    resamples: int
    seed: int
    prevalences: tuple[float, ...]

    @classmethod
    def from_config(cls, compare: Mapping[str, Any]) -> AccuracySettings:
        """From the validated ``compare:`` section: ``margins``, ``fpr_floor``,
        ``min_test_genomes``, ``min_seeds``, ``bootstrap``, ``seed`` and ``prevalences``."""
        return cls(
            sensitivity_margin=float(compare["margins"]["sensitivity"]),
            fpr_ratio_margin=float(compare["margins"]["false_positive_rate_ratio"]),
            fpr_floor=compare["fpr_floor"],
            min_test_genomes=compare["min_test_genomes"],
            min_seeds=compare["min_seeds"],
            resamples=compare["bootstrap"],
            seed=compare["seed"],
            prevalences=tuple(compare["prevalences"]),
        )


@dataclass(frozen=True)
class Stratum:
    """One stratum's units for both models: what the gate resamples.

    ``calls[model]`` is a ``(seeds, units)`` boolean array (every seed scored the same units
    in the same order); ``genomes`` and ``labels`` are per unit.
    """

    name: str
    genomes: tuple[str, ...]
    labels: np.ndarray  # int, 1 viral
    baseline: np.ndarray  # bool (seeds, units)
    candidate: np.ndarray
    baseline_seeds: tuple[int, ...]
    candidate_seeds: tuple[int, ...]

    def __post_init__(self) -> None:
        n = len(self.genomes)
        for side in (self.baseline, self.candidate):
            if side.ndim != 2 or side.shape[1] != n or len(self.labels) != n:
                raise ValueError(f"stratum {self.name}: calls, labels and genomes disagree")


@dataclass(frozen=True)
class MetricResult:
    """One gated metric of one stratum: both models' genome-averaged values, the effect
    (difference or ratio) with its interval, and the metric's decision."""

    metric: str
    effect_kind: str  # "difference" (candidate - baseline) or "ratio" (candidate / baseline)
    margin: float
    baseline: float
    candidate: float
    baseline_ci95: tuple[float, float]
    candidate_ci95: tuple[float, float]
    effect: float
    effect_ci95: tuple[float, float]
    per_seed: dict[str, list[float]]
    decision: str
    rule: str


@dataclass(frozen=True)
class PrecisionAt:
    """Precision at one viral prevalence (context, not gated), with its interval."""

    precision: float
    ci95: tuple[float, float]


@dataclass(frozen=True)
class StratumResult:
    """The gate's figures for one stratum (gated or reported as too small to gate)."""

    name: str
    units: int
    viral_genomes: int
    nonviral_genomes: int
    gated: bool
    decision: str  # non_inferior / inferior / inconclusive / not_gated
    reasons: list[str]
    metrics: dict[str, MetricResult]
    context: dict[str, dict[str, object]] = field(default_factory=dict)
    # viral prevalence -> "baseline" / "candidate" -> its precision there
    low_prevalence_precision: dict[str, dict[str, PrecisionAt]] = field(default_factory=dict)


@dataclass(frozen=True)
class AccuracyResult:
    """The accuracy verdict with every stratum's evidence (the JSON's ``accuracy_test``)."""

    accuracy: str
    reasons: list[str]
    strata: dict[str, StratumResult]
    seeds: dict[str, list[int]]
    resamples: int
    bootstrap_seed: int
    settings: AccuracySettings
    method: str = (
        "genome-averaged rates; stratified (by class) paired genome bootstrap, training "
        "seeds resampled per model; intersection-union over the gated strata"
    )


# --------------------------------------------------------------------------- pieces


def precision_at(sensitivity: float, false_positive_rate: float, prevalence: float) -> float:
    """Precision when a fraction ``prevalence`` of units is viral (Bayes' rule).

    precision = sens * p / (sens * p + fpr * (1 - p)): at p = 1 % each multiple of the
    false-positive rate costs far more than a point of sensitivity.
    """
    hits = sensitivity * prevalence
    false = false_positive_rate * (1.0 - prevalence)
    return float(hits / (hits + false)) if hits + false > 0 else float("nan")


def difference_decision(ci: Sequence[float], margin: float) -> str:
    """Candidate - baseline (higher is better): non-inferior when the lower bound is above
    ``-margin``, inferior when the upper bound is below it."""
    lo, hi = ci
    if math.isnan(lo) or math.isnan(hi):
        return INCONCLUSIVE
    if lo > -margin:
        return NON_INFERIOR
    if hi < -margin:
        return INFERIOR
    return INCONCLUSIVE


def ratio_decision(ci: Sequence[float], margin: float) -> str:
    """Candidate / baseline of an error rate (lower is better): non-inferior when the upper
    bound is below ``margin``, inferior when the lower bound is above it."""
    lo, hi = ci
    if math.isnan(lo) or math.isnan(hi):
        return INCONCLUSIVE
    if hi < margin:
        return NON_INFERIOR
    if lo > margin:
        return INFERIOR
    return INCONCLUSIVE


def genome_rates(calls: np.ndarray, genome_codes: np.ndarray, n_genomes: int) -> np.ndarray:
    """``(seeds, genomes)``: each genome's fraction of units called viral, per seed."""
    units = np.bincount(genome_codes, minlength=n_genomes).astype(float)
    viral = np.stack([np.bincount(genome_codes, weights=c, minlength=n_genomes) for c in calls])
    return viral / units


def _pooled(calls: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Pooled (per unit) sensitivity, specificity and MCC, averaged over seeds: context."""
    out: dict[str, list[float]] = {"sensitivity": [], "specificity": [], "mcc": []}
    truth = labels.astype(bool)
    for c in calls:
        tp, fn = float((c & truth).sum()), float((~c & truth).sum())
        tn, fp = float((~c & ~truth).sum()), float((c & ~truth).sum())
        den = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        out["sensitivity"].append(tp / (tp + fn) if tp + fn else float("nan"))
        out["specificity"].append(tn / (tn + fp) if tn + fp else float("nan"))
        out["mcc"].append((tp * tn - fp * fn) / den if den else 0.0)
    return {k: float(np.mean(v)) for k, v in out.items()}


# --------------------------------------------------------------------------- one stratum


def judge_stratum(stratum: Stratum, settings: AccuracySettings, index: int = 0) -> StratumResult:
    """Genome-averaged sensitivity (difference) and false-positive rate (ratio) of one
    stratum with their stratified paired bootstrap intervals, and the stratum's decision."""
    names, codes = np.unique(
        np.asarray(stratum.genomes, dtype=object).astype(str), return_inverse=True
    )
    n_genomes = len(names)
    genome_label = np.full(n_genomes, -1)
    for code, label in zip(codes.tolist(), stratum.labels.tolist(), strict=True):
        if genome_label[code] not in (-1, label):
            raise ValueError(f"stratum {stratum.name}: genome {names[code]} holds both labels")
        genome_label[code] = label
    viral = np.flatnonzero(genome_label == 1)
    host = np.flatnonzero(genome_label == 0)
    reasons: list[str] = []
    gated = min(len(viral), len(host)) >= settings.min_test_genomes
    if not gated:
        reasons.append(
            f"{stratum.name}: too few test genomes to gate ({len(viral)} viral, {len(host)} "
            f"non-viral; at least {settings.min_test_genomes} of each needed)"
        )
    rates = {
        "baseline": genome_rates(stratum.baseline.astype(float), codes, n_genomes),
        "candidate": genome_rates(stratum.candidate.astype(float), codes, n_genomes),
    }
    rng = np.random.default_rng([settings.seed, index])
    b = settings.resamples

    def draw(members: np.ndarray) -> np.ndarray:
        """Resample weights ``(b, len(members))`` of one class's genomes."""
        if not len(members):
            return np.zeros((b, 0))
        return rng.multinomial(len(members), np.full(len(members), 1 / len(members)), size=b)

    weights = {"viral": draw(viral), "host": draw(host)}
    seed_weights = {
        name: rng.multinomial(r.shape[0], np.full(r.shape[0], 1 / r.shape[0]), size=b)
        for name, r in rates.items()
    }
    draws: dict[str, dict[str, np.ndarray]] = {}
    points: dict[str, dict[str, float]] = {}
    per_seed: dict[str, dict[str, list[float]]] = {}
    for name, r in rates.items():
        s = r.shape[0]
        draws[name], points[name], per_seed[name] = {}, {}, {}
        for metric, members, key in (
            ("sensitivity", viral, "viral"),
            ("false_positive_rate", host, "host"),
        ):
            sub = r[:, members]  # (seeds, class genomes)
            if not len(members):
                draws[name][metric] = np.full(b, np.nan)
                per_seed[name][metric] = [float("nan")] * s
                points[name][metric] = float("nan")
                continue
            # mean over drawn seeds of the mean over drawn genomes (both with replacement)
            draws[name][metric] = np.einsum(
                "bs,sg,bg->b", seed_weights[name], sub, weights[key]
            ) / (s * len(members))
            per_seed[name][metric] = [float(v) for v in sub.mean(axis=1)]
            points[name][metric] = float(np.mean(per_seed[name][metric]))
    floor = settings.fpr_floor

    def result(metric: str, kind: str, margin: float, effect, decision, rule: str):
        """One gated metric: both models' figures, ``effect`` (draws, point) of candidate
        against baseline, its interval and ``decision`` of that interval."""
        draws_effect, point_effect = effect
        effect_ci = interval(draws_effect, LEVEL)
        return MetricResult(
            metric,
            kind,
            margin,
            points["baseline"][metric],
            points["candidate"][metric],
            interval(draws["baseline"][metric], LEVEL),
            interval(draws["candidate"][metric], LEVEL),
            point_effect,
            effect_ci,
            {k: v[metric] for k, v in per_seed.items()},
            decision(effect_ci, margin),
            rule,
        )

    def floored(values: np.ndarray | float) -> np.ndarray:
        return np.maximum(np.asarray(values, dtype=float), floor)

    def change(metric: str, kind: str):
        """Candidate against baseline, as draws and as the point figure."""
        cand, base = draws["candidate"][metric], draws["baseline"][metric]
        point_cand, point_base = points["candidate"][metric], points["baseline"][metric]
        if kind == "difference":
            return cand - base, point_cand - point_base
        return floored(cand) / floored(base), float(floored(point_cand) / floored(point_base))

    metrics = {
        "sensitivity": result(
            "sensitivity",
            "difference",
            settings.sensitivity_margin,
            change("sensitivity", "difference"),
            difference_decision,
            f"genome-averaged sensitivity, candidate - baseline: lower 95 % bound > "
            f"-{settings.sensitivity_margin:g}",
        ),
        "false_positive_rate": result(
            "false_positive_rate",
            "ratio",
            settings.fpr_ratio_margin,
            change("false_positive_rate", "ratio"),
            ratio_decision,
            f"genome-averaged false-positive rate, candidate / baseline (each at least "
            f"{floor:g}): upper 95 % bound < {settings.fpr_ratio_margin:g}",
        ),
    }
    if not gated:
        decision = NOT_GATED
    else:
        decisions = {m: r.decision for m, r in metrics.items()}
        bad = [m for m, d in decisions.items() if d == INFERIOR]
        open_ = [m for m, d in decisions.items() if d == INCONCLUSIVE]
        if bad:
            decision = INFERIOR
            reasons.append(f"{stratum.name}: candidate worse beyond the margin on {', '.join(bad)}")
        elif open_:
            decision = INCONCLUSIVE
            reasons.append(
                f"{stratum.name}: the interval straddles the margin on {', '.join(open_)}"
            )
        else:
            decision = NON_INFERIOR
    precision: dict[str, dict[str, PrecisionAt]] = {}
    for p in settings.prevalences:
        precision[f"{p:g}"] = {
            name: PrecisionAt(
                precision_at(points[name]["sensitivity"], points[name]["false_positive_rate"], p),
                interval(
                    np.array(
                        [
                            precision_at(s, f, p)
                            for s, f in zip(
                                draws[name]["sensitivity"],
                                draws[name]["false_positive_rate"],
                                strict=True,
                            )
                        ]
                    ),
                    LEVEL,
                ),
            )
            for name in rates
        }
    context = {
        "pooled": {
            name: _pooled(getattr(stratum, name).astype(bool), stratum.labels)
            for name in ("baseline", "candidate")
        },
        "genome_averaged_specificity": {
            name: 1.0 - points[name]["false_positive_rate"] for name in rates
        },
    }
    return StratumResult(
        stratum.name,
        len(stratum.genomes),
        len(viral),
        len(host),
        gated,
        decision,
        reasons,
        metrics,
        context,  # type: ignore[arg-type]
        precision,
    )


# --------------------------------------------------------------------------- the verdict


def accuracy_test(strata: Sequence[Stratum], settings: AccuracySettings) -> AccuracyResult:
    """The accuracy verdict over the gated strata (intersection-union; see module doc)."""
    if not strata:
        raise ValueError("the accuracy test needs at least one stratum")
    results = {s.name: judge_stratum(s, settings, k) for k, s in enumerate(strata)}
    reasons = [r for res in results.values() for r in res.reasons]
    seeds = {
        "baseline": sorted(strata[0].baseline_seeds),
        "candidate": sorted(strata[0].candidate_seeds),
    }
    few_seeds = min(len(v) for v in seeds.values()) < settings.min_seeds
    if few_seeds:
        reasons.append(
            f"training variance not measured well enough: {len(seeds['baseline'])} baseline and "
            f"{len(seeds['candidate'])} candidate seed(s), at least {settings.min_seeds} needed"
        )
    decisions = [r.decision for r in results.values()]
    if INFERIOR in decisions:
        verdict = INFERIOR
    elif few_seeds or any(d != NON_INFERIOR for d in decisions):
        verdict = INCONCLUSIVE
    else:
        verdict = NON_INFERIOR
    return AccuracyResult(
        verdict, reasons, results, seeds, settings.resamples, settings.seed, settings
    )


def accuracy_fields(result: AccuracyResult) -> dict[str, Any]:
    """The accuracy verdict's JSON fields, the same in the comparison report and in
    ``virnucpro-smk decide``: the verdict, its reasons, the margins, the seeds, precision at
    low prevalence (chunk stratum, context) and every stratum's evidence."""
    evidence = asdict(result)
    chunk = evidence["strata"].get("chunk") or next(iter(evidence["strata"].values()))
    return {
        "accuracy": result.accuracy,
        "accuracy_reasons": list(result.reasons),
        "margins": {
            "sensitivity": result.settings.sensitivity_margin,
            "false_positive_rate_ratio": result.settings.fpr_ratio_margin,
        },
        "seeds": result.seeds,
        "low_prevalence_precision": chunk["low_prevalence_precision"],
        "accuracy_test": evidence,
    }
