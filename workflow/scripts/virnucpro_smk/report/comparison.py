"""ESM2 3B vs FastESM2_650: accuracy at three levels and end-to-end speed, with a verdict.

Both classifiers are trained on the same manifest (same records, split and seed) and tested
on the same held-out frames, so their metrics (:mod:`.levels`) can be compared unit by unit.

Speed is judged end to end: the sum of the wall seconds Snakemake's benchmark files record
for every extraction job of a model (start-up and model loading included), shown beside the
in-process embedding seconds the jobs store in their safetensors metadata, so that a model
whose forward pass is fast but whose jobs are slow cannot pass unnoticed. The page a person
reads is drawn by :mod:`.comparison_page`.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import InputError, ModelMismatchError
from ..io.embedding_files import read_metadata
from .comparison_page import figure_png, total_count
from .levels import (
    CI_METRICS,
    LEVEL_RULES,
    LEVELS,
    Level,
    TestPredictions,
    align,
    build_levels,
    cluster_bootstrap_ci,
    paired_values_fn,
    per_group,
    read_test_predictions,
)


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
    test_frames = total_count(manifest["by_split"].get("test"))
    if test_frames is not None:
        checks.append(
            {
                "check": "test frames scored = test frames in the manifest",
                "ok": int(test_frames) == len(pred.ids),
                "detail": f"{len(pred.ids)} scored, {int(test_frames)} in the manifest",
            }
        )
    test_records = total_count(manifest["records_by_split"].get("test"))
    if test_records is not None:
        n = len(set(pred.records))
        checks.append(
            {
                "check": "test records scored = test records in the manifest",
                "ok": int(test_records) == n,
                "detail": f"{n} scored, {int(test_records)} in the manifest",
            }
        )
    split_total = total_count(manifest["by_split"])
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
    return report, figure_png(levels, summary, settings.baseline, settings.candidate, chunk_length)
