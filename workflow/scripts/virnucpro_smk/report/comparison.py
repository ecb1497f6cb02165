"""ESM2 3B vs FastESM2_650: accuracy and speed verdicts, a combined decision, the evidence.

Both classifiers are trained on the same manifest (same genomes, split and seeds) and score
the same held-out fragments, so their calls can be compared unit by unit. Three verdicts
lead the report: ``accuracy`` (:mod:`.noninferiority`, on the held-out calls table of
:mod:`.heldout_calls`), ``speed`` (:mod:`.speed_runs`, from the dedicated repeated runs of
rule ``time_predict``) and the combined ``decision`` (:mod:`.decision`; stand-in models make
it ``inconclusive``). Per-level metrics with genome-bootstrap intervals (:mod:`.levels`),
new taxa, planted proviruses and the training-set extraction figures are context. The page
a person reads is drawn by :mod:`.comparison_page`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..classify.regions import RegionModel
from ..errors import InputError, ModelMismatchError
from ..io.embedding_files import read_metadata
from .comparison_page import figure_png, total_count
from .decision import decide
from .heldout_calls import HeldoutCalls, calls_strata, heldout_calls
from .heldout_levels import (
    HeldoutScores,
    genomes_outside_test,
    heldout_counts,
    heldout_levels,
    level_rule,
    read_heldout,
    taxon_novelty,
)
from .job_benchmarks import read_benchmark
from .levels import (
    CI_METRICS,
    LEVEL_RULES,
    Level,
    TestPredictions,
    align,
    cluster_bootstrap_ci,
    frame_level,
    paired_values_fn,
    per_group,
    read_seed_predictions,
)
from .noninferiority import AccuracySettings, accuracy_fields, accuracy_test
from .provirus_eval import genome_tracks, measure_proviruses
from .speed_runs import GPU_FIGURES, SpeedRun, speed_test


def _job_stats(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        stats = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable extraction stats ({exc}); rerun its job") from None
    if not isinstance(stats, dict):
        raise InputError(f"{path}: extraction stats are not a JSON object")
    return stats


def extraction_speed(
    model: str,
    embedding_files: Sequence[str | os.PathLike[str]],
    benchmark_files: Sequence[str | os.PathLike[str]],
    chunk_length: int | None = None,
    stats_files: Sequence[str | os.PathLike[str]] | None = None,
) -> dict[str, Any]:
    """End-to-end and in-process figures of one protein model's training-set extraction
    (context: the verdict's speed comes from the dedicated runs of :mod:`.speed_runs`).

    ``wall_seconds`` is the sum of the benchmark ``s`` of every job and
    is None when any benchmark file is missing; ``embed_seconds`` sums the in-process timers
    the jobs wrote to their stats JSON files (``stats_files``, one per job). The embedding
    files give the identity checks and dtypes; files written before the run figures moved out
    of them still carry a ``stats`` entry, read when no ``stats_files`` are given.
    """
    records = tokens = 0
    embed = load = 0.0
    has_load = bool(embedding_files)
    peak: list[float] = []
    gpu: dict[str, list[float]] = {k: [] for k in GPU_FIGURES if k != "peak_gpu_mib"}
    devices: set[str] = set()
    dtypes: set[str] = set()
    job_stats: list[dict[str, Any]] = []
    for path in embedding_files:
        meta = read_metadata(path)
        if meta.get("model") != model:
            raise ModelMismatchError(f"{path}: holds {meta.get('model')} vectors, not {model}")
        if chunk_length is not None and int(meta.get("chunk_length", chunk_length)) != chunk_length:
            raise ModelMismatchError(
                f"{path}: chunk length {meta.get('chunk_length')}, expected {chunk_length}"
            )
        dtypes.add(str(meta.get("dtype", "unknown")))
        if stats_files is None:
            job_stats.append(meta.get("stats") or {})
    if stats_files is not None:
        job_stats = [_job_stats(p) for p in stats_files]
        has_load = has_load and bool(job_stats)
    for stats in job_stats:
        records += int(stats.get("records", 0))
        tokens += int(stats.get("tokens", 0))
        embed += float(stats.get("embed_seconds", stats.get("seconds", 0.0)))
        if stats.get("load_seconds") is None:
            has_load = False
        else:
            load += float(stats["load_seconds"])
        if stats.get("peak_gpu_mib") is not None:
            peak.append(float(stats["peak_gpu_mib"]))
        for key, values in gpu.items():  # per-job GPU figures, where the job recorded them
            if isinstance(stats.get(key), (int, float)):
                values.append(float(stats[key]))
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
        "gpu_util_mean_pct": (
            round(sum(gpu["gpu_util_mean_pct"]) / len(gpu["gpu_util_mean_pct"]), 1)
            if gpu["gpu_util_mean_pct"]
            else None
        ),
        "seconds_to_first_batch": (
            round(sum(gpu["seconds_to_first_batch"]), 3) if gpu["seconds_to_first_batch"] else None
        ),
        "seconds_after_last_batch": (
            round(sum(gpu["seconds_after_last_batch"]), 3)
            if gpu["seconds_after_last_batch"]
            else None
        ),
        "devices": sorted(devices),
        "dtypes": sorted(dtypes),
    }


def speedup(baseline_seconds: float | None, candidate_seconds: float | None) -> float | None:
    """Baseline time / candidate time (3 decimals); None when either time is missing."""
    if not baseline_seconds or not candidate_seconds:
        return None
    return round(baseline_seconds / candidate_seconds, 3)


def speedups(baseline: Mapping[str, Any], candidate: Mapping[str, Any]) -> dict[str, Any]:
    """Baseline time / candidate time, end to end (verdict) and in process (context only)."""

    def ratio(key: str) -> float | None:
        return speedup(baseline.get(key), candidate.get(key))

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
        "genomes_by_split": summary.get("genomes_by_split", {}),
        "genomes_shared_between_splits": summary.get("genomes_shared_between_splits"),
        "multi_record_genomes": summary.get("multi_record_genomes"),
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
    shared = manifest.get("genomes_shared_between_splits")
    checks.append(
        {
            "check": "no genome in two splits (the test split is unseen genomes)",
            "ok": isinstance(shared, Mapping) and all(int(v) == 0 for v in shared.values()),
            "detail": (
                ", ".join(f"{k}: {v}" for k, v in shared.items())
                if isinstance(shared, Mapping)
                else "the manifest predates genome keys: rebuild it"
            ),
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


def heldout_checks(
    fragments: Sequence[Mapping[str, str]], manifest_path: str | os.PathLike[str] | None
) -> list[dict[str, Any]]:
    """The held-out fragments come only from test genomes (none trained or validated)."""
    if manifest_path is None:
        return []
    outside = genomes_outside_test(fragments, manifest_path)
    return [
        {
            "check": "held-out fragments come only from test genomes",
            "ok": not any(outside.values()),
            "detail": ", ".join(f"genomes also in {k}: {v}" for k, v in outside.items()),
        }
    ]


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class CompareSettings:
    """The ``compare:`` section (schema-validated, defaults filled by check_config) and the
    predict settings the held-out levels use; every field is required (no defaults here)."""

    baseline: str
    candidate: str
    margins: dict[str, float]
    fpr_floor: float
    min_speedup: float
    speed_repeats: int
    max_outside_load: float
    bootstrap: int
    seed: int
    min_test_genomes: int
    min_seeds: int
    prevalences: list[float]
    gated_lengths: list[int]
    fragment_lengths: list[int]
    fragments_per_genome: int
    provirus_trials: int
    min_viral_fraction: float
    min_scored_fraction: float
    # predict.region_* (RegionModel's arguments): the planted-provirus section decodes as
    # predict does
    region_model: dict[str, float]

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> CompareSettings:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(settings) - known)
        if unknown:
            raise InputError(f"compare settings: unknown key(s) {', '.join(unknown)}")
        missing = sorted(known - set(settings))
        if missing:
            raise InputError(f"compare settings: missing key(s) {', '.join(missing)}")
        for key in ("baseline", "candidate"):
            if not settings.get(key):
                raise InputError(f"compare settings: {key!r} is required")
        if settings["baseline"] == settings["candidate"]:
            raise InputError("compare settings: baseline and candidate are the same model")
        absent = sorted(set(settings["gated_lengths"]) - set(settings["fragment_lengths"]))
        if absent:
            raise InputError(
                f"compare settings: gated_lengths {absent} are not among fragment_lengths "
                f"{list(settings['fragment_lengths'])}: no fragments are cut at that length"
            )
        values = dict(settings)
        values["margins"] = {k: float(v) for k, v in settings["margins"].items()}
        return cls(**values)

    @property
    def accuracy(self) -> AccuracySettings:
        return AccuracySettings(
            sensitivity_margin=self.margins["sensitivity"],
            fpr_ratio_margin=self.margins["false_positive_rate_ratio"],
            fpr_floor=self.fpr_floor,
            min_test_genomes=self.min_test_genomes,
            min_seeds=self.min_seeds,
            resamples=self.bootstrap,
            seed=self.seed,
            prevalences=tuple(self.prevalences),
        )


@dataclass
class ModelResult:
    """Everything the report needs about one protein model's classifier."""

    name: str
    predictions: TestPredictions
    metadata: dict[str, Any]
    speed: dict[str, Any] = field(default_factory=dict)
    seeds: dict[int, TestPredictions] = field(default_factory=dict)  # training seed -> tests
    benchmarks: list[str] = field(default_factory=list)  # its extraction jobs' benchmark files
    # training seed -> its scores of the held-out fragments (what predict sees)
    heldout: dict[int, HeldoutScores] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.seeds:
            self.seeds = {0: self.predictions}


def load_model_result(
    name: str,
    tests: str | os.PathLike[str],
    metadata: str | os.PathLike[str],
    embeddings: Sequence[str | os.PathLike[str]],
    extraction_benchmarks: Sequence[str | os.PathLike[str]],
    train_benchmark: str | os.PathLike[str] | None = None,
    chunk_length: int | None = None,
    heldout: tuple[str | os.PathLike[str], str | os.PathLike[str]] | None = None,
    extraction_stats: Sequence[str | os.PathLike[str]] | None = None,
) -> ModelResult:
    """Read one model's test predictions, classifier metadata and speed figures
    (``extraction_stats``: the stats JSON of each extraction job, see :func:`extraction_speed`),
    and with ``heldout`` (its ``heldout_chunks.tsv`` and ``heldout_sequences.tsv``) its scores
    of the held-out fragments."""
    meta = json.loads(Path(metadata).read_text(encoding="utf-8"))
    if meta.get("protein_model", name) != name:
        raise ModelMismatchError(f"{metadata}: a {meta['protein_model']} classifier, not {name}")
    if chunk_length is not None and int(meta.get("chunk_length", chunk_length)) != chunk_length:
        raise ModelMismatchError(
            f"{metadata}: trained on {meta['chunk_length']} bp chunks, not {chunk_length}"
        )
    speed = extraction_speed(
        name, embeddings, extraction_benchmarks, chunk_length, stats_files=extraction_stats
    )
    if train_benchmark is not None and Path(train_benchmark).is_file():
        speed["training_wall_seconds"] = round(read_benchmark(train_benchmark)["s"] or 0.0, 3)
    else:
        speed["training_wall_seconds"] = None
    seeds = read_seed_predictions(tests)
    held = read_heldout(*heldout) if heldout else {}
    if held and list(held) != list(seeds):
        raise ModelMismatchError(
            f"{name}: held-out scores of seeds {list(held)}, test predictions of {list(seeds)}"
        )
    return ModelResult(
        name,
        next(iter(seeds.values())),
        meta,
        speed,
        seeds,
        [str(p) for p in extraction_benchmarks],
        held,
    )


def _level_summary(
    levels: Mapping[str, Mapping[str, Level]],
    settings: CompareSettings,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for level_name in levels[settings.baseline]:
        by_model = {m: lv[level_name] for m, lv in levels.items()}
        ref = by_model[settings.baseline]
        ci = cluster_bootstrap_ci(
            paired_values_fn(by_model, settings.baseline, settings.candidate),
            ref.genomes,  # type: ignore[arg-type]
            settings.bootstrap,
            settings.seed,  # the same genome draws at every level: one coherent resample
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
            "genomes": len(set(ref.genomes or [])),
            "rule": (
                LEVEL_RULES[level_name].format(fraction=settings.min_viral_fraction)
                if level_name == "frame"
                else level_rule(
                    level_name, settings.min_viral_fraction, settings.min_scored_fraction
                )
            ),
            "models": models,
            "f1_drop": {"value": drop, "ci95": ci["f1_drop"]},
        }
    return out


def seed_levels(
    result: ModelResult, base_pred: TestPredictions, fragments: Sequence[Mapping[str, str]]
) -> dict[int, dict[str, Level]]:
    """Per training seed, a model's levels: the held-out ``chunk`` and ``sequence_<n>kb``
    levels on what predict sees, and for the first seed ``frame`` too, on the annotated-CDS
    test frames in the baseline's order (the figures shown per level are the first seed's;
    the decision's chunk level takes every seed)."""
    if not result.heldout:
        raise InputError(f"{result.name}: no held-out fragment scores (rule score_heldout)")
    pred = base_pred if result.predictions is base_pred else align(base_pred, result.predictions)
    out = {seed: heldout_levels(fragments, scores) for seed, scores in result.heldout.items()}
    first = next(iter(out))
    out[first] = {"frame": frame_level(pred), **out[first]}
    return out


def _check_same_units(levels: Mapping[str, Mapping[str, Level]], baseline: str) -> None:
    """Both models' levels must hold the same units in the same order (paired resampling)."""
    ref = levels[baseline]
    for name, lv in levels.items():
        for level_name, level in lv.items():
            if level.units != ref[level_name].units:
                raise ModelMismatchError(
                    f"{name}: its {level_name} units differ from {baseline}'s: the models "
                    "scored different held-out fragments; rerun score_heldout"
                )


def _planted_proviruses(
    levels: Mapping[str, Mapping[str, Level]],
    baseline: str,
    chunk_length: int,
    settings: CompareSettings,
) -> dict[str, Any]:
    """Region recall and boundary error per model on planted chunk tracks (first seed)."""
    tracks = {
        name: genome_tracks(lv["chunk"].units, lv["chunk"].calls, lv["chunk"].genomes or [])
        for name, lv in levels.items()
    }
    ref = levels[baseline]["chunk"]
    labels: dict[str, int] = {}
    for genome, label in zip(ref.genomes or [], ref.labels.tolist(), strict=True):
        labels.setdefault(genome, int(label))
    return measure_proviruses(
        tracks,
        labels,
        RegionModel(**settings.region_model),
        chunk_length,
        settings.provirus_trials,
        settings.seed,
    )


def _standins(results: Sequence[ModelResult], standin_models: Sequence[str]) -> list[str]:
    """Stand-in models of the comparison: named by the registry (``provider: standin``,
    passed by the rule) or recorded as such in a classifier's metadata."""
    named = list(standin_models)
    for r in results:
        for key in ("dna_model", "protein_model"):
            model = str(r.metadata.get(key) or "")
            if "standin" in model and model not in named:
                named.append(model)
    return named


def build_report(
    results: Sequence[ModelResult],
    chunk_length: int,
    settings: CompareSettings,
    manifest_summary: Mapping[str, Any],
    fragments: Sequence[Mapping[str, str]] = (),
    manifest_path: str | os.PathLike[str] | None = None,
    speed_runs: Sequence[SpeedRun] = (),
    overlapping_jobs: Sequence[str] = (),
    standin_models: Sequence[str] = (),
    calls: HeldoutCalls | None = None,
) -> tuple[dict[str, Any], bytes]:
    """All figures of the comparison (a JSON-able dict) and the ROC/PR/F1 figure (PNG bytes).

    ``fragments``: the rows of the held-out ``fragments.tsv``; ``calls``: the held-out calls
    table (built from the results' held-out scores when not given), which the accuracy verdict
    reads; ``manifest_path``: the training manifest (to check that no fragment's genome trained
    or validated a classifier); ``speed_runs``: the runs of rule ``time_predict``, which the
    speed verdict reads, with ``overlapping_jobs`` (other workflow jobs that ran meanwhile);
    ``standin_models``: the compared models the registry calls stand-ins.
    """
    by_name = {r.name: r for r in results}
    for key in (settings.baseline, settings.candidate):
        if key not in by_name:
            raise InputError(f"compare: no results for {key} (have {', '.join(by_name)})")
    base, cand = settings.baseline, settings.candidate
    base_pred = by_name[base].predictions
    per_seed = {name: seed_levels(r, base_pred, fragments) for name, r in by_name.items()}
    levels = {name: next(iter(seeds.values())) for name, seeds in per_seed.items()}
    _check_same_units(levels, base)
    summary = _level_summary(levels, settings)
    manifest = manifest_tables(manifest_summary)
    if calls is None:
        calls = heldout_calls(fragments, {n: by_name[n].heldout for n in (base, cand)})
    accuracy = accuracy_test(
        calls_strata(calls, base, cand, settings.gated_lengths), settings.accuracy
    )
    speed = speed_test(
        speed_runs, base, cand, settings.min_speedup, settings.max_outside_load, overlapping_jobs
    )
    standins = _standins(results, standin_models)
    decision = decide(accuracy.accuracy, accuracy.reasons, speed.speed, speed.reasons, standins)
    proviruses = _planted_proviruses(levels, base, chunk_length, settings)
    chunk = summary["chunk"]["models"]
    models: dict[str, Any] = {}
    for name, res in by_name.items():
        models[name] = {
            "metrics": chunk[name]["metrics"],
            "ci95": chunk[name]["ci95"],
            "per_group": per_group(levels[name]["chunk"]),
            "extraction": res.speed,
            "input_width": res.metadata.get("input_width"),
            "manifest_sha256": res.metadata.get("manifest_sha256"),
            "epochs_run": res.metadata.get("epochs_run"),
            "training_seeds": sorted(res.seeds),
            # which weights made the features (hub commit or sha256 of local weight files)
            "dna_commit": res.metadata.get("dna_commit"),
            "protein_commit": res.metadata.get("protein_commit"),
            "versions": res.metadata.get("versions"),
        }
    shas = {m["manifest_sha256"] for m in models.values()}
    fields = accuracy_fields(accuracy)
    report = {
        # the verdicts in fixed keys, for scripts
        "decision": decision.decision,
        "decision_reasons": decision.reasons,
        "accuracy": fields.pop("accuracy"),
        "accuracy_reasons": fields.pop("accuracy_reasons"),
        "speed": speed.speed,
        "speed_reasons": speed.reasons,
        "standin_models": decision.standin_models,
        "speedup": speed.speedup,
        "speedup_ci95": speed.speedup_ci95,
        **fields,  # margins, seeds, low_prevalence_precision and the accuracy evidence
        "speed_test": asdict(speed),
        "project_version": __version__,
        "chunk_length": chunk_length,
        "baseline": base,
        "candidate": cand,
        "settings": asdict(settings),
        "test_frames": summary["frame"]["n"],
        "test_chunks": summary["chunk"]["n"],
        "test_sequences": sum(v["n"] for k, v in summary.items() if k.startswith("sequence_")),
        "test_records": summary["frame"]["records"],
        "test_genomes": summary["frame"]["genomes"],
        "level_names": list(summary),
        "heldout": {
            **heldout_counts(fragments, next(iter(by_name[base].heldout.values()))),
            "genomes": summary["chunk"]["genomes"],
            "fragment_lengths": list(settings.fragment_lengths),
            "fragments_per_genome": settings.fragments_per_genome,
        },
        "same_manifest": len(shas) == 1 and None not in shas,
        "bootstrap": {
            "resamples": settings.bootstrap,
            "seed": settings.seed,
            "unit": "genome (cluster bootstrap: whole genomes resampled with replacement)",
            "level": 0.95,
        },
        "levels": summary,
        "proviruses": proviruses,
        "taxa": taxon_novelty(
            {n: lv["chunk"] for n, lv in levels.items()},
            fragments,
            base,
            cand,
            settings.bootstrap,
            settings.seed,
        ),
        "models": models,
        "training_extraction_speedup": speedups(by_name[base].speed, by_name[cand].speed),
        "manifest": manifest,
        "checks": consistency_checks(
            base_pred,
            levels[base],
            manifest,
            {n: r.metadata for n, r in by_name.items()},
        )
        + heldout_checks(fragments, manifest_path),
    }
    return report, figure_png(levels, summary, base, cand, chunk_length)
