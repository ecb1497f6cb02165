"""ESM2 3B vs FastESM2_650: accuracy and speed side by side, with a plain verdict.

Both classifiers are trained on the same manifest (same records, split and seed) and
evaluated on the same held-out test frames, so their metrics are directly comparable.
Confidence intervals come from a seeded bootstrap over test frames; speed comes from the
extraction jobs' own timers (stored in every embedding file) and Snakemake's benchmark files.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .artifacts import read_metadata
from .atomic import atomic_path, write_text_atomic
from .metrics import binary_metrics

log = logging.getLogger(__name__)

CI_METRICS = ("accuracy", "precision", "recall", "f1", "mcc", "roc_auc", "pr_auc")


@dataclass
class ModelResult:
    """Everything the report needs about one protein model's classifier."""

    protein_model: str
    metadata: dict[str, Any]
    labels: np.ndarray
    scores: np.ndarray
    groups: list[str]
    ids: list[str]
    speed: dict[str, Any]


def read_test_predictions(
    path: str | os.PathLike[str],
) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
    with open(path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return (
        [r["id"] for r in rows],
        np.array([int(r["label"]) for r in rows]),
        np.array([float(r["score_viral"]) for r in rows]),
        [r["group"] for r in rows],
    )


def bootstrap_ci(
    labels: np.ndarray, scores: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals of the headline metrics (resampling test frames)."""
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {m: [] for m in CI_METRICS}
    n = len(labels)
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        if len(np.unique(labels[idx])) < 2:
            continue
        values = binary_metrics(labels[idx], scores[idx])
        for m in CI_METRICS:
            samples[m].append(values[m])
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    return {
        m: (float(np.percentile(v, lo)), float(np.percentile(v, hi))) if v else (float("nan"),) * 2
        for m, v in samples.items()
    }


def per_group(labels: np.ndarray, scores: np.ndarray, groups: Sequence[str]) -> dict[str, dict]:
    """Recall for viral groups and specificity for host groups (fraction called correctly)."""
    out = {}
    pred = scores >= 0.5
    for group in sorted(set(groups)):
        mask = np.array([g == group for g in groups])
        label = int(labels[mask][0])
        correct = float((pred[mask] == (labels[mask] == 1)).mean())
        out[group] = {
            "n": int(mask.sum()),
            "label": "viral" if label else "nonviral",
            "metric": "recall" if label else "specificity",
            "value": correct,
        }
    return out


def extraction_speed(
    embedding_files: Sequence[str | os.PathLike[str]],
    benchmark_files: Sequence[str | os.PathLike[str]],
) -> dict[str, Any]:
    """Sum the extraction timers of a model's embedding files and its jobs' benchmarks."""
    records = tokens = 0
    seconds = 0.0
    peak: list[float] = []
    devices: set[str] = set()
    for path in embedding_files:
        stats = read_metadata(path).get("stats", {})
        records += stats.get("records", 0)
        tokens += stats.get("tokens", 0)
        seconds += stats.get("seconds", 0.0)
        if stats.get("peak_gpu_mib") is not None:
            peak.append(stats["peak_gpu_mib"])
        devices.add(stats.get("device_name", "unknown"))
    wall = sum(benchmark_seconds(path) or 0.0 for path in benchmark_files)
    return {
        "jobs": len(embedding_files),
        "records": records,
        "tokens": tokens,
        "extraction_seconds": round(seconds, 3),
        "job_wall_seconds": round(wall, 3),
        "records_per_s": round(records / seconds, 2) if seconds else None,
        "tokens_per_s": round(tokens / seconds, 1) if seconds else None,
        "peak_gpu_mib": max(peak) if peak else None,
        "devices": sorted(devices),
    }


def benchmark_seconds(path: str | os.PathLike[str]) -> float | None:
    """Wall seconds of a job from its Snakemake benchmark file (last repeat), if present."""
    if not Path(path).is_file():
        return None
    with open(path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return float(rows[-1]["s"]) if rows else None


def verdict(
    baseline: dict, candidate: dict, speedup: float | None, max_f1_drop: float, min_speedup: float
) -> dict[str, Any]:
    """Pass/fail per criterion: F1 may drop at most ``max_f1_drop``; speed-up >= ``min_speedup``."""
    f1_drop = baseline["f1"] - candidate["f1"]
    criteria = {
        "f1_drop": {
            "value": f1_drop,
            "threshold": max_f1_drop,
            "pass": bool(f1_drop <= max_f1_drop + 1e-9),
            "rule": f"F1 drop <= {max_f1_drop}",
        },
        "speedup": {
            "value": speedup,
            "threshold": min_speedup,
            "pass": bool(speedup is not None and speedup >= min_speedup),
            "rule": f"extraction speed-up >= {min_speedup}x",
        },
    }
    return {"criteria": criteria, "pass": all(c["pass"] for c in criteria.values())}


def _curves_png(results: Sequence[ModelResult], chunk_length: int) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, roc_curve

    fig, (roc_ax, pr_ax) = plt.subplots(1, 2, figsize=(9, 4))
    for res in results:
        fpr, tpr, _ = roc_curve(res.labels, res.scores)
        prec, rec, _ = precision_recall_curve(res.labels, res.scores)
        m = binary_metrics(res.labels, res.scores)
        roc_ax.plot(fpr, tpr, label=f"{res.protein_model} (AUC {m['roc_auc']:.3f})")
        pr_ax.plot(rec, prec, label=f"{res.protein_model} (AP {m['pr_auc']:.3f})")
    roc_ax.plot([0, 1], [0, 1], color="grey", lw=0.5, ls="--")
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    pr_ax.set(xlabel="recall", ylabel="precision", title="precision-recall")
    for ax in (roc_ax, pr_ax):
        ax.legend(fontsize=7, loc="lower right" if ax is roc_ax else "lower left")
    fig.suptitle(f"Held-out test frames, chunk length {chunk_length} bp", fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def build_report(
    results: Sequence[ModelResult],
    chunk_length: int,
    baseline: str,
    candidate: str,
    max_f1_drop: float = 0.05,
    min_speedup: float = 2.0,
    n_boot: int = 1000,
    seed: int = 0,
) -> tuple[dict[str, Any], bytes]:
    by_name = {r.protein_model: r for r in results}
    if by_name[baseline].ids != by_name[candidate].ids:
        raise ValueError("the two classifiers were not tested on the same frames")
    models: dict[str, Any] = {}
    for res in results:
        models[res.protein_model] = {
            "metrics": binary_metrics(res.labels, res.scores),
            "ci95": bootstrap_ci(res.labels, res.scores, n_boot, seed),
            "per_group": per_group(res.labels, res.scores, res.groups),
            "speed": res.speed,
            "input_width": res.metadata.get("input_width"),
            "manifest_sha256": res.metadata.get("manifest_sha256"),
            "epochs_run": res.metadata.get("epochs_run"),
        }
    base_s = by_name[baseline].speed.get("extraction_seconds")
    cand_s = by_name[candidate].speed.get("extraction_seconds")
    speedup = base_s / cand_s if base_s and cand_s else None
    report = {
        "chunk_length": chunk_length,
        "baseline": baseline,
        "candidate": candidate,
        "test_frames": len(by_name[baseline].labels),
        "same_manifest": len({m["manifest_sha256"] for m in models.values()}) == 1,
        "models": models,
        "speedup": speedup,
        "verdict": verdict(
            models[baseline]["metrics"],
            models[candidate]["metrics"],
            speedup,
            max_f1_drop,
            min_speedup,
        ),
    }
    return report, _curves_png(results, chunk_length)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _table_head(title: str, columns: list[str]) -> list[str]:
    return ["", f"## {title}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]


def to_markdown(report: dict[str, Any]) -> str:
    names = list(report["models"])
    v = report["verdict"]
    lines = [
        f"# {report['baseline']} vs {report['candidate']} "
        f"(chunk length {report['chunk_length']} bp)",
        "",
        f"**Verdict: {'PASS' if v['pass'] else 'FAIL'}.** "
        + "; ".join(
            f"{c['rule']}: {_fmt(c['value'])} -> {'pass' if c['pass'] else 'fail'}"
            for c in v["criteria"].values()
        ),
        "",
        f"Test frames: {report['test_frames']}; same training manifest: {report['same_manifest']}.",
    ]
    lines += _table_head("Accuracy (held-out test split, 95 % bootstrap CI)", ["metric", *names])
    for metric in CI_METRICS:
        cells = []
        for n in names:
            m, ci = report["models"][n]["metrics"][metric], report["models"][n]["ci95"][metric]
            cells.append(f"{_fmt(m)} [{_fmt(ci[0])}, {_fmt(ci[1])}]")
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    lines.append(
        "| confusion (tn/fp/fn/tp) | "
        + " | ".join(
            "/".join(
                str(report["models"][n]["metrics"]["confusion"][k])
                for k in ("tn", "fp", "fn", "tp")
            )
            for n in names
        )
        + " |"
    )
    lines += _table_head("Per group", ["group", "metric", *names])
    groups = report["models"][names[0]]["per_group"]
    for g, info in groups.items():
        lines.append(
            f"| {g} (n={info['n']}) | {info['metric']} | "
            + " | ".join(_fmt(report["models"][n]["per_group"][g]["value"]) for n in names)
            + " |"
        )
    lines += _table_head("Speed (embedding extraction)", ["", *names])
    for key in (
        "records",
        "tokens",
        "extraction_seconds",
        "job_wall_seconds",
        "training_wall_seconds",
        "records_per_s",
        "tokens_per_s",
        "peak_gpu_mib",
        "devices",
    ):
        lines.append(
            f"| {key} | "
            + " | ".join(_fmt(report["models"][n]["speed"].get(key), 2) for n in names)
            + " |"
        )
    lines += [
        "",
        f"Speed-up of {report['candidate']} over {report['baseline']}: "
        f"{_fmt(report['speedup'], 2)}x (extraction seconds).",
        "",
    ]
    return "\n".join(lines)


def to_html(report: dict[str, Any], markdown_text: str, figure_png: bytes) -> str:
    """A self-contained page: tables from the markdown, the figure embedded as base64."""
    body = []
    table: list[str] = []

    def flush() -> None:
        if table:
            rows = [r.strip("|").split("|") for r in table if not set(r) <= set("|-")]
            head, *rest = rows
            body.append(
                "<table><thead><tr>"
                + "".join(f"<th>{html.escape(c.strip())}</th>" for c in head)
                + "</tr></thead><tbody>"
                + "".join(
                    "<tr>" + "".join(f"<td>{html.escape(c.strip())}</td>" for c in r) + "</tr>"
                    for r in rest
                )
                + "</tbody></table>"
            )
            table.clear()

    for line in markdown_text.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush()
        if line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("## "):
            body.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("**Verdict"):
            cls = "pass" if report["verdict"]["pass"] else "fail"
            body.append(f'<p class="verdict {cls}">{html.escape(line.replace("**", ""))}</p>')
        elif line:
            body.append(f"<p>{html.escape(line)}</p>")
    flush()
    image = base64.b64encode(figure_png).decode()
    body.insert(
        3,
        f'<figure><img alt="ROC and precision-recall curves" '
        f'src="data:image/png;base64,{image}"></figure>',
    )
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:.3em .6em;text-align:right}th{background:#f3f3f3}"
        ".verdict{font-weight:bold;padding:.5em}.pass{background:#e3f6e3}.fail{background:#fbe3e3}"
        "img{max-width:100%}"
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(report['baseline'])}"
        f" vs {html.escape(report['candidate'])}</title><style>{style}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )


def write_report(
    report: dict[str, Any],
    figure_png: bytes,
    html_path: str | os.PathLike[str],
    md_path: str | os.PathLike[str],
    json_path: str | os.PathLike[str],
    png_path: str | os.PathLike[str],
) -> None:
    md = to_markdown(report)
    write_text_atomic(md_path, md)
    write_text_atomic(json_path, json.dumps(report, indent=2, default=str) + "\n")
    write_text_atomic(html_path, to_html(report, md, figure_png))
    with atomic_path(png_path) as tmp:
        Path(tmp).write_bytes(figure_png)
