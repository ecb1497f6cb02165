"""The comparison's figure: ROC and PR curves at chunk level, F1 per level (PNG bytes)."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping

import numpy as np

from .level_metrics import Level, LevelFigures


def figure_png(
    levels: Mapping[str, Mapping[str, Level]],
    figures: Mapping[str, LevelFigures],
    baseline: str,
    candidate: str,
    chunk_length: int,
) -> bytes:
    """ROC and PR curves at chunk level (operating point of the max rule marked) and F1 per
    level with its cluster-bootstrap interval (``levels``: each model's units, for the
    curves; ``figures``: the comparison's per-level figures)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, roc_curve

    fig, (roc_ax, pr_ax, f1_ax) = plt.subplots(1, 3, figsize=(13, 4.2))
    colours = {baseline: "#2c7fb8", candidate: "#d95f02"}
    for name in (baseline, candidate):
        level = levels[name]["chunk"]
        m = figures["chunk"].models[name].metrics
        colour = colours[name]
        if not math.isnan(m["roc_auc"]):
            fpr, tpr, _ = roc_curve(level.labels, level.scores)
            prec, rec, _ = precision_recall_curve(level.labels, level.scores)
            roc_ax.plot(fpr, tpr, color=colour, label=f"{name} (AUC {m['roc_auc']:.3f})")
            pr_ax.plot(rec, prec, color=colour, label=f"{name} (AP {m['pr_auc']:.3f})")
        roc_ax.plot(1 - m["specificity"], m["recall"], "o", color=colour, ms=6)
        pr_ax.plot(m["recall"], m["precision"], "o", color=colour, ms=6)
    roc_ax.plot([0, 1], [0, 1], color="grey", lw=0.5, ls="--")
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (chunks)")
    pr_ax.set(xlabel="recall", ylabel="precision", title="precision-recall (chunks)")
    roc_ax.legend(fontsize=7, loc="lower right")
    pr_ax.legend(fontsize=7, loc="lower left")
    width = 0.38
    names = list(figures)  # frame, chunk, then one sequence level per fragment length
    for k, name in enumerate((baseline, candidate)):
        xs = np.arange(len(names)) + (k - 0.5) * width
        per_level = [figures[lv].models[name] for lv in names]
        f1 = [m.metrics["f1"] for m in per_level]
        lo = [m.ci95["f1"][0] for m in per_level]
        hi = [m.ci95["f1"][1] for m in per_level]
        err = np.nan_to_num(np.array([np.subtract(f1, lo), np.subtract(hi, f1)]).clip(min=0))
        f1_ax.bar(xs, f1, width, yerr=err, capsize=3, color=colours[name], label=name)
    labels = [n.removeprefix("sequence_") for n in names]
    f1_ax.set_xticks(np.arange(len(names)), labels, fontsize=7)
    f1_ax.set(ylim=(0, 1.25), ylabel="F1", title="F1 per level (95 % genome bootstrap)")
    f1_ax.set_yticks(np.linspace(0, 1, 6))
    f1_ax.legend(fontsize=7, loc="upper center", ncol=2)
    fig.suptitle(
        f"Held-out test genomes, chunk length {chunk_length} bp; ROC/PR on predict's chunks "
        "(dots: the called operating point); F1 also on annotated-CDS frames and per fragment "
        "length",
        fontsize=10,
    )
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()
