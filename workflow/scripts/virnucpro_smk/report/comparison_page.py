"""The comparison as people read it: figure, HTML page and Markdown from Jinja2 templates.

The templates live in ``workflow/report/`` beside the workflow's other report files; the
JSON written next to the page holds every figure the page shows, for scripts.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..classify.calls import NO_CODING_FRAME, TOO_FEW_SCORED
from ..io.atomic import atomic_path, write_text_atomic
from .heldout_levels import sequence_level_name
from .levels import CI_METRICS, Level

TEMPLATE_DIR = Path(__file__).resolve().parents[3] / "report"


def total_count(value: Any) -> int | float | None:
    """Sum of a count or of a (nested) mapping of counts; None when not numeric."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, Mapping):
        parts = [total_count(v) for v in value.values()]
        return None if any(p is None for p in parts) else sum(parts)  # type: ignore[arg-type]
    return None


def figure_png(
    levels: Mapping[str, Mapping[str, Level]],
    summary: Mapping[str, Any],
    baseline: str,
    candidate: str,
    chunk_length: int,
) -> bytes:
    """ROC and PR curves at chunk level (operating point of the max rule marked) and F1 per
    level with its cluster-bootstrap interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, roc_curve

    fig, (roc_ax, pr_ax, f1_ax) = plt.subplots(1, 3, figsize=(13, 4.2))
    colours = {baseline: "#2c7fb8", candidate: "#d95f02"}
    for name in (baseline, candidate):
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
    names = list(summary)  # frame, chunk, then one sequence level per fragment length
    for k, name in enumerate((baseline, candidate)):
        xs = np.arange(len(names)) + (k - 0.5) * width
        f1 = [summary[lv]["models"][name]["metrics"]["f1"] for lv in names]
        lo = [summary[lv]["models"][name]["ci95"]["f1"][0] for lv in names]
        hi = [summary[lv]["models"][name]["ci95"]["f1"][1] for lv in names]
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
            [s, *(_fmt(v.get(k)) for k in keys), _fmt(total_count(v))]
            for s, v in by_split.items()
            if isinstance(v, Mapping)
        ]
    return ["split", "total"], [[s, _fmt(v)] for s, v in by_split.items()]


def _accuracy_table(report: Mapping[str, Any], names: list[str]) -> dict:
    """The accuracy verdict's evidence: every stratum's gated metrics with their intervals."""
    test = report["accuracy_test"]
    rows = []
    for stratum in test["strata"].values():
        for metric in stratum["metrics"].values():
            bound = (
                f"lower > -{metric['margin']:g}"
                if metric["effect_kind"] == "difference"
                else f"upper < {metric['margin']:g}"
            )
            rows.append(
                [
                    stratum["name"],
                    f"{stratum['viral_genomes']} / {stratum['nonviral_genomes']}",
                    metric["metric"].replace("_", " "),
                    bound,
                    *(_ci(metric[k], metric[f"{k}_ci95"]) for k in ("baseline", "candidate")),
                    _ci(metric["effect"], metric["effect_ci95"]),
                    metric["decision"].replace("_", " ") if stratum["gated"] else "not gated",
                ]
            )
    settings = test["settings"]
    return _table(
        "Accuracy verdict: every gated stratum, genome-averaged (the decision's accuracy half)",
        [
            "stratum",
            "genomes viral / non-viral",
            "metric",
            "margin (95 % bound)",
            *names,
            "candidate - or / baseline [95 % CI]",
            "decision",
        ],
        rows,
        "Each test genome's rate over its own units, averaged over genomes (pooled figures: "
        "the per-level tables below). Sensitivity: candidate - baseline, non-inferior when "
        "the lower bound is above minus the margin. False-positive rate: candidate / "
        f"baseline, each at least {_fmt(settings['fpr_floor'], 4)}, non-inferior when the "
        "upper bound is below the margin. The accuracy is non-inferior only when every gated "
        "stratum is (intersection-union test: no multiplicity correction needed); a stratum "
        f"with fewer than {settings['min_test_genomes']} genomes of a class is not gated and "
        "leaves the verdict inconclusive. Interval: "
        f"{test['resamples']} resamples of test genomes stratified by class (seed "
        f"{test['bootstrap_seed']}), both models on the same genome draws, training seeds "
        f"resampled per model (baseline {_fmt(test['seeds']['baseline'])}; candidate "
        f"{_fmt(test['seeds']['candidate'])}).",
    )


def _speed_table(report: Mapping[str, Any]) -> dict:
    """The speed verdict's evidence: every timed run with the conditions around it."""
    test = report["speed_test"]
    rows = [
        [
            str(run["position"] + 1),
            run["model"],
            _fmt(run["seconds"], 2),
            ", ".join(f"{k} {v:.1f}" for k, v in run["stage_seconds"].items()),
            _fmt(run["outside_load"], 2),
            f"{run['loadavg_before'][0]:.2f} -> {run['loadavg_after'][0]:.2f}",
            ", ".join(run["gpu_processes_before"] + run["gpu_processes_after"]) or "none",
            ", ".join(f"{k} {v}" for k, v in run["dtypes"].items()),
        ]
        for run in test["runs"]
    ]
    ci = test["speedup_ci95"]
    interval = f" [{_fmt(ci[0], 2)}, {_fmt(ci[1], 2)}]" if ci else " (no interval)"
    problems = "; ".join(test["condition_problems"]) or "none"
    return _table(
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
        f"{_fmt(test['pair_ratios'], 2)}): {_fmt(test['speedup'], 2)}x{interval}, required "
        f"{_fmt(test['min_speedup'], 2)}x at the lower bound. Conditions problems: {problems}. "
        "Each stage is a fresh process (start-up and model loading included); outside load: "
        "CPU time of other processes during the run (/proc/stat minus the run's own).",
    )


def _extraction_table(report: Mapping[str, Any], names: list[str]) -> dict:
    """The training set's extraction jobs per model (context: timed once, alongside others)."""
    keys = [
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
    ]
    ratio = report["training_extraction_speedup"]
    return _table(
        "Training-set extraction (context, not gated)",
        ["", *names],
        [
            [label, *(_fmt(report["models"][n]["extraction"].get(k), 2) for n in names)]
            for k, label in keys
        ],
        f"The protein model's extraction of the training frames, each job timed once beside "
        f"the workflow's other jobs: wall-time ratio {_fmt(ratio['end_to_end'], 2)}x, "
        f"in-process {_fmt(ratio['in_process'], 2)}x"
        + (f" ({ratio['problem']})" if ratio["problem"] else "")
        + ". The speed verdict reads the dedicated runs above, not these.",
    )


def _provirus_table(report: Mapping[str, Any], names: list[str]) -> dict:
    """Planted proviruses per model, or why they were not measured (old reports: absent)."""
    title = "Viral regions (planted proviruses)"
    prov = report.get("proviruses")
    if not isinstance(prov, Mapping):
        return _table(title, ["", *names], [], "Not measured: this report predates the section.")
    if not prov.get("measured"):
        return _table(
            title,
            ["", *names],
            [["measured", *("no" for _ in names)]],
            f"Not measured: {prov.get('reason')}.",
        )
    by_model = prov["models"]
    rows = [
        [label, *(_fmt(by_model[n][key], digits) for n in names)]
        for key, label, digits in (
            ("planted", "planted proviruses", 0),
            ("recall", "recall (found by exactly one region)", 3),
            ("split", "split into several regions", 0),
            ("false_regions", "false regions", 0),
            ("median_boundary_error_chunks", "median boundary error (chunks)", 1),
            ("median_boundary_error_bp", "median boundary error (bp)", 0),
        )
    ]
    rm = prov["region_model"]
    return _table(
        title,
        ["", *names],
        rows,
        f"Method: {prov['method']}. {prov['trials']} trials (seed {prov['seed']}) over "
        f"{prov['host_genomes']} non-viral and {prov['viral_genomes']} viral test genomes, "
        f"first training seed; region model: sensitivity {_fmt(rm['sensitivity'])}, "
        f"false-positive rate {_fmt(rm['false_positive_rate'])}, switch probability "
        f"{rm['switch_probability']:g}. Test frames are a sample, so most planted tracks are "
        "sparser than a real contig's; no real integration site or host flank is modelled.",
    )


def _versions(versions: Any) -> str:
    if not isinstance(versions, Mapping):
        return "?"
    return ", ".join(
        f"{k} {v}"
        for k, v in sorted(versions.items())
        if k in ("torch", "transformers", "virnucpro_smk", "python")
    )


def _taxa_table(report: Mapping[str, Any], names: list[str]) -> dict:
    """Per-chunk accuracy on test genomes of taxa seen vs unseen in training."""
    taxa = report.get("taxa") or {}
    rows = []
    for key, label in (("seen", "taxon seen in training"), ("unseen", "taxon unseen in training")):
        part = taxa.get(key) or {}
        if not part.get("measured"):
            rows.append([label, "0", *("not measured" for _ in names)])
            continue
        models = [part["models"][n] for n in names]
        rows.append(
            [
                label,
                f"{_fmt(part['chunks'])} ({part['genomes']} genomes, "
                f"{part['viral_genomes']} viral)",
                *(
                    f"sens {_ci(m['metrics']['recall'], m['ci95']['recall'])}; "
                    f"spec {_fmt(m['metrics']['specificity'])}; "
                    f"MCC {_ci(m['metrics']['mcc'], m['ci95']['mcc'])}"
                    for m in models
                ),
            ]
        )
    return _table(
        "New taxa (per chunk, held-out fragments; first training seed)",
        ["test genomes", "chunks", *names],
        rows,
        "Taxon: the lowest one-word rank of the GenBank lineage, usually the genus (FASTA "
        "datasets: the genome map's optional taxon column). The split keeps genomes apart, "
        "not relatives: 'seen' genomes share a genus with a training genome. Chunks of genomes "
        f"without a taxon: {_fmt(taxa.get('unknown_taxon_chunks'))}.",
    )


def _level_title(name: str) -> str:
    if name == "frame":
        return "Per frame (annotated-CDS frames of the test genomes, training-mode selection)"
    if name == "chunk":
        return "Per chunk (held-out fragments through predict: every stop-free frame)"
    return f"Per {name.removeprefix('sequence_')} fragment (the per-sequence call of predict)"


def _length_table(report: Mapping[str, Any], names: list[str]) -> dict:
    """Per fragment length: each model's sensitivity and specificity of predict's call, and
    how many fragments predict could not call (the same for both models)."""
    levels, held = report["levels"], report["heldout"]
    by_call = {sequence_level_name(int(k)): v for k, v in held["fragments_by_call"].items()}
    rows = []
    for level_name, lv in levels.items():
        if level_name not in by_call:
            continue
        length = level_name.removeprefix("sequence_")
        m = {n: lv["models"][n] for n in names}
        conf = m[names[0]]["metrics"]["confusion"]
        uncalled = sum(by_call[level_name].get(c, 0) for c in (NO_CODING_FRAME, TOO_FEW_SCORED))
        rows.append(
            [
                length,
                f"{conf['tp'] + conf['fn']} / {conf['tn'] + conf['fp']}",
                *(
                    f"{_ci(m[n]['metrics']['recall'], m[n]['ci95']['recall'])}; "
                    f"{_fmt(m[n]['metrics']['specificity'])}"
                    for n in names
                ),
                str(uncalled),
            ]
        )
    return _table(
        "Per fragment length (what a user gets from predict)",
        [
            "length",
            "viral / non-viral",
            *(f"{n}: sensitivity [CI]; specificity" for n in names),
            "not callable",
        ],
        rows,
        f"{held['fragments_per_genome']} fragments of each length per test genome (seeded "
        "positions; genomes shorter than a length give none). Not callable: fragments with no "
        "coding frame or too few scored chunks (counted as not viral above).",
    )


def report_view(report: Mapping[str, Any]) -> dict[str, Any]:
    """Formatted tables shared by the HTML and Markdown templates (same numbers in both)."""
    base, cand = report["baseline"], report["candidate"]
    names = [base, cand]
    levels = report["levels"]
    chunk = report["accuracy_test"]["strata"]["chunk"]
    tables: list[dict] = [
        _accuracy_table(report, names),
        _speed_table(report),
        _table(
            "Precision at low viral prevalence (chunk stratum, genome-averaged; context)",
            ["viral fraction", *names],
            [
                [p, *(_ci(row[k]["precision"], row[k]["ci95"]) for k in ("baseline", "candidate"))]
                for p, row in chunk["low_prevalence_precision"].items()
            ],
            "precision = sens x p / (sens x p + fpr x (1 - p)): the test split is balanced, "
            "real metagenomes are not. Not gated: the false-positive rate ratio above is.",
        ),
        _length_table(report, names),
        _taxa_table(report, names),
        _table(
            "F1 at each level (95 % bootstrap CI over genomes; first training seed)",
            ["level", "units", *names, "F1 drop (baseline - candidate)"],
            [
                [
                    level_name,
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
                for level_name in levels
            ],
            "For context: F1 on a balanced test split hides specificity, so the decision "
            "uses the margins above, not F1.",
        ),
    ]
    for level_name in levels:
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
                f"{_level_title(level_name)}: {_fmt(lv['n'])} units from "
                f"{_fmt(lv['records'])} records in {_fmt(lv.get('genomes'))} genomes "
                "(95 % bootstrap CI over genomes; first training seed)",
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
    tables.append(_provirus_table(report, names))
    tables.append(_extraction_table(report, names))
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
    for key, title in (
        ("by_split", "Frames per split"),
        ("records_by_split", "Records per split"),
        ("genomes_by_split", "Genomes per split"),
    ):
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
    decision = report["decision"]
    verdicts = [
        {"name": "accuracy", "value": report["accuracy"], "reasons": report["accuracy_reasons"]},
        {"name": "speed", "value": report["speed"], "reasons": report["speed_reasons"]},
    ]
    standins = report.get("standin_models") or []
    banner = (
        f"Stand-in models ({', '.join(standins)}): tiny random-weight models that test the "
        "workflow. Nothing in this report says anything about the models they stand in for."
        if standins
        else None
    )
    cut = report["heldout"]["fragments_by_call"]
    lengths = ", ".join(
        f"{n / 1000:g} kb: {sum(cut.get(str(n), {}).values())}"
        for n in report["heldout"]["fragment_lengths"]
    )
    return {
        "title": f"{base} vs {cand} (chunk length {report['chunk_length']} bp)",
        "baseline": base,
        "candidate": cand,
        "verdict": decision,
        "passed": decision == "candidate_ok",
        "verdicts": verdicts,
        "banner": banner,
        "speedup": (
            f"{_fmt(report['speedup'], 2)}x"
            + (
                f" [{_fmt(report['speedup_ci95'][0], 2)}, {_fmt(report['speedup_ci95'][1], 2)}]"
                if report["speedup_ci95"]
                else ""
            )
        ),
        # the decision's own reasons (a stand-in); the verdicts' reasons are listed above
        "reasons": [
            r
            for r in report["decision_reasons"]
            if r not in (*report["accuracy_reasons"], *report["speed_reasons"])
        ],
        "intro": (
            f"Test genomes: {_fmt(report['test_genomes'])} (no genome in two splits). Accuracy "
            f"is measured on what predict sees: {_fmt(report['heldout']['fragments'])} "
            f"fragments ({lengths}; a genome shorter than a length gives none) "
            f"cut from them, {_fmt(report['test_chunks'])} chunks with a kept frame "
            f"({_fmt(report['heldout']['chunks_without_frame'])} without), per-chunk and "
            "per-sequence calls by predict's rules; also on "
            f"{_fmt(report['test_frames'])} annotated-CDS test frames; "
            f"same training manifest: {_fmt(report['same_manifest'])}; training seeds: "
            f"{', '.join(f'{k} {v}' for k, v in report['seeds'].items())}. Context intervals "
            f"(per-level tables): 95 % percentile bootstrap CI, "
            f"{report['bootstrap']['resamples']} resamples of whole genomes (seed "
            f"{report['bootstrap']['seed']}), first training seed, both models on the same "
            "resamples."
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
    text = json.dumps(finite(report), indent=2, default=_json_default, allow_nan=False)
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


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
