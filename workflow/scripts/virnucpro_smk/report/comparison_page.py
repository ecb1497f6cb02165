"""The comparison as people read it: HTML page and Markdown from Jinja2 templates.

Each section of the page is drawn by one function from the typed :class:`.Comparison`
(decision, accuracy, speed, per length, taxa, levels, proviruses, extraction, manifest,
checks); every number is formatted here, so the HTML page and its Markdown twin show the same
figures. The templates live in ``workflow/report/`` beside the workflow's other report files;
the JSON written next to the page (:meth:`.Comparison.to_json`) holds every figure the page
shows, for scripts.
"""

from __future__ import annotations

import base64
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..classify.calls import NO_CODING_FRAME, TOO_FEW_SCORED
from ..io.atomic import atomic_path, write_text_atomic
from .comparison import Comparison
from .decision import CANDIDATE_OK
from .heldout_levels import sequence_level_name
from .level_metrics import CI_METRICS, LevelFigures
from .manifest_tables import total_count

TEMPLATE_DIR = Path(__file__).resolve().parents[3] / "report"


@dataclass(frozen=True)
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""


@dataclass(frozen=True)
class Verdict:
    name: str  # accuracy / speed
    value: str
    reasons: list[str]


@dataclass(frozen=True)
class DecisionView:
    """The page's head: the decision, both verdicts with their reasons, the stand-in banner."""

    verdict: str
    passed: bool
    verdicts: list[Verdict]
    banner: str | None
    speedup: str
    reasons: list[str]  # the decision's own reasons (a stand-in): the verdicts list theirs


@dataclass(frozen=True)
class Page:
    title: str
    decision: DecisionView
    intro: str
    tables: list[Table]


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


def _names(c: Comparison) -> list[str]:
    return [c.baseline, c.candidate]


# --------------------------------------------------------------------------- the head


def decision_section(c: Comparison) -> DecisionView:
    standins = c.decision.standin_models
    ci = c.speed.speedup_ci95
    return DecisionView(
        verdict=c.decision.decision,
        passed=c.decision.decision == CANDIDATE_OK,
        verdicts=[
            Verdict("accuracy", c.accuracy.accuracy, c.accuracy.reasons),
            Verdict("speed", c.speed.speed, c.speed.reasons),
        ],
        banner=(
            f"Stand-in models ({', '.join(standins)}): tiny random-weight models that test the "
            "workflow. Nothing in this report says anything about the models they stand in for."
            if standins
            else None
        ),
        speedup=f"{_fmt(c.speed.speedup, 2)}x"
        + (f" [{_fmt(ci[0], 2)}, {_fmt(ci[1], 2)}]" if ci else ""),
        reasons=[r for r in c.decision.reasons if r not in (*c.accuracy.reasons, *c.speed.reasons)],
    )


def intro(c: Comparison) -> str:
    """What was tested: genomes, fragments, chunks, frames, seeds, the context intervals."""
    held = c.heldout
    lengths = ", ".join(
        f"{n / 1000:g} kb: {sum(held.fragments_by_call.get(str(n), {}).values())}"
        for n in held.fragment_lengths
    )
    seeds = ", ".join(f"{k} {v}" for k, v in c.accuracy.seeds.items())
    return (
        f"Test genomes: {_fmt(c.levels['frame'].genomes)} (no genome in two splits). Accuracy "
        f"is measured on what predict sees: {_fmt(held.fragments)} "
        f"fragments ({lengths}; a genome shorter than a length gives none) "
        f"cut from them, {_fmt(c.levels['chunk'].n)} chunks with a kept frame "
        f"({_fmt(held.chunks_without_frame)} without), per-chunk and "
        "per-sequence calls by predict's rules; also on "
        f"{_fmt(c.levels['frame'].n)} annotated-CDS test frames; "
        f"same training manifest: {_fmt(c.same_manifest)}; training seeds: {seeds}. Context "
        "intervals (per-level tables): 95 % percentile bootstrap CI, "
        f"{c.settings.bootstrap} resamples of whole genomes (seed {c.settings.seed}), first "
        "training seed, both models on the same resamples."
    )


# --------------------------------------------------------------------------- accuracy


def accuracy_table(c: Comparison) -> Table:
    """The accuracy verdict's evidence: every stratum's gated metrics with their intervals."""
    test = c.accuracy
    rows = []
    for stratum in test.strata.values():
        for metric in stratum.metrics.values():
            bound = (
                f"lower > -{metric.margin:g}"
                if metric.effect_kind == "difference"
                else f"upper < {metric.margin:g}"
            )
            rows.append(
                [
                    stratum.name,
                    f"{stratum.viral_genomes} / {stratum.nonviral_genomes}",
                    metric.metric.replace("_", " "),
                    bound,
                    _ci(metric.baseline, metric.baseline_ci95),
                    _ci(metric.candidate, metric.candidate_ci95),
                    _ci(metric.effect, metric.effect_ci95),
                    metric.decision.replace("_", " ") if stratum.gated else "not gated",
                ]
            )
    return Table(
        "Accuracy verdict: every gated stratum, genome-averaged (the decision's accuracy half)",
        [
            "stratum",
            "genomes viral / non-viral",
            "metric",
            "margin (95 % bound)",
            *_names(c),
            "candidate - or / baseline [95 % CI]",
            "decision",
        ],
        rows,
        "Each test genome's rate over its own units, averaged over genomes (pooled figures: "
        "the per-level tables below). Sensitivity: candidate - baseline, non-inferior when "
        "the lower bound is above minus the margin. False-positive rate: candidate / "
        f"baseline, each at least {_fmt(test.settings.fpr_floor, 4)}, non-inferior when the "
        "upper bound is below the margin. The accuracy is non-inferior only when every gated "
        "stratum is (intersection-union test: no multiplicity correction needed); a stratum "
        f"with fewer than {test.settings.min_test_genomes} genomes of a class is not gated and "
        "leaves the verdict inconclusive. Interval: "
        f"{test.resamples} resamples of test genomes stratified by class (seed "
        f"{test.bootstrap_seed}), both models on the same genome draws, training seeds "
        f"resampled per model (baseline {_fmt(test.seeds['baseline'])}; candidate "
        f"{_fmt(test.seeds['candidate'])}).",
    )


def precision_table(c: Comparison) -> Table:
    """Precision at low viral prevalence in the chunk stratum (context)."""
    by_prevalence = c.accuracy.strata["chunk"].low_prevalence_precision
    return Table(
        "Precision at low viral prevalence (chunk stratum, genome-averaged; context)",
        ["viral fraction", *_names(c)],
        [
            [p, *(_ci(row[k].precision, row[k].ci95) for k in ("baseline", "candidate"))]
            for p, row in by_prevalence.items()
        ],
        "precision = sens x p / (sens x p + fpr x (1 - p)): the test split is balanced, "
        "real metagenomes are not. Not gated: the false-positive rate ratio above is.",
    )


def length_table(c: Comparison) -> Table:
    """Per fragment length: each model's sensitivity and specificity of predict's call, and
    how many fragments predict could not call (the same for both models)."""
    names = _names(c)
    by_call = {sequence_level_name(int(k)): v for k, v in c.heldout.fragments_by_call.items()}
    rows = []
    for level_name, level in c.sequence_levels.items():
        if level_name not in by_call:
            continue
        m = {n: level.models[n] for n in names}
        conf = m[names[0]].metrics["confusion"]
        uncalled = sum(by_call[level_name].get(x, 0) for x in (NO_CODING_FRAME, TOO_FEW_SCORED))
        rows.append(
            [
                level_name.removeprefix("sequence_"),
                f"{conf['tp'] + conf['fn']} / {conf['tn'] + conf['fp']}",
                *(
                    f"{_ci(m[n].metrics['recall'], m[n].ci95['recall'])}; "
                    f"{_fmt(m[n].metrics['specificity'])}"
                    for n in names
                ),
                str(uncalled),
            ]
        )
    return Table(
        "Per fragment length (what a user gets from predict)",
        [
            "length",
            "viral / non-viral",
            *(f"{n}: sensitivity [CI]; specificity" for n in names),
            "not callable",
        ],
        rows,
        f"{c.heldout.fragments_per_genome} fragments of each length per test genome (seeded "
        "positions; genomes shorter than a length give none). Not callable: fragments with no "
        "coding frame or too few scored chunks (counted as not viral above).",
    )


def taxa_table(c: Comparison) -> Table:
    """Per-chunk accuracy on test genomes of taxa seen vs unseen in training."""
    names = _names(c)
    rows = []
    for part, label in (
        (c.taxa.seen, "taxon seen in training"),
        (c.taxa.unseen, "taxon unseen in training"),
    ):
        if not part.measured:
            rows.append([label, "0", *("not measured" for _ in names)])
            continue
        rows.append(
            [
                label,
                f"{_fmt(part.chunks)} ({part.genomes} genomes, {part.viral_genomes} viral)",
                *(
                    f"sens {_ci(m.metrics['recall'], m.ci95['recall'])}; "
                    f"spec {_fmt(m.metrics['specificity'])}; "
                    f"MCC {_ci(m.metrics['mcc'], m.ci95['mcc'])}"
                    for m in (part.models[n] for n in names)
                ),
            ]
        )
    return Table(
        "New taxa (per chunk, held-out fragments; first training seed)",
        ["test genomes", "chunks", *names],
        rows,
        "Taxon: the lowest one-word rank of the GenBank lineage, usually the genus (FASTA "
        "datasets: the genome map's optional taxon column). The split keeps genomes apart, "
        "not relatives: 'seen' genomes share a genus with a training genome. Chunks of genomes "
        f"without a taxon: {_fmt(c.taxa.unknown_taxon_chunks)}.",
    )


# --------------------------------------------------------------------------- levels


def _level_title(name: str) -> str:
    if name == "frame":
        return "Per frame (annotated-CDS frames of the test genomes, training-mode selection)"
    if name == "chunk":
        return "Per chunk (held-out fragments through predict: every stop-free frame)"
    return f"Per {name.removeprefix('sequence_')} fragment (the per-sequence call of predict)"


def f1_table(c: Comparison) -> Table:
    return Table(
        "F1 at each level (95 % bootstrap CI over genomes; first training seed)",
        ["level", "units", *_names(c), "F1 drop (baseline - candidate)"],
        [
            [
                name,
                _fmt(lv.n),
                *(_ci(lv.models[n].metrics["f1"], lv.models[n].ci95["f1"]) for n in _names(c)),
                _ci(lv.f1_drop.value, lv.f1_drop.ci95),
            ]
            for name, lv in c.levels.items()
        ],
        "For context: F1 on a balanced test split hides specificity, so the decision "
        "uses the margins above, not F1.",
    )


def level_table(c: Comparison, name: str, lv: LevelFigures) -> Table:
    """Every metric of one level for both models, the confusion and the F1 drop."""
    names = _names(c)
    rows = [
        [metric, *(_ci(lv.models[n].metrics[metric], lv.models[n].ci95[metric]) for n in names)]
        for metric in CI_METRICS
    ]
    confusion = [lv.models[n].metrics["confusion"] for n in names]
    rows.append(
        [
            "confusion tn/fp/fn/tp",
            *("/".join(str(m[k]) for k in ("tn", "fp", "fn", "tp")) for m in confusion),
        ]
    )
    rows.append(["F1 drop (baseline - candidate)", _ci(lv.f1_drop.value, lv.f1_drop.ci95), ""])
    return Table(
        f"{_level_title(name)}: {_fmt(lv.n)} units from {_fmt(lv.records)} records in "
        f"{_fmt(lv.genomes)} genomes (95 % bootstrap CI over genomes; first training seed)",
        ["metric", *names],
        rows,
        f"Rule: {lv.rule}.",
    )


def group_table(c: Comparison) -> Table:
    groups = c.models[c.baseline].per_group
    return Table(
        "Per group (chunk level)",
        ["group", "chunks", "records", "metric", *_names(c)],
        [
            [
                g,
                _fmt(i.n),
                _fmt(i.records),
                i.metric,
                *(_fmt(c.models[n].per_group[g].value) for n in _names(c)),
            ]
            for g, i in groups.items()
        ],
        "Recall for viral groups, specificity for host groups.",
    )


def level_tables(c: Comparison) -> list[Table]:
    """F1 at every level, each level's own table, and the chunk level per group."""
    return [
        f1_table(c),
        *(level_table(c, name, lv) for name, lv in c.levels.items()),
        group_table(c),
    ]


# --------------------------------------------------------------------------- context


def provirus_table(c: Comparison) -> Table:
    """Planted proviruses per model, or why they were not measured."""
    title, names, prov = "Viral regions (planted proviruses)", _names(c), c.proviruses
    if not prov.measured:
        return Table(
            title,
            ["", *names],
            [["measured", *("no" for _ in names)]],
            f"Not measured: {prov.reason}.",
        )
    rows = [
        [label, *(_fmt(getattr(prov.models[n], key), digits) for n in names)]
        for key, label, digits in (
            ("planted", "planted proviruses", 0),
            ("recall", "recall (found by exactly one region)", 3),
            ("split", "split into several regions", 0),
            ("false_regions", "false regions", 0),
            ("median_boundary_error_chunks", "median boundary error (chunks)", 1),
            ("median_boundary_error_bp", "median boundary error (bp)", 0),
        )
    ]
    rm = prov.region_model
    return Table(
        title,
        ["", *names],
        rows,
        f"Method: {prov.method}. {prov.trials} trials (seed {prov.seed}) over "
        f"{prov.host_genomes} non-viral and {prov.viral_genomes} viral test genomes, "
        f"first training seed; region model: sensitivity {_fmt(rm.sensitivity)}, "
        f"false-positive rate {_fmt(rm.false_positive_rate)}, switch probability "
        f"{rm.switch_probability:g}. Test frames are a sample, so most planted tracks are "
        "sparser than a real contig's; no real integration site or host flank is modelled.",
    )


def speed_table(c: Comparison) -> Table:
    """The speed verdict's evidence: every timed run with the conditions around it."""
    test = c.speed
    rows = [
        [
            str(run.position + 1),
            run.model,
            _fmt(run.seconds, 2),
            ", ".join(f"{k} {v:.1f}" for k, v in run.stage_seconds.items()),
            _fmt(run.outside_load, 2),
            f"{run.loadavg_before[0]:.2f} -> {run.loadavg_after[0]:.2f}",
            ", ".join(run.gpu_processes_before + run.gpu_processes_after) or "none",
            ", ".join(f"{k} {v}" for k, v in run.dtypes.items()),
        ]
        for run in test.runs
    ]
    ci = test.speedup_ci95
    interval = f" [{_fmt(ci[0], 2)}, {_fmt(ci[1], 2)}]" if ci else " (no interval)"
    return Table(
        "Speed verdict: predict end to end on the held-out fragments, alternating runs",
        [
            "run",
            "model",
            "seconds",
            "stages (s)",
            "outside load (cores)",
            "load average before -> after",
            "other GPU processes",
            "run dtypes",
        ],
        rows,
        f"Speed-up (baseline / candidate seconds, geometric mean of the paired ratios "
        f"{_fmt(test.pair_ratios, 2)}): {_fmt(test.speedup, 2)}x{interval}, required "
        f"{_fmt(test.min_speedup, 2)}x at the lower bound. Conditions problems: "
        f"{'; '.join(test.condition_problems) or 'none'}. "
        "Each stage is a fresh process (start-up and model loading included); outside load: "
        "CPU time of other processes during the run (/proc/stat minus the run's own).",
    )


EXTRACTION_ROWS = (
    ("jobs", "extraction jobs"),
    ("records", "records embedded"),
    ("tokens", "tokens"),
    ("wall_seconds", "wall seconds, all jobs"),
    ("dtypes", "run dtype"),
    ("embed_seconds", "in-process embedding seconds"),
    ("load_seconds", "model loading seconds"),
    ("overhead_seconds", "wall - embedding seconds"),
    ("tokens_per_embed_s", "tokens / embedding second"),
    ("gpu_util_mean_pct", "GPU utilization, mean % (steady state)"),
    ("peak_gpu_mib", "peak GPU memory (MiB)"),
    ("seconds_to_first_batch", "seconds to the first batch, all jobs"),
    ("seconds_after_last_batch", "seconds after the last batch, all jobs"),
    ("max_rss_mib", "max RSS of a job (MiB)"),
    ("devices", "devices"),
    ("training_wall_seconds", "classifier training wall seconds"),
)


def extraction_table(c: Comparison) -> Table:
    """The training set's extraction jobs per model (context: timed once, alongside others)."""
    names, ratio = _names(c), c.extraction_speedup
    return Table(
        "Training-set extraction (context, not gated)",
        ["", *names],
        [
            [label, *(_fmt(getattr(c.models[n].extraction, key), 2) for n in names)]
            for key, label in EXTRACTION_ROWS
        ],
        f"The protein model's extraction of the training frames, each job timed once beside "
        f"the workflow's other jobs: wall-time ratio {_fmt(ratio.end_to_end, 2)}x, "
        f"in-process {_fmt(ratio.in_process, 2)}x"
        + (f" ({ratio.problem})" if ratio.problem else "")
        + ". The speed verdict reads the dedicated runs above, not these.",
    )


# --------------------------------------------------------------------------- inputs


def _split_rows(by_split: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    keys = sorted({k for v in by_split.values() if isinstance(v, Mapping) for k in v})
    if keys:
        return ["split", *keys, "total"], [
            [s, *(_fmt(v.get(k)) for k in keys), _fmt(total_count(v))]
            for s, v in by_split.items()
            if isinstance(v, Mapping)
        ]
    return ["split", "total"], [[s, _fmt(v)] for s, v in by_split.items()]


def manifest_section(c: Comparison) -> list[Table]:
    """Training frames available vs used per group, and the splits' frames, records, genomes."""
    man = c.manifest
    tables = [
        Table(
            "Training frames available vs used, per group",
            ["group", "available", "used", "fraction used"],
            [[r.group, _fmt(r.available), _fmt(r.used), _fmt(r.fraction)] for r in man.by_group]
            + [
                [
                    "total",
                    _fmt(man.total.available),
                    _fmt(man.total.used),
                    _fmt(man.total.fraction),
                ]
            ],
            "From the training manifest summary (drawn before embedding, shared by both models).",
        )
    ]
    for counts, title in (
        (man.by_split, "Frames per split"),
        (man.records_by_split, "Records per split"),
        (man.genomes_by_split, "Genomes per split"),
    ):
        if counts:
            tables.append(Table(title, *_split_rows(counts)))
    return tables


def checks_table(c: Comparison) -> Table:
    return Table(
        "Consistency checks",
        ["check", "ok", "detail"],
        [[x.check, "yes" if x.ok else "NO", x.detail] for x in c.checks],
    )


# --------------------------------------------------------------------------- the page


def report_view(c: Comparison) -> Page:
    """The page: its head, then the sections in reading order (verdicts' evidence first)."""
    return Page(
        title=f"{c.baseline} vs {c.candidate} (chunk length {c.chunk_length} bp)",
        decision=decision_section(c),
        intro=intro(c),
        tables=[
            accuracy_table(c),
            speed_table(c),
            precision_table(c),
            length_table(c),
            taxa_table(c),
            *level_tables(c),
            provirus_table(c),
            extraction_table(c),
            *manifest_section(c),
            checks_table(c),
        ],
    )


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


def render(comparison: Comparison, figure_png: bytes) -> tuple[str, str]:
    """The HTML page (figure embedded as base64) and the Markdown text of ``comparison``."""
    env = _environment(TEMPLATE_DIR)
    env.filters["md_cell"] = lambda s: str(s).replace("|", "\\|")
    page = report_view(comparison)
    html = env.get_template("comparison.html.j2").render(
        page=page, figure_base64=base64.b64encode(figure_png).decode("ascii")
    )
    md = env.get_template("comparison.md.j2").render(page=page)
    return html, md


def write_comparison(
    comparison: Comparison,
    figure_png: bytes,
    html_path: str | os.PathLike[str],
    md_path: str | os.PathLike[str],
    json_path: str | os.PathLike[str],
    png_path: str | os.PathLike[str],
) -> None:
    """Write the four outputs atomically (JSON with every figure; HTML self-contained)."""
    html, md = render(comparison, figure_png)
    write_text_atomic(md_path, md)
    text = json.dumps(finite(comparison.to_json()), indent=2, allow_nan=False)
    write_text_atomic(json_path, text + "\n")
    with atomic_path(png_path) as tmp:
        Path(tmp).write_bytes(figure_png)
    write_text_atomic(html_path, html)


def finite(value: Any) -> Any:
    """NaN (an undefined metric) as JSON null: ``NaN`` is not valid JSON (tuples as lists)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Mapping):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value
