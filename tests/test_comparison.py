"""Comparison report: metrics against scikit-learn, bootstrap CIs, per-group, verdict, outputs."""

import json

import numpy as np
import pytest
from sklearn import metrics as skm

from virnucpro_smk.comparison import (
    ModelResult,
    bootstrap_ci,
    build_report,
    per_group,
    verdict,
    write_report,
)
from virnucpro_smk.metrics import binary_metrics


@pytest.fixture
def known():
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0, 1, 0])
    scores = np.array([0.9, 0.8, 0.4, 0.7, 0.2, 0.6, 0.1, 0.3, 0.55, 0.45])
    return labels, scores


def test_metrics_match_scikit_learn(known):
    labels, scores = known
    m = binary_metrics(labels, scores)
    pred = scores >= 0.5
    assert m["accuracy"] == skm.accuracy_score(labels, pred) == 0.8
    assert m["precision"] == skm.precision_score(labels, pred)
    assert m["recall"] == skm.recall_score(labels, pred)
    assert m["f1"] == pytest.approx(skm.f1_score(labels, pred))
    assert m["mcc"] == pytest.approx(skm.matthews_corrcoef(labels, pred))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(labels, scores))
    assert m["pr_auc"] == pytest.approx(skm.average_precision_score(labels, scores))
    assert m["confusion"] == {"tn": 4, "fp": 1, "fn": 1, "tp": 4}
    assert m["specificity"] == 0.8


def test_bootstrap_interval_brackets_the_estimate_and_is_seeded(known):
    labels, scores = known
    ci = bootstrap_ci(labels, scores, n_boot=300, seed=1)
    m = binary_metrics(labels, scores)
    for key in ("accuracy", "f1", "roc_auc"):
        assert ci[key][0] <= m[key] <= ci[key][1]
    assert ci == bootstrap_ci(labels, scores, n_boot=300, seed=1)
    assert ci != bootstrap_ci(labels, scores, n_boot=300, seed=2)


def test_per_group_recall_and_specificity(known):
    labels, scores = known
    groups = ["viral"] * 4 + ["bacteria", "bacteria", "plant", "plant", "viral", "plant"]
    out = per_group(labels, scores, groups)
    assert out["viral"] == {"n": 5, "label": "viral", "metric": "recall", "value": 0.8}
    assert out["bacteria"]["value"] == 0.5 and out["plant"]["value"] == 1.0


@pytest.mark.parametrize(
    ("f1_base", "f1_cand", "speedup", "expected"),
    [
        (0.90, 0.86, 3.0, True),
        (0.90, 0.84, 3.0, False),
        (0.90, 0.95, 1.5, False),
        (0.90, 0.85, 2.0, True),
        (0.9, 0.9, None, False),
    ],
)
def test_verdict(f1_base, f1_cand, speedup, expected):
    v = verdict({"f1": f1_base}, {"f1": f1_cand}, speedup, max_f1_drop=0.05, min_speedup=2.0)
    assert v["pass"] is expected
    assert v["criteria"]["f1_drop"]["value"] == pytest.approx(f1_base - f1_cand)


def test_report_outputs(known, tmp_path):
    labels, scores = known
    ids = [f"f{i}" for i in range(10)]
    groups = ["v"] * 4 + ["h"] * 4 + ["v", "h"]
    speed = {"extraction_seconds": 10.0, "records": 10}
    results = [
        ModelResult(
            "big_64d",
            {"manifest_sha256": "x", "input_width": 112},
            labels,
            scores,
            groups,
            ids,
            speed,
        ),
        ModelResult(
            "small_32d",
            {"manifest_sha256": "x", "input_width": 80},
            labels,
            scores * 0.9,
            groups,
            ids,
            {**speed, "extraction_seconds": 4.0},
        ),
    ]
    report, png = build_report(results, 300, "big_64d", "small_32d", n_boot=50)
    assert report["speedup"] == 2.5 and report["same_manifest"]
    paths = [tmp_path / n for n in ("r.html", "r.md", "r.json", "r.png")]
    write_report(report, png, *paths)
    html = paths[0].read_text()
    assert "data:image/png;base64," in html and "<table>" in html and "Verdict" in html
    assert json.loads(paths[2].read_text())["candidate"] == "small_32d"
    assert paths[3].read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="same frames"):
        build_report(
            [results[0], ModelResult("small_32d", {}, labels, scores, groups, ids[::-1], speed)],
            300,
            "big_64d",
            "small_32d",
        )
