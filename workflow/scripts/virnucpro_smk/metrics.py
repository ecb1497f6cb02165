"""Binary classification metrics (viral = positive class), in plain numpy.

The comparison report recomputes every metric thousands of times inside a bootstrap, at
three levels (frame, chunk, sequence) for two models; scikit-learn's per-call validation
would dominate that loop, so the counts and both areas are computed directly here. The
conventions are scikit-learn's: precision/recall/F1 are 0 when undefined, MCC is 0 when its
denominator is 0, ROC-AUC counts ties as one half, PR-AUC is average precision (a step
function, no interpolation), and both areas are NaN when only one class is present.

``calls`` lets a caller decide the predicted class by its own rule (the original's per-chunk
max rule compares two maxima, which is not a threshold on any single stored score) while the
areas still rank ``scores``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import rankdata

METRICS = ("accuracy", "precision", "recall", "specificity", "f1", "mcc", "roc_auc", "pr_auc")


def _ratio(num: float, den: float, empty: float = 0.0) -> float:
    return float(num / den) if den else empty


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve as the Mann-Whitney statistic (ties count one half)."""
    labels = np.asarray(labels).astype(bool)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(np.asarray(scores, dtype=float))
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """PR-AUC as average precision: sum over score thresholds of (recall step) x precision."""
    labels = np.asarray(labels).astype(bool)
    n_pos = int(labels.sum())
    if n_pos == 0 or n_pos == labels.size:
        return float("nan")
    order = np.argsort(-np.asarray(scores, dtype=float), kind="mergesort")
    sorted_scores = np.asarray(scores, dtype=float)[order]
    tp = np.cumsum(labels[order])
    # one operating point per distinct score: the last position of each run of ties
    last = np.r_[np.flatnonzero(np.diff(sorted_scores)), labels.size - 1]
    tp_at = tp[last]
    precision = tp_at / (last + 1)
    recall_steps = np.diff(np.r_[0, tp_at]) / n_pos
    return float((recall_steps * precision).sum())


def binary_metrics(
    labels: np.ndarray,
    scores: np.ndarray,
    threshold: float = 0.5,
    calls: np.ndarray | None = None,
) -> dict:
    """Accuracy, precision, recall, specificity, F1, MCC, ROC-AUC, PR-AUC and the confusion.

    The predicted class is ``scores >= threshold`` unless ``calls`` (booleans, viral = True)
    is given.
    """
    labels = np.asarray(labels).astype(int)
    scores = np.asarray(scores, dtype=float)
    pred = (scores >= threshold) if calls is None else np.asarray(calls).astype(bool)
    if pred.shape != labels.shape or scores.shape != labels.shape:
        raise ValueError(
            f"labels {labels.shape}, scores {scores.shape} and calls {pred.shape} differ in shape"
        )
    truth = labels == 1
    tp = int(np.count_nonzero(truth & pred))
    fp = int(np.count_nonzero(~truth & pred))
    fn = int(np.count_nonzero(truth & ~pred))
    tn = int(labels.size - tp - fp - fn)
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    den = math.sqrt(float(tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return {
        "n": int(labels.size),
        "accuracy": _ratio(tp + tn, labels.size, float("nan")),
        "precision": precision,
        "recall": recall,
        "specificity": _ratio(tn, tn + fp, float("nan")),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "mcc": _ratio(tp * tn - fp * fn, den),
        "roc_auc": roc_auc(labels, scores),
        "pr_auc": average_precision(labels, scores),
        "confusion": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
    }
