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


def _ratio(num: float, den: float, empty: float = 0.0) -> float:
    return float(num / den) if den else empty


def ranking_areas(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """ROC-AUC and average precision from one sort of the scores.

    Both are read off the operating points at each distinct score (ties form one point):
    ROC-AUC as the trapezoidal area under (FPR, TPR), which equals the Mann-Whitney statistic
    with ties counted one half; average precision as the sum over those points of
    (recall step) x precision. One sort instead of two halves the cost in the bootstrap.
    """
    truth = np.asarray(labels).astype(bool)
    values = np.asarray(scores, dtype=float)
    n_pos = int(truth.sum())
    n_neg = truth.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan"), float("nan")
    order = np.argsort(values)[::-1]
    ranked = values[order]
    last = np.r_[np.flatnonzero(ranked[1:] != ranked[:-1]), ranked.size - 1]
    tp = np.cumsum(truth[order])[last]
    fp = last + 1 - tp
    tpr = np.r_[0, tp] / n_pos
    fpr = np.r_[0, fp] / n_neg
    auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2)
    ap = float(np.sum(np.diff(tpr) * (tp / (last + 1))))
    return auc, ap


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
    auc, ap = ranking_areas(labels, scores)
    return {
        "n": int(labels.size),
        "accuracy": _ratio(tp + tn, labels.size, float("nan")),
        "precision": precision,
        "recall": recall,
        "specificity": _ratio(tn, tn + fp, float("nan")),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "mcc": _ratio(tp * tn - fp * fn, den),
        "roc_auc": auc,
        "pr_auc": ap,
        "confusion": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
    }
