"""ESM2 3B vs FastESM2_650: the comparison as one typed value, built by pure functions.

Both classifiers are trained on the same manifest (same genomes, split and seeds) and score
the same held-out fragments, so their calls can be compared unit by unit. A
:class:`Comparison` holds three verdicts, ``accuracy`` (:mod:`.noninferiority`, on the
held-out calls table of :mod:`.heldout_calls`), ``speed`` (:mod:`.speed_runs`, from the
dedicated repeated runs of rule ``time_predict``) and the combined ``decision``
(:mod:`.decision`; stand-in models make it ``inconclusive``), and their context: per-level
metrics with genome-bootstrap intervals (:mod:`.level_metrics`), new taxa (:mod:`.taxon_novelty`),
planted proviruses (:mod:`.provirus_eval`), the training-set extraction
(:mod:`.extraction_figures`), the manifest (:mod:`.manifest_tables`) and the consistency
checks (:mod:`.comparison_checks`).

:func:`build_comparison` takes values, never paths: the rule script (compare_models.py)
reads every file and passes what it read in :class:`ComparisonInputs`. The page a person
reads is drawn from the value by :mod:`.comparison_page`; the JSON for scripts is
:meth:`Comparison.to_json`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from .. import __version__
from ..classify.calls import CallThresholds
from ..classify.region_model import RegionModel
from ..errors import InputError, ModelMismatchError
from ..formats.heldout import FragmentRow
from ..formats.speed_runs import SpeedRun
from .comparison_checks import Check, consistency_checks, heldout_check
from .comparison_figure import figure_png
from .decision import Decision, decide
from .extraction_figures import ExtractionFigures, ExtractionSpeedup, extraction_speedup
from .heldout_calls import HeldoutCalls, calls_strata
from .heldout_levels import HeldoutScores, heldout_levels, level_rule
from .level_metrics import (
    CI_METRICS,
    FRAME_RULE,
    F1Drop,
    GroupFigures,
    Level,
    LevelFigures,
    ModelLevelFigures,
    TestPredictions,
    align,
    cluster_bootstrap_ci,
    frame_level,
    paired_values_fn,
    per_group,
)
from .manifest_tables import ManifestTables, manifest_tables
from .noninferiority import AccuracyResult, AccuracySettings, accuracy_fields, accuracy_test
from .provirus_eval import ProvirusFigures, genome_tracks, measure_proviruses
from .speed_runs import SpeedResult, speed_test
from .taxon_novelty import TaxonNovelty, taxon_novelty

BOOTSTRAP_UNIT = "genome (cluster bootstrap: whole genomes resampled with replacement)"
BOOTSTRAP_LEVEL = 0.95

# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class CompareSettings:
    """The ``compare:`` section (schema-validated, defaults filled by check_config) and the
    predict settings the held-out levels and planted proviruses use (``thresholds``,
    ``region_model``: they are scored as predict scores a sample); every field is required
    (no defaults here)."""

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
    thresholds: CallThresholds
    region_model: RegionModel

    @classmethod
    def from_config(cls, settings: Mapping[str, Any]) -> CompareSettings:
        """From the rule's ``settings``: the ``compare:`` section with predict's
        ``min_viral_fraction``, ``min_scored_fraction`` and ``region_model`` (RegionModel's
        fields, as the rule passes them to predict)."""
        predict = ("min_viral_fraction", "min_scored_fraction", "region_model")
        known = {f.name for f in fields(cls)} - {"thresholds"} | set(predict)
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
        values = {k: v for k, v in settings.items() if k not in predict}
        values["margins"] = {k: float(v) for k, v in settings["margins"].items()}
        return cls(
            **values,
            thresholds=CallThresholds.from_config(settings),
            region_model=RegionModel(**settings["region_model"]),
        )

    @property
    def accuracy(self) -> AccuracySettings:
        return AccuracySettings.from_config(asdict(self))

    def as_config(self) -> dict[str, Any]:
        """The settings as the rule gives them (the comparison's JSON records this form)."""
        values = asdict(self)
        thresholds, region_model = values.pop("thresholds"), values.pop("region_model")
        return {**values, **thresholds, "region_model": region_model}


@dataclass(frozen=True)
class ModelInputs:
    """One protein model's classifier, as read: its ``metadata.json``, its test predictions
    and held-out scores per training seed (the same seeds, in training order) and its
    training-set extraction figures."""

    name: str
    metadata: Mapping[str, Any]
    seeds: dict[int, TestPredictions]
    heldout: dict[int, HeldoutScores]
    extraction: ExtractionFigures

    @property
    def predictions(self) -> TestPredictions:
        """The first training seed's test predictions (the per-level figures are its)."""
        return next(iter(self.seeds.values()))


def compared_model(
    name: str,
    chunk_length: int,
    metadata: Mapping[str, Any],
    metadata_file: str,
    seeds: dict[int, TestPredictions],
    heldout: dict[int, HeldoutScores],
    extraction: ExtractionFigures,
) -> ModelInputs:
    """One model's inputs, refused when its classifier is another model's or was trained on
    other chunks (``metadata_file``: where ``metadata`` was read, for the message), or when
    its held-out scores come from other training seeds than its test predictions."""
    if metadata.get("protein_model", name) != name:
        raise ModelMismatchError(
            f"{metadata_file}: a {metadata['protein_model']} classifier, not {name}"
        )
    if int(metadata.get("chunk_length", chunk_length)) != chunk_length:
        raise ModelMismatchError(
            f"{metadata_file}: trained on {metadata['chunk_length']} bp chunks, not {chunk_length}"
        )
    if list(heldout) != list(seeds):
        raise ModelMismatchError(
            f"{name}: held-out scores of seeds {list(heldout)}, test predictions of {list(seeds)}"
        )
    return ModelInputs(name, metadata, seeds, heldout, extraction)


@dataclass(frozen=True)
class ComparisonInputs:
    """Everything the comparison reads, already read by the rule script."""

    models: Sequence[ModelInputs]
    fragments: Sequence[FragmentRow]  # rows of the held-out fragments.tsv
    manifest_summary: Mapping[str, Any]  # training_manifest.json
    split_genomes: Mapping[str, Mapping[str, set[str]]]  # the manifest's genomes per split
    calls: HeldoutCalls  # the held-out calls table the accuracy verdict reads
    speed_runs: Sequence[SpeedRun]  # rule time_predict's runs: the speed verdict
    overlapping_jobs: Sequence[str]  # other workflow jobs that ran during those runs
    standin_models: Sequence[str]  # compared models the registry calls stand-ins


# --------------------------------------------------------------------------- the comparison


@dataclass(frozen=True)
class HeldoutSummary:
    """The held-out fragments predict was run on (the same for both models)."""

    fragments: int
    chunks: int
    chunks_without_frame: int  # counted, never units: no model can call them
    fragments_by_call: dict[str, dict[str, int]]  # length (bp) -> predict's call -> fragments
    genomes: int
    fragment_lengths: list[int]
    fragments_per_genome: int


@dataclass(frozen=True)
class ModelFigures:
    """One protein model's classifier: chunk-level groups, extraction, provenance."""

    per_group: dict[str, GroupFigures]
    extraction: ExtractionFigures
    input_width: int | None
    manifest_sha256: str | None
    epochs_run: int | None
    training_seeds: list[int]
    # which weights made the features (hub commit or sha256 of local weight files)
    dna_commit: str | None
    protein_commit: str | None
    versions: Mapping[str, str] | None


@dataclass(frozen=True)
class Comparison:
    """The whole comparison of one chunk length: verdicts first, then their evidence."""

    settings: CompareSettings
    chunk_length: int
    project_version: str
    decision: Decision
    accuracy: AccuracyResult
    speed: SpeedResult
    levels: dict[str, LevelFigures]  # frame, chunk, then sequence_<n>kb per fragment length
    heldout: HeldoutSummary
    proviruses: ProvirusFigures
    taxa: TaxonNovelty
    models: dict[str, ModelFigures]
    extraction_speedup: ExtractionSpeedup
    manifest: ManifestTables
    checks: list[Check]

    @property
    def baseline(self) -> str:
        return self.settings.baseline

    @property
    def candidate(self) -> str:
        return self.settings.candidate

    @property
    def same_manifest(self) -> bool:
        shas = {m.manifest_sha256 for m in self.models.values()}
        return len(shas) == 1 and None not in shas

    @property
    def sequence_levels(self) -> dict[str, LevelFigures]:
        return {k: v for k, v in self.levels.items() if k.startswith("sequence_")}

    def to_json(self) -> dict[str, Any]:
        """The JSON written beside the page: the verdicts in fixed top-level keys for
        scripts (the accuracy fields as ``virnucpro-smk decide`` prints them), then every
        figure the page shows."""
        accuracy = accuracy_fields(self.accuracy)
        levels = {k: asdict(v) for k, v in self.levels.items()}
        return {
            "decision": self.decision.decision,
            "decision_reasons": self.decision.reasons,
            "accuracy": accuracy.pop("accuracy"),
            "accuracy_reasons": accuracy.pop("accuracy_reasons"),
            "speed": self.speed.speed,
            "speed_reasons": self.speed.reasons,
            "standin_models": self.decision.standin_models,
            "speedup": self.speed.speedup,
            "speedup_ci95": self.speed.speedup_ci95,
            **accuracy,  # margins, seeds, low_prevalence_precision and the accuracy evidence
            "speed_test": asdict(self.speed),
            "project_version": self.project_version,
            "chunk_length": self.chunk_length,
            "baseline": self.baseline,
            "candidate": self.candidate,
            "settings": self.settings.as_config(),
            "test_frames": self.levels["frame"].n,
            "test_chunks": self.levels["chunk"].n,
            "test_sequences": sum(v.n for v in self.sequence_levels.values()),
            "test_records": self.levels["frame"].records,
            "test_genomes": self.levels["frame"].genomes,
            "level_names": list(self.levels),
            "heldout": asdict(self.heldout),
            "same_manifest": self.same_manifest,
            "bootstrap": {
                "resamples": self.settings.bootstrap,
                "seed": self.settings.seed,
                "unit": BOOTSTRAP_UNIT,
                "level": BOOTSTRAP_LEVEL,
            },
            "levels": levels,
            "proviruses": asdict(self.proviruses),
            "taxa": asdict(self.taxa),
            "models": {
                name: {**levels["chunk"]["models"][name], **asdict(figures)}
                for name, figures in self.models.items()
            },
            "training_extraction_speedup": asdict(self.extraction_speedup),
            "manifest": asdict(self.manifest),
            "checks": [asdict(c) for c in self.checks],
        }


# --------------------------------------------------------------------------- building it


def model_levels(
    model: ModelInputs, base_pred: TestPredictions, fragments: Sequence[FragmentRow]
) -> dict[str, Level]:
    """A model's levels as the report shows them, from its first training seed: ``frame`` on
    the annotated-CDS test frames in the baseline's order, then the held-out ``chunk`` and
    ``sequence_<n>kb`` levels on what predict sees (the accuracy verdict reads every seed,
    from the held-out calls table)."""
    if not model.heldout:
        raise InputError(f"{model.name}: no held-out fragment scores (rule score_heldout)")
    pred = base_pred if model.predictions is base_pred else align(base_pred, model.predictions)
    first_seed = next(iter(model.heldout.values()))
    return {"frame": frame_level(pred), **heldout_levels(fragments, first_seed)}


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


def level_figures(
    levels: Mapping[str, Mapping[str, Level]], settings: CompareSettings
) -> dict[str, LevelFigures]:
    """Both models' metrics at every level, with intervals from one coherent resample: the
    same genome draws (``settings.seed``) at every level."""
    base, cand = settings.baseline, settings.candidate
    out: dict[str, LevelFigures] = {}
    for level_name in levels[base]:
        by_model = {m: lv[level_name] for m, lv in levels.items()}
        ref = by_model[base]
        ci = cluster_bootstrap_ci(
            paired_values_fn(by_model, base, cand),
            ref.genomes,  # type: ignore[arg-type]
            settings.bootstrap,
            settings.seed,
        )
        models = {
            name: ModelLevelFigures(level.metrics(), {m: ci[f"{name}/{m}"] for m in CI_METRICS})
            for name, level in by_model.items()
        }
        out[level_name] = LevelFigures(
            n=len(ref.units),
            records=len(set(ref.records)),
            genomes=len(set(ref.genomes or [])),
            rule=(
                FRAME_RULE if level_name == "frame" else level_rule(level_name, settings.thresholds)
            ),
            models=models,
            f1_drop=F1Drop(models[base].metrics["f1"] - models[cand].metrics["f1"], ci["f1_drop"]),
        )
    return out


def heldout_summary(
    fragments: Sequence[FragmentRow],
    scores: HeldoutScores,
    genomes: int,
    settings: CompareSettings,
) -> HeldoutSummary:
    """What predict was given and what it could not call (one model's ``scores``: the same
    for every model)."""
    length_of = {f.fragment: f.length_bp for f in fragments}
    by_call: dict[str, dict[str, int]] = {}
    for length, call in sorted(
        (length_of[s], c) for s, c in zip(scores.sequence_ids, scores.sequence_calls, strict=True)
    ):
        counts = by_call.setdefault(str(length), {})
        counts[call] = counts.get(call, 0) + 1
    return HeldoutSummary(
        fragments=len(scores.sequence_ids),
        chunks=len(scores.frames),
        chunks_without_frame=int((scores.frames == 0).sum()),
        fragments_by_call=by_call,
        genomes=genomes,
        fragment_lengths=list(settings.fragment_lengths),
        fragments_per_genome=settings.fragments_per_genome,
    )


def _planted_proviruses(
    levels: Mapping[str, Mapping[str, Level]], chunk_length: int, settings: CompareSettings
) -> ProvirusFigures:
    """Region recall and boundary error per model on planted chunk tracks (first seed)."""
    tracks = {
        name: genome_tracks(lv["chunk"].units, lv["chunk"].calls, lv["chunk"].genomes or [])
        for name, lv in levels.items()
    }
    ref = levels[settings.baseline]["chunk"]
    labels: dict[str, int] = {}
    for genome, label in zip(ref.genomes or [], ref.labels.tolist(), strict=True):
        labels.setdefault(genome, int(label))
    return measure_proviruses(
        tracks,
        labels,
        settings.region_model,
        chunk_length,
        settings.provirus_trials,
        settings.seed,
    )


def _model_figures(model: ModelInputs, chunks: Level) -> ModelFigures:
    meta = model.metadata
    return ModelFigures(
        per_group=per_group(chunks),
        extraction=model.extraction,
        input_width=meta.get("input_width"),
        manifest_sha256=meta.get("manifest_sha256"),
        epochs_run=meta.get("epochs_run"),
        training_seeds=sorted(model.seeds),
        dna_commit=meta.get("dna_commit"),
        protein_commit=meta.get("protein_commit"),
        versions=meta.get("versions"),
    )


def build_comparison(
    inputs: ComparisonInputs, settings: CompareSettings, chunk_length: int
) -> tuple[Comparison, bytes]:
    """The comparison of ``inputs`` and its ROC/PR/F1 figure (PNG bytes)."""
    by_name = {m.name: m for m in inputs.models}
    for key in (settings.baseline, settings.candidate):
        if key not in by_name:
            raise InputError(f"compare: no results for {key} (have {', '.join(by_name)})")
    base, cand = settings.baseline, settings.candidate
    base_pred = by_name[base].predictions
    fragments = inputs.fragments
    levels = {name: model_levels(m, base_pred, fragments) for name, m in by_name.items()}
    _check_same_units(levels, base)
    figures = level_figures(levels, settings)
    accuracy = accuracy_test(
        calls_strata(inputs.calls, base, cand, settings.gated_lengths), settings.accuracy
    )
    speed = speed_test(
        inputs.speed_runs,
        base,
        cand,
        settings.min_speedup,
        settings.max_outside_load,
        inputs.overlapping_jobs,
    )
    standins = list(inputs.standin_models)  # the registry's provider: standin
    manifest = manifest_tables(inputs.manifest_summary)
    comparison = Comparison(
        settings=settings,
        chunk_length=chunk_length,
        project_version=__version__,
        decision=decide(accuracy.accuracy, accuracy.reasons, speed.speed, speed.reasons, standins),
        accuracy=accuracy,
        speed=speed,
        levels=figures,
        heldout=heldout_summary(
            fragments,
            next(iter(by_name[base].heldout.values())),
            figures["chunk"].genomes,
            settings,
        ),
        proviruses=_planted_proviruses(levels, chunk_length, settings),
        taxa=taxon_novelty(
            {n: lv["chunk"] for n, lv in levels.items()},
            fragments,
            base,
            cand,
            settings.bootstrap,
            settings.seed,
        ),
        models={name: _model_figures(m, levels[name]["chunk"]) for name, m in by_name.items()},
        extraction_speedup=extraction_speedup(by_name[base].extraction, by_name[cand].extraction),
        manifest=manifest,
        checks=[
            *consistency_checks(
                base_pred, levels[base], manifest, {n: m.metadata for n, m in by_name.items()}
            ),
            heldout_check(fragments, inputs.split_genomes),
        ],
    )
    return comparison, figure_png(levels, figures, base, cand, chunk_length)
