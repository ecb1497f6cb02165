"""One classifier's test units as a :class:`Level`, their metrics, and record-level intervals.

A level is a set of units (frames here; chunks and fragments from the held-out tables,
:mod:`.heldout_levels`) with truth, a ranking score and a call. The **frame** level reads
``test_predictions.tsv``: each test frame, viral when ``score_viral >= 0.5``.

Frames of one genome are not independent (overlapping chunks, six frames per chunk, the
records of one assembly), so confidence intervals come from a cluster bootstrap that resamples
genomes, never frames: resampling frames would pretend there is far more evidence than there
is.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..classify.metrics import binary_metrics
from ..errors import InputError, ModelMismatchError
from ..formats.test_predictions import TEST_PREDICTIONS, TestScore

CI_METRICS = ("accuracy", "precision", "recall", "f1", "mcc", "roc_auc", "pr_auc")
FRAME_RULE = "a test frame is viral when score_viral >= 0.5"


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class TestPredictions:
    """One classifier's held-out test frames (rows of ``test_predictions.tsv``)."""

    __test__ = False  # not a pytest test class despite its name

    ids: list[str]
    datasets: list[str]
    groups: list[str]
    records: list[str]
    labels: np.ndarray
    scores: np.ndarray
    genomes: list[str] | None = None  # None: each record is its own genome

    def __post_init__(self) -> None:
        if self.genomes is None:
            object.__setattr__(self, "genomes", list(self.records))

    def subset(self, order: Sequence[int]) -> TestPredictions:
        pick = list(order)
        return TestPredictions(
            [self.ids[i] for i in pick],
            [self.datasets[i] for i in pick],
            [self.groups[i] for i in pick],
            [self.records[i] for i in pick],
            self.labels[pick],
            self.scores[pick],
            [self.genomes[i] for i in pick],  # type: ignore[index]
        )


def read_seed_predictions(path: str | os.PathLike[str]) -> dict[int, TestPredictions]:
    """Read and check ``test_predictions.tsv`` (``formats.test_predictions``): one
    :class:`TestPredictions` per training seed (file order), every seed scoring the same
    frames."""
    by_seed: dict[int, list[TestScore]] = {}
    for n, row in TEST_PREDICTIONS.read_numbered(path):
        where = f"{path}, line {n}"
        if row.label not in (0, 1):
            raise InputError(f"{where}: label must be 0 or 1, got {row.label}")
        if not 0.0 <= row.score_viral <= 1.0:
            raise InputError(f"{where}: score_viral {row.score_viral} not in [0, 1]")
        if len(row.id) < 3 or not row.record:
            raise InputError(f"{where}: a frame needs an id like <chunk>F1 and a record")
        by_seed.setdefault(row.seed, []).append(row)
    if not by_seed:
        raise InputError(f"{path}: no test frames")
    out = {seed: _seed_predictions(path, seed_rows) for seed, seed_rows in by_seed.items()}
    first = next(iter(out.values()))
    for seed, pred in out.items():
        if pred.ids != first.ids:
            raise InputError(f"{path}: training seed {seed} scored other frames than the first")
    return out


def _seed_predictions(path: str | os.PathLike[str], rows: list[TestScore]) -> TestPredictions:
    ids = [r.id for r in rows]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})[:10]
        raise InputError(f"{path}: duplicate frame ids {', '.join(dup)}")
    return TestPredictions(
        ids,
        [r.dataset for r in rows],
        [r.group for r in rows],
        [r.record for r in rows],
        np.array([r.label for r in rows], dtype=int),
        np.array([r.score_viral for r in rows], dtype=float),
        [r.genome or r.record for r in rows],
    )


def align(baseline: TestPredictions, candidate: TestPredictions) -> TestPredictions:
    """``candidate`` reordered to ``baseline``'s frames; refuse different test sets."""
    if set(baseline.ids) != set(candidate.ids):
        only_b = sorted(set(baseline.ids) - set(candidate.ids))[:10]
        only_c = sorted(set(candidate.ids) - set(baseline.ids))[:10]
        raise ModelMismatchError(
            "the two classifiers were not tested on the same frames "
            f"(only baseline: {only_b}; only candidate: {only_c}): train both on one manifest"
        )
    where = {fid: i for i, fid in enumerate(candidate.ids)}
    aligned = candidate.subset([where[fid] for fid in baseline.ids])
    for attr in ("labels", "records", "groups", "genomes"):
        if list(getattr(aligned, attr)) != list(getattr(baseline, attr)):
            raise ModelMismatchError(f"the two test sets disagree on the {attr} of some frames")
    return aligned


# --------------------------------------------------------------------------- levels


@dataclass(frozen=True)
class Level:
    """Units of one level (frames, chunks or sequences) with truth, ranking score and call."""

    name: str
    units: list[str]
    records: list[str]
    groups: list[str]
    labels: np.ndarray
    scores: np.ndarray
    calls: np.ndarray
    genomes: list[str] | None = None  # None: each record is its own genome

    def __post_init__(self) -> None:
        if self.genomes is None:
            object.__setattr__(self, "genomes", list(self.records))

    def metrics(self, index: np.ndarray | None = None) -> dict[str, Any]:
        if index is None:
            return binary_metrics(self.labels, self.scores, calls=self.calls)
        return binary_metrics(self.labels[index], self.scores[index], calls=self.calls[index])


def frame_level(pred: TestPredictions) -> Level:
    return Level(
        "frame",
        list(pred.ids),
        list(pred.records),
        list(pred.groups),
        pred.labels.copy(),
        pred.scores.copy(),
        pred.scores >= 0.5,
        list(pred.genomes or pred.records),
    )


@dataclass(frozen=True)
class ModelLevelFigures:
    metrics: dict[str, Any]  # :func:`..classify.metrics.binary_metrics`
    ci95: dict[str, tuple[float, float]]  # genome bootstrap, per metric of CI_METRICS


@dataclass(frozen=True)
class F1Drop:
    value: float  # baseline F1 - candidate F1
    ci95: tuple[float, float]


@dataclass(frozen=True)
class LevelFigures:
    """Both models at one level (first training seed), on the same genome resamples."""

    n: int  # units
    records: int
    genomes: int
    rule: str  # what a unit is and when it is called viral
    models: dict[str, ModelLevelFigures]
    f1_drop: F1Drop


@dataclass(frozen=True)
class GroupFigures:
    """One group's units at a level and the fraction of them called correctly."""

    n: int
    records: int
    label: str  # viral / nonviral
    metric: str  # recall (viral groups) / specificity (host groups)
    value: float


def per_group(level: Level) -> dict[str, GroupFigures]:
    """Recall for viral groups, specificity for host groups: the fraction called correctly.

    A group holding both labels (two datasets sharing a group name) gets one row per label,
    ``group (viral)`` and ``group (nonviral)``, rather than a meaningless mixed figure.
    """
    out: dict[str, GroupFigures] = {}
    groups = np.array(level.groups, dtype=object)
    records = np.array(level.records, dtype=object)
    for group in sorted(set(level.groups)):
        in_group = groups == group
        labels = sorted({int(v) for v in level.labels[in_group]}, reverse=True)
        for label in labels:
            mask = in_group & (level.labels == label)
            viral = label == 1
            key = group if len(labels) == 1 else f"{group} ({'viral' if viral else 'nonviral'})"
            out[key] = GroupFigures(
                n=int(mask.sum()),
                records=len(set(records[mask])),
                label="viral" if viral else "nonviral",
                metric="recall" if viral else "specificity",
                value=float((level.calls[mask] == viral).mean()),
            )
    return out


# --------------------------------------------------------------------------- bootstrap


def interval(values: Sequence[float] | np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval of the defined values (NaN when none)."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if not values.size:
        return (float("nan"), float("nan"))
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    return (float(np.percentile(values, lo)), float(np.percentile(values, hi)))


def cluster_bootstrap_ci(
    values_fn: Callable[[np.ndarray], Mapping[str, float]],
    records: Sequence[str],
    n: int,
    seed: int,
    level: float = 0.95,
) -> dict[str, tuple[float, float]]:
    """Percentile intervals of ``values_fn`` when whole records are resampled with replacement.

    ``records[i]`` is the record (cluster) of unit ``i``. Each of the ``n`` resamples draws as
    many records as there are, with replacement, and calls ``values_fn`` with the indices of
    all their units (a record drawn twice contributes its units twice). Resamples where a
    value is NaN (e.g. ROC-AUC with one class) are skipped for that value. Passing one record
    per unit gives the ordinary (unit-level) bootstrap. Deterministic for a given ``seed``.
    """
    if n < 1:
        raise ValueError(f"bootstrap needs at least one resample, got {n}")
    _, codes = np.unique(np.asarray(records, dtype=object).astype(str), return_inverse=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(codes))]
    clusters = [order[bounds[k] : bounds[k + 1]] for k in range(len(bounds) - 1)]
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {}
    for _ in range(n):
        pick = rng.integers(0, len(clusters), len(clusters))
        values = values_fn(np.concatenate([clusters[k] for k in pick]))
        for key, value in values.items():
            samples.setdefault(key, []).append(float(value))
    return {key: interval(vals, level) for key, vals in samples.items()}


def paired_values_fn(
    levels: Mapping[str, Level], baseline: str, candidate: str
) -> Callable[[np.ndarray], dict[str, float]]:
    """Metrics of both models on the same resampled units, and the F1 drop between them."""

    def values(index: np.ndarray) -> dict[str, float]:
        out: dict[str, float] = {}
        # a resample holding one class only defines none of the metrics (recall of no viral
        # unit would count as 0 by scikit-learn's convention): skipped, like ROC-AUC
        one_class = len(np.unique(next(iter(levels.values())).labels[index])) < 2
        for name, level in levels.items():
            m = level.metrics(index)
            out.update({f"{name}/{k}": np.nan if one_class else m[k] for k in CI_METRICS})
        out["f1_drop"] = out[f"{baseline}/f1"] - out[f"{candidate}/f1"]
        return out

    return values
