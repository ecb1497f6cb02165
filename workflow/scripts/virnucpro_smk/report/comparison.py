"""ESM2 3B vs FastESM2_650: accuracy at three levels and end-to-end speed, with a verdict.

Both classifiers are trained on the same manifest (same records, split and seed) and tested
on the same held-out frames, so their metrics can be compared unit by unit:

* **frame**: each test frame, viral when ``score_viral >= 0.5``;
* **chunk** (the original's rule): a chunk (frame id minus its last two characters) is viral
  when its best viral score >= its best non-viral score over its test frames, with the
  non-viral score of a frame ``1 - score_viral`` (two-class softmax);
* **sequence**: a sequence (chunk id before ``_chunk_``) is viral when at least
  ``min_viral_fraction`` (0.5) of its scored chunks are viral, as ``predict`` does.

Frames of one source record are not independent (overlapping chunks, six frames per chunk,
one genome), so confidence intervals come from a cluster bootstrap that resamples records,
never frames: resampling frames would pretend there is far more evidence than there is.

Speed is judged end to end: the sum of the wall seconds Snakemake's benchmark files record
for every extraction job of a model (start-up and model loading included), shown beside the
in-process embedding seconds the jobs store in their safetensors metadata, so that a model
whose forward pass is fast but whose jobs are slow cannot pass unnoticed.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..errors import InputError, ModelMismatchError
from ..io.atomic import atomic_path, write_text_atomic
from ..io.embedding_files import read_metadata
from ..preprocess.chunking import chunk_of, sequence_of
from .metrics import binary_metrics

log = logging.getLogger(__name__)

LEVELS = ("frame", "chunk", "sequence")
CI_METRICS = ("accuracy", "precision", "recall", "f1", "mcc", "roc_auc", "pr_auc")
PREDICTION_COLUMNS = ("id", "dataset", "group", "record", "label", "score_viral")
TEMPLATE_DIR = Path(__file__).resolve().parents[3] / "report"
LEVEL_RULES = {
    "frame": "a test frame is viral when score_viral >= 0.5",
    "chunk": (
        "a chunk (frame id minus its last two characters) is viral when the best viral score "
        "of its test frames >= their best non-viral score (non-viral = 1 - score_viral): "
        "the original VirNucPro rule; ranked by (best viral - best non-viral + 1) / 2, "
        "i.e. (max + min of its frames' viral scores) / 2"
    ),
    "sequence": (
        "a sequence (chunk id before '_chunk_') is viral when at least {fraction:g} of its "
        "test chunks are viral (predict's rule without its scored-fraction condition: test "
        "frames are a balanced sample, not every chunk); ranked by that fraction"
    ),
}


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

    def subset(self, order: Sequence[int]) -> TestPredictions:
        pick = list(order)
        return TestPredictions(
            [self.ids[i] for i in pick],
            [self.datasets[i] for i in pick],
            [self.groups[i] for i in pick],
            [self.records[i] for i in pick],
            self.labels[pick],
            self.scores[pick],
        )


def read_test_predictions(path: str | os.PathLike[str]) -> TestPredictions:
    """Read and check ``test_predictions.tsv`` (columns ``PREDICTION_COLUMNS``)."""
    with open(path, encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = [c for c in PREDICTION_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
        rows = list(reader)
    if not rows:
        raise InputError(f"{path}: no test frames")
    labels, scores = [], []
    for n, row in enumerate(rows, start=2):
        if row["label"] not in ("0", "1"):
            raise InputError(f"{path} line {n}: label must be 0 or 1, got {row['label']!r}")
        try:
            score = float(row["score_viral"])
        except ValueError:
            score = float("nan")
        if not 0.0 <= score <= 1.0:
            raise InputError(f"{path} line {n}: score_viral {row['score_viral']!r} not in [0, 1]")
        if len(row["id"]) < 3 or not row["record"]:
            raise InputError(f"{path} line {n}: a frame needs an id like <chunk>F1 and a record")
        labels.append(int(row["label"]))
        scores.append(score)
    ids = [r["id"] for r in rows]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})[:10]
        raise InputError(f"{path}: duplicate frame ids {', '.join(dup)}")
    return TestPredictions(
        ids,
        [r["dataset"] for r in rows],
        [r["group"] for r in rows],
        [r["record"] for r in rows],
        np.array(labels, dtype=int),
        np.array(scores, dtype=float),
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
    for attr in ("labels", "records", "groups"):
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
    )


def _group_units(level: Level, key: Callable[[str], str]) -> dict[str, list[int]]:
    """Indices of ``level``'s units per parent unit (first-seen order), refusing mixed parents."""
    members: dict[str, list[int]] = {}
    for i, unit in enumerate(level.units):
        members.setdefault(key(unit), []).append(i)
    for parent, idx in members.items():
        for attr in ("records", "groups"):
            values = {getattr(level, attr)[i] for i in idx}
            if len(values) > 1:
                raise InputError(f"{parent}: its {level.name}s come from several {attr}: {values}")
        if len({int(level.labels[i]) for i in idx}) > 1:
            raise InputError(f"{parent}: its {level.name}s carry both labels")
    return members


def _parent_level(
    child: Level, name: str, members: dict[str, list[int]], scores: list[float], calls: list[bool]
) -> Level:
    first = [idx[0] for idx in members.values()]
    return Level(
        name,
        list(members),
        [child.records[i] for i in first],
        [child.groups[i] for i in first],
        child.labels[first],
        np.array(scores, dtype=float),
        np.array(calls, dtype=bool),
    )


def chunk_level(frames: Level) -> Level:
    """The original's max rule over each chunk's test frames (see ``LEVEL_RULES``)."""
    members = _group_units(frames, chunk_of)
    scores, calls = [], []
    for idx in members.values():
        viral = frames.scores[idx]
        best_viral = float(viral.max())
        best_nonviral = float((1.0 - viral).max())
        calls.append(best_viral >= best_nonviral)
        # (best viral - best non-viral + 1) / 2, written without the subtractions that
        # would turn equal margins into float noise (best non-viral = 1 - min viral)
        scores.append((best_viral + float(viral.min())) / 2.0)
    return _parent_level(frames, "chunk", members, scores, calls)


def sequence_level(chunks: Level, min_viral_fraction: float = 0.5) -> Level:
    """Viral when at least ``min_viral_fraction`` of a sequence's scored chunks are viral."""
    members = _group_units(chunks, sequence_of)
    fractions = [float(chunks.calls[idx].mean()) for idx in members.values()]
    calls = [f >= min_viral_fraction for f in fractions]
    return _parent_level(chunks, "sequence", members, fractions, calls)


def build_levels(pred: TestPredictions, min_viral_fraction: float = 0.5) -> dict[str, Level]:
    frames = frame_level(pred)
    chunks = chunk_level(frames)
    return {
        "frame": frames,
        "chunk": chunks,
        "sequence": sequence_level(chunks, min_viral_fraction),
    }


def per_group(level: Level) -> dict[str, dict[str, Any]]:
    """Recall for viral groups, specificity for host groups: the fraction called correctly.

    A group holding both labels (two datasets sharing a group name) gets one row per label,
    ``group (viral)`` and ``group (nonviral)``, rather than a meaningless mixed figure.
    """
    out: dict[str, dict[str, Any]] = {}
    groups = np.array(level.groups, dtype=object)
    records = np.array(level.records, dtype=object)
    for group in sorted(set(level.groups)):
        in_group = groups == group
        labels = sorted({int(v) for v in level.labels[in_group]}, reverse=True)
        for label in labels:
            mask = in_group & (level.labels == label)
            viral = label == 1
            key = group if len(labels) == 1 else f"{group} ({'viral' if viral else 'nonviral'})"
            out[key] = {
                "n": int(mask.sum()),
                "records": len(set(records[mask])),
                "label": "viral" if viral else "nonviral",
                "metric": "recall" if viral else "specificity",
                "value": float((level.calls[mask] == viral).mean()),
            }
    return out


# --------------------------------------------------------------------------- bootstrap


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
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    out: dict[str, tuple[float, float]] = {}
    for key, vals in samples.items():
        arr = np.array(vals)
        arr = arr[~np.isnan(arr)]
        out[key] = (
            (float(np.percentile(arr, lo)), float(np.percentile(arr, hi)))
            if arr.size
            else (float("nan"), float("nan"))
        )
    return out


def paired_values_fn(
    levels: Mapping[str, Level], baseline: str, candidate: str
) -> Callable[[np.ndarray], dict[str, float]]:
    """Metrics of both models on the same resampled units, and the F1 drop between them."""

    def values(index: np.ndarray) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, level in levels.items():
            m = level.metrics(index)
            out.update({f"{name}/{k}": m[k] for k in CI_METRICS})
        out["f1_drop"] = out[f"{baseline}/f1"] - out[f"{candidate}/f1"]
        return out

    return values


# --------------------------------------------------------------------------- speed


def _number(text: str | None) -> float | None:
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def read_benchmark(path: str | os.PathLike[str]) -> dict[str, float | None]:
    """Wall seconds (``s``) and ``max_rss`` (MiB) of one job, averaged over its repeats."""
    with open(path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows or "s" not in rows[0]:
        raise InputError(f"{path}: not a Snakemake benchmark file (needs a column 's')")
    seconds = [_number(r["s"]) for r in rows]
    if any(s is None for s in seconds):
        raise InputError(f"{path}: column 's' holds a non-number")
    rss = [v for v in (_number(r.get("max_rss")) for r in rows) if v is not None]
    return {"s": sum(seconds) / len(seconds), "max_rss": max(rss) if rss else None}  # type: ignore[arg-type]


def extraction_speed(
    model: str,
    embedding_files: Sequence[str | os.PathLike[str]],
    benchmark_files: Sequence[str | os.PathLike[str]],
    chunk_length: int | None = None,
) -> dict[str, Any]:
    """End-to-end and in-process extraction figures of one protein model.

    ``wall_seconds`` (the verdict's number) is the sum of the benchmark ``s`` of every job and
    is None when any benchmark file is missing; ``embed_seconds`` sums the in-process timers
    stored in the embedding files (``stats.embed_seconds``, or ``stats.seconds`` in files
    written before that key existed).
    """
    records = tokens = 0
    embed = load = 0.0
    has_load = bool(embedding_files)
    peak: list[float] = []
    devices: set[str] = set()
    for path in embedding_files:
        meta = read_metadata(path)
        if meta.get("model") != model:
            raise ModelMismatchError(f"{path}: holds {meta.get('model')} vectors, not {model}")
        if chunk_length is not None and int(meta.get("chunk_length", chunk_length)) != chunk_length:
            raise ModelMismatchError(
                f"{path}: chunk length {meta.get('chunk_length')}, expected {chunk_length}"
            )
        stats = meta.get("stats") or {}
        records += int(stats.get("records", 0))
        tokens += int(stats.get("tokens", 0))
        embed += float(stats.get("embed_seconds", stats.get("seconds", 0.0)))
        if stats.get("load_seconds") is None:
            has_load = False
        else:
            load += float(stats["load_seconds"])
        if stats.get("peak_gpu_mib") is not None:
            peak.append(float(stats["peak_gpu_mib"]))
        devices.add(str(stats.get("device_name", "unknown")))
    missing = [str(p) for p in benchmark_files if not Path(p).is_file()]
    jobs = [read_benchmark(p) for p in benchmark_files if Path(p).is_file()]
    wall = sum(j["s"] for j in jobs) if jobs and not missing else None  # type: ignore[misc]
    rss = [j["max_rss"] for j in jobs if j["max_rss"] is not None]
    return {
        "jobs": len(benchmark_files),
        "embedding_files": len(embedding_files),
        "missing_benchmarks": missing,
        "records": records,
        "tokens": tokens,
        "wall_seconds": round(wall, 3) if wall is not None else None,
        "embed_seconds": round(embed, 3),
        "load_seconds": round(load, 3) if has_load else None,
        "overhead_seconds": round(wall - embed, 3) if wall is not None else None,
        "records_per_wall_s": round(records / wall, 2) if wall else None,
        "tokens_per_embed_s": round(tokens / embed, 1) if embed else None,
        "max_rss_mib": max(rss) if rss else None,
        "peak_gpu_mib": round(max(peak), 1) if peak else None,
        "devices": sorted(devices),
    }


def speedups(baseline: Mapping[str, Any], candidate: Mapping[str, Any]) -> dict[str, Any]:
    """Baseline time / candidate time, end to end (verdict) and in process (context only)."""

    def ratio(key: str) -> float | None:
        b, c = baseline.get(key), candidate.get(key)
        return round(b / c, 3) if b and c else None

    problem = None
    if baseline.get("missing_benchmarks") or candidate.get("missing_benchmarks"):
        n = len(baseline.get("missing_benchmarks", [])) + len(
            candidate.get("missing_benchmarks", [])
        )
        problem = f"{n} extraction benchmark file(s) missing: no end-to-end time"
    elif not baseline.get("jobs") or not candidate.get("jobs"):
        problem = "no extraction benchmark files were given"
    elif baseline.get("records") != candidate.get("records"):
        problem = (
            f"the models embedded different numbers of records "
            f"({baseline.get('records')} vs {candidate.get('records')}): times are not comparable"
        )
    return {
        "end_to_end": None if problem else ratio("wall_seconds"),
        "in_process": ratio("embed_seconds"),
        "problem": problem,
    }


# --------------------------------------------------------------------------- verdict


def verdict(
    baseline_f1: float,
    candidate_f1: float,
    speedup: float | None,
    max_f1_drop: float,
    min_speedup: float,
    speed_problem: str | None = None,
) -> dict[str, Any]:
    """Pass when the per-chunk F1 drops at most ``max_f1_drop`` and the end-to-end extraction
    speed-up is at least ``min_speedup`` (both point estimates; a missing figure fails)."""
    f1_drop = baseline_f1 - candidate_f1
    criteria = {
        "f1_drop": {
            "value": f1_drop,
            "threshold": max_f1_drop,
            "pass": bool(not math.isnan(f1_drop) and f1_drop <= max_f1_drop + 1e-12),
            "rule": f"F1 drop <= {max_f1_drop}",
            "basis": "per-chunk F1 (max rule) on the held-out test split, baseline - candidate",
        },
        "speedup": {
            "value": speedup,
            "threshold": min_speedup,
            "pass": bool(speedup is not None and speedup >= min_speedup - 1e-12),
            "rule": f"end-to-end extraction speed-up >= {min_speedup}x",
            "basis": (
                "sum of wall seconds (benchmark 's') of all extraction jobs, baseline / "
                "candidate, start-up and model loading included"
            ),
            "problem": speed_problem,
        },
    }
    return {"criteria": criteria, "pass": all(c["pass"] for c in criteria.values())}


# --------------------------------------------------------------------------- manifest


def _total(value: Any) -> int | float | None:
    """Sum of a count or of a (nested) mapping of counts; None when not numeric."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, Mapping):
        parts = [_total(v) for v in value.values()]
        return None if any(p is None for p in parts) else sum(parts)  # type: ignore[arg-type]
    return None


def manifest_tables(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Frames available vs used per group, and the split sizes, from the manifest summary."""
    for key in ("available_by_group", "used_by_group"):
        if not isinstance(summary.get(key), Mapping):
            raise InputError(f"training manifest summary: missing the mapping {key!r}")
    available, used = summary["available_by_group"], summary["used_by_group"]
    groups = sorted(set(available) | set(used))
    rows = []
    for g in groups:
        a, u = int(available.get(g, 0)), int(used.get(g, 0))
        if u > a:
            raise InputError(f"training manifest summary: group {g} uses {u} of {a} frames")
        rows.append({"group": g, "available": a, "used": u, "fraction": u / a if a else None})
    total_a, total_u = sum(r["available"] for r in rows), sum(r["used"] for r in rows)
    return {
        "by_group": rows,
        "total": {
            "available": total_a,
            "used": total_u,
            "fraction": total_u / total_a if total_a else None,
        },
        "by_split": summary.get("by_split", {}),
        "records_by_split": summary.get("records_by_split", {}),
        "records_shared_between_splits": summary.get("records_shared_between_splits"),
    }


def consistency_checks(
    pred: TestPredictions,
    levels: Mapping[str, Level],
    manifest: Mapping[str, Any],
    metadata: Mapping[str, Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Cross-checks shown in the report: do the inputs describe one and the same experiment?"""
    checks = []
    shas = {m: meta.get("manifest_sha256") for m, meta in metadata.items()}
    checks.append(
        {
            "check": "both classifiers trained on one manifest (manifest_sha256)",
            "ok": len(set(shas.values())) == 1 and None not in shas.values(),
            "detail": ", ".join(f"{m}: {str(s)[:12]}" for m, s in shas.items()),
        }
    )
    test_frames = _total(manifest["by_split"].get("test"))
    if test_frames is not None:
        checks.append(
            {
                "check": "test frames scored = test frames in the manifest",
                "ok": int(test_frames) == len(pred.ids),
                "detail": f"{len(pred.ids)} scored, {int(test_frames)} in the manifest",
            }
        )
    test_records = _total(manifest["records_by_split"].get("test"))
    if test_records is not None:
        n = len(set(pred.records))
        checks.append(
            {
                "check": "test records scored = test records in the manifest",
                "ok": int(test_records) == n,
                "detail": f"{n} scored, {int(test_records)} in the manifest",
            }
        )
    split_total = _total(manifest["by_split"])
    if split_total is not None and manifest["by_split"]:
        used = manifest["total"]["used"]
        checks.append(
            {
                "check": "frames used = frames in the train, val and test splits",
                "ok": int(split_total) == used,
                "detail": f"{used} used, {int(split_total)} in the splits",
            }
        )
    shared = manifest.get("records_shared_between_splits")
    if isinstance(shared, Mapping):
        checks.append(
            {
                "check": "no record in two splits (the test split is unseen records)",
                "ok": all(int(v) == 0 for v in shared.values()),
                "detail": ", ".join(f"{k}: {v}" for k, v in shared.items()) or "none",
            }
        )
    checks.append(
        {
            "check": "both classes present at every level",
            "ok": all(len(set(lv.labels.tolist())) == 2 for lv in levels.values()),
            "detail": ", ".join(
                f"{n}: {int(lv.labels.sum())} viral / {int((lv.labels == 0).sum())} non-viral"
                for n, lv in levels.items()
            ),
        }
    )
    return checks


# --------------------------------------------------------------------------- the report


@dataclass
class CompareSettings:
    baseline: str
    candidate: str
    max_f1_drop: float = 0.05
    min_speedup: float = 2.0
    bootstrap: int = 1000
    seed: int = 0
    min_viral_fraction: float = 0.5

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> CompareSettings:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(settings) - known)
        if unknown:
            raise InputError(f"compare settings: unknown key(s) {', '.join(unknown)}")
        for key in ("baseline", "candidate"):
            if not settings.get(key):
                raise InputError(f"compare settings: {key!r} is required")
        if settings["baseline"] == settings["candidate"]:
            raise InputError("compare settings: baseline and candidate are the same model")
        return cls(**settings)


@dataclass
class ModelResult:
    """Everything the report needs about one protein model's classifier."""

    name: str
    predictions: TestPredictions
    metadata: dict[str, Any]
    speed: dict[str, Any] = field(default_factory=dict)


def load_model_result(
    name: str,
    tests: str | os.PathLike[str],
    metadata: str | os.PathLike[str],
    embeddings: Sequence[str | os.PathLike[str]],
    extraction_benchmarks: Sequence[str | os.PathLike[str]],
    train_benchmark: str | os.PathLike[str] | None = None,
    chunk_length: int | None = None,
) -> ModelResult:
    """Read one model's test predictions, classifier metadata and speed figures."""
    meta = json.loads(Path(metadata).read_text(encoding="utf-8"))
    if meta.get("protein_model", name) != name:
        raise ModelMismatchError(f"{metadata}: a {meta['protein_model']} classifier, not {name}")
    if chunk_length is not None and int(meta.get("chunk_length", chunk_length)) != chunk_length:
        raise ModelMismatchError(
            f"{metadata}: trained on {meta['chunk_length']} bp chunks, not {chunk_length}"
        )
    speed = extraction_speed(name, embeddings, extraction_benchmarks, chunk_length)
    if train_benchmark is not None and Path(train_benchmark).is_file():
        speed["training_wall_seconds"] = round(read_benchmark(train_benchmark)["s"] or 0.0, 3)
    else:
        speed["training_wall_seconds"] = None
    return ModelResult(name, read_test_predictions(tests), meta, speed)


def _level_summary(
    levels: Mapping[str, Mapping[str, Level]],
    settings: CompareSettings,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for level_name in LEVELS:
        by_model = {m: lv[level_name] for m, lv in levels.items()}
        ref = by_model[settings.baseline]
        ci = cluster_bootstrap_ci(
            paired_values_fn(by_model, settings.baseline, settings.candidate),
            ref.records,
            settings.bootstrap,
            settings.seed,  # the same record draws at every level: one coherent resample
        )
        models = {}
        for name, level in by_model.items():
            models[name] = {
                "metrics": level.metrics(),
                "ci95": {m: ci[f"{name}/{m}"] for m in CI_METRICS},
            }
        drop = (
            models[settings.baseline]["metrics"]["f1"] - models[settings.candidate]["metrics"]["f1"]
        )
        out[level_name] = {
            "n": len(ref.units),
            "records": len(set(ref.records)),
            "rule": LEVEL_RULES[level_name].format(fraction=settings.min_viral_fraction),
            "models": models,
            "f1_drop": {"value": drop, "ci95": ci["f1_drop"]},
        }
    return out


def build_report(
    results: Sequence[ModelResult],
    chunk_length: int,
    settings: CompareSettings,
    manifest_summary: Mapping[str, Any],
) -> tuple[dict[str, Any], bytes]:
    """All figures of the comparison (a JSON-able dict) and the ROC/PR/F1 figure (PNG bytes)."""
    by_name = {r.name: r for r in results}
    for key in (settings.baseline, settings.candidate):
        if key not in by_name:
            raise InputError(f"compare: no results for {key} (have {', '.join(by_name)})")
    base_pred = by_name[settings.baseline].predictions
    preds = {
        name: base_pred if name == settings.baseline else align(base_pred, r.predictions)
        for name, r in by_name.items()
    }
    levels = {name: build_levels(p, settings.min_viral_fraction) for name, p in preds.items()}
    summary = _level_summary(levels, settings)
    manifest = manifest_tables(manifest_summary)
    speeds = speedups(by_name[settings.baseline].speed, by_name[settings.candidate].speed)
    chunk = summary["chunk"]["models"]
    models: dict[str, Any] = {}
    for name, res in by_name.items():
        models[name] = {
            "metrics": chunk[name]["metrics"],
            "ci95": chunk[name]["ci95"],
            "per_group": per_group(levels[name]["chunk"]),
            "speed": res.speed,
            "input_width": res.metadata.get("input_width"),
            "manifest_sha256": res.metadata.get("manifest_sha256"),
            "epochs_run": res.metadata.get("epochs_run"),
            # which weights made the features (hub commit or sha256 of local weight files)
            "dna_commit": res.metadata.get("dna_commit"),
            "protein_commit": res.metadata.get("protein_commit"),
        }
    shas = {m["manifest_sha256"] for m in models.values()}
    report = {
        "project_version": __version__,
        "chunk_length": chunk_length,
        "baseline": settings.baseline,
        "candidate": settings.candidate,
        "settings": settings.__dict__,
        "test_frames": summary["frame"]["n"],
        "test_chunks": summary["chunk"]["n"],
        "test_sequences": summary["sequence"]["n"],
        "test_records": summary["frame"]["records"],
        "same_manifest": len(shas) == 1 and None not in shas,
        "bootstrap": {
            "resamples": settings.bootstrap,
            "seed": settings.seed,
            "unit": "record (cluster bootstrap: whole records resampled with replacement)",
            "level": 0.95,
        },
        "levels": summary,
        "models": models,
        "speedup": speeds["end_to_end"],
        "speed": speeds,
        "manifest": manifest,
        "checks": consistency_checks(
            base_pred,
            levels[settings.baseline],
            manifest,
            {n: r.metadata for n, r in by_name.items()},
        ),
        "verdict": verdict(
            chunk[settings.baseline]["metrics"]["f1"],
            chunk[settings.candidate]["metrics"]["f1"],
            speeds["end_to_end"],
            settings.max_f1_drop,
            settings.min_speedup,
            speeds["problem"],
        ),
    }
    return report, _figure_png(levels, summary, settings, chunk_length)


def _figure_png(
    levels: Mapping[str, Mapping[str, Level]],
    summary: Mapping[str, Any],
    settings: CompareSettings,
    chunk_length: int,
) -> bytes:
    """ROC and PR curves at chunk level (operating point of the max rule marked) and F1 per
    level with its cluster-bootstrap interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, roc_curve

    fig, (roc_ax, pr_ax, f1_ax) = plt.subplots(1, 3, figsize=(13, 4.2))
    colours = {settings.baseline: "#2c7fb8", settings.candidate: "#d95f02"}
    for name in (settings.baseline, settings.candidate):
        level = levels[name]["chunk"]
        m = summary["chunk"]["models"][name]["metrics"]
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
    for k, name in enumerate((settings.baseline, settings.candidate)):
        xs = np.arange(len(LEVELS)) + (k - 0.5) * width
        f1 = [summary[lv]["models"][name]["metrics"]["f1"] for lv in LEVELS]
        lo = [summary[lv]["models"][name]["ci95"]["f1"][0] for lv in LEVELS]
        hi = [summary[lv]["models"][name]["ci95"]["f1"][1] for lv in LEVELS]
        err = np.nan_to_num(np.array([np.subtract(f1, lo), np.subtract(hi, f1)]).clip(min=0))
        f1_ax.bar(xs, f1, width, yerr=err, capsize=3, color=colours[name], label=name)
    f1_ax.set_xticks(np.arange(len(LEVELS)), LEVELS)
    f1_ax.set(ylim=(0, 1.25), ylabel="F1", title="F1 per level (95 % record bootstrap)")
    f1_ax.set_yticks(np.linspace(0, 1, 6))
    f1_ax.legend(fontsize=7, loc="upper center", ncol=2)
    fig.suptitle(
        f"Held-out test split, chunk length {chunk_length} bp (dots: the called operating point)",
        fontsize=10,
    )
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


# --------------------------------------------------------------------------- rendering


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "n/a"
    return str(value)


def _ci(point: float, ci: Sequence[float]) -> str:
    return f"{_fmt(point)} [{_fmt(ci[0])}, {_fmt(ci[1])}]"


def _table(title: str, columns: list[str], rows: list[list[str]], note: str = "") -> dict:
    return {"title": title, "columns": columns, "rows": rows, "note": note}


def _split_rows(by_split: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    keys = sorted({k for v in by_split.values() if isinstance(v, Mapping) for k in v})
    if keys:
        return ["split", *keys, "total"], [
            [s, *(_fmt(v.get(k)) for k in keys), _fmt(_total(v))]
            for s, v in by_split.items()
            if isinstance(v, Mapping)
        ]
    return ["split", "total"], [[s, _fmt(v)] for s, v in by_split.items()]


def report_view(report: Mapping[str, Any]) -> dict[str, Any]:
    """Formatted tables shared by the HTML and Markdown templates (same numbers in both)."""
    base, cand = report["baseline"], report["candidate"]
    names = [base, cand]
    levels = report["levels"]
    tables: list[dict] = [
        _table(
            "F1 at each level (95 % bootstrap CI over records)",
            ["level", "units", *names, "F1 drop (baseline - candidate)"],
            [
                [
                    level_name + (" (verdict)" if level_name == "chunk" else ""),
                    _fmt(levels[level_name]["n"]),
                    *(
                        _ci(
                            levels[level_name]["models"][n]["metrics"]["f1"],
                            levels[level_name]["models"][n]["ci95"]["f1"],
                        )
                        for n in names
                    ),
                    _ci(
                        levels[level_name]["f1_drop"]["value"],
                        levels[level_name]["f1_drop"]["ci95"],
                    ),
                ]
                for level_name in LEVELS
            ],
            "The verdict uses the per-chunk point estimate; the intervals show how large a "
            "difference this test split can resolve.",
        )
    ]
    for level_name in LEVELS:
        lv = levels[level_name]
        rows = [
            [
                metric,
                *(
                    _ci(lv["models"][n]["metrics"][metric], lv["models"][n]["ci95"][metric])
                    for n in names
                ),
            ]
            for metric in CI_METRICS
        ]
        rows.append(
            [
                "confusion tn/fp/fn/tp",
                *(
                    "/".join(
                        str(lv["models"][n]["metrics"]["confusion"][k])
                        for k in ("tn", "fp", "fn", "tp")
                    )
                    for n in names
                ),
            ]
        )
        rows.append(
            [
                "F1 drop (baseline - candidate)",
                _ci(lv["f1_drop"]["value"], lv["f1_drop"]["ci95"]),
                "",
            ]
        )
        tables.append(
            _table(
                f"Per {level_name}: {_fmt(lv['n'])} {level_name}s from "
                f"{_fmt(lv['records'])} records "
                "(95 % bootstrap CI over records)",
                ["metric", *names],
                rows,
                f"Rule: {lv['rule']}.",
            )
        )
    groups = report["models"][base]["per_group"]
    tables.append(
        _table(
            "Per group (chunk level)",
            ["group", "chunks", "records", "metric", *names],
            [
                [
                    g,
                    _fmt(i["n"]),
                    _fmt(i["records"]),
                    i["metric"],
                    *(_fmt(report["models"][n]["per_group"][g]["value"]) for n in names),
                ]
                for g, i in groups.items()
            ],
            "Recall for viral groups, specificity for host groups.",
        )
    )
    speed_keys = [
        ("jobs", "extraction jobs"),
        ("records", "records embedded"),
        ("tokens", "tokens"),
        ("wall_seconds", "wall seconds, all jobs (verdict)"),
        ("embed_seconds", "in-process embedding seconds"),
        ("load_seconds", "model loading seconds"),
        ("overhead_seconds", "wall - embedding seconds"),
        ("records_per_wall_s", "records / wall second"),
        ("tokens_per_embed_s", "tokens / embedding second"),
        ("max_rss_mib", "max RSS of a job (MiB)"),
        ("peak_gpu_mib", "peak GPU memory (MiB)"),
        ("devices", "devices"),
        ("training_wall_seconds", "classifier training wall seconds"),
    ]
    speed = report["speed"]
    tables.append(
        _table(
            "Speed (protein embedding extraction)",
            ["", *names],
            [
                [label, *(_fmt(report["models"][n]["speed"].get(k), 2) for n in names)]
                for k, label in speed_keys
            ],
            f"End-to-end speed-up (verdict): {_fmt(speed['end_to_end'], 2)}x; in-process "
            f"(embedding seconds only, for context): {_fmt(speed['in_process'], 2)}x."
            + (f" {speed['problem']}." if speed["problem"] else ""),
        )
    )
    man = report["manifest"]
    tables.append(
        _table(
            "Training frames available vs used, per group",
            ["group", "available", "used", "fraction used"],
            [
                [r["group"], _fmt(r["available"]), _fmt(r["used"]), _fmt(r["fraction"])]
                for r in man["by_group"]
            ]
            + [
                [
                    "total",
                    _fmt(man["total"]["available"]),
                    _fmt(man["total"]["used"]),
                    _fmt(man["total"]["fraction"]),
                ]
            ],
            "From the training manifest summary (drawn before embedding, shared by both models).",
        )
    )
    for key, title in (("by_split", "Frames per split"), ("records_by_split", "Records per split")):
        if man[key]:
            columns, rows = _split_rows(man[key])
            tables.append(_table(title, columns, rows))
    tables.append(
        _table(
            "Consistency checks",
            ["check", "ok", "detail"],
            [[c["check"], "yes" if c["ok"] else "NO", c["detail"]] for c in report["checks"]],
        )
    )
    v = report["verdict"]
    criteria = [
        {
            "rule": c["rule"],
            "value": _fmt(c["value"], 3),
            "pass": c["pass"],
            "basis": c["basis"],
            "problem": c.get("problem"),
        }
        for c in v["criteria"].values()
    ]
    return {
        "title": f"{base} vs {cand} (chunk length {report['chunk_length']} bp)",
        "baseline": base,
        "candidate": cand,
        "verdict": "PASS" if v["pass"] else "FAIL",
        "passed": v["pass"],
        "criteria": criteria,
        "intro": (
            f"Test split: {_fmt(report['test_frames'])} frames, {_fmt(report['test_chunks'])} "
            f"chunks, {_fmt(report['test_sequences'])} sequences from "
            f"{_fmt(report['test_records'])} records; "
            f"same training manifest: {_fmt(report['same_manifest'])}. Intervals: 95 % "
            f"percentile bootstrap CI, {report['bootstrap']['resamples']} resamples of whole "
            f"records (seed {report['bootstrap']['seed']}), both models on the same resamples."
        ),
        "tables": tables,
    }


def _environment(template_dir: Path):
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        autoescape=jinja2.select_autoescape(["html.j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(
    report: Mapping[str, Any], figure_png: bytes, template_dir: str | os.PathLike[str] | None = None
) -> tuple[str, str]:
    """The HTML page (figure embedded as base64) and the Markdown text of ``report``."""
    env = _environment(Path(template_dir) if template_dir else TEMPLATE_DIR)
    env.filters["md_cell"] = lambda s: str(s).replace("|", "\\|")
    view = report_view(report)
    html = env.get_template("comparison.html.j2").render(
        **view, figure_base64=base64.b64encode(figure_png).decode("ascii")
    )
    md = env.get_template("comparison.md.j2").render(**view)
    return html, md


def write_report(
    report: Mapping[str, Any],
    figure_png: bytes,
    html_path: str | os.PathLike[str],
    md_path: str | os.PathLike[str],
    json_path: str | os.PathLike[str],
    png_path: str | os.PathLike[str],
    template_dir: str | os.PathLike[str] | None = None,
) -> None:
    """Write the four outputs atomically (JSON with every figure; HTML self-contained)."""
    html, md = render(report, figure_png, template_dir)
    write_text_atomic(md_path, md)
    text = json.dumps(_finite(report), indent=2, default=_json_default, allow_nan=False)
    write_text_atomic(json_path, text + "\n")
    with atomic_path(png_path) as tmp:
        Path(tmp).write_bytes(figure_png)
    write_text_atomic(html_path, html)


def _finite(value: Any) -> Any:
    """NaN (an undefined metric) as JSON null: ``NaN`` is not valid JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
