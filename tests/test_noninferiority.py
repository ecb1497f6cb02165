"""The migration decision: non-inferiority read off a paired interval that resamples genomes
and training seeds, inconclusive when the test cannot resolve the margin or the speed was not
measured under equal conditions; precision at low prevalence by hand."""

from __future__ import annotations

import os

import numpy as np
import pytest

from virnucpro_smk.report.levels import Level
from virnucpro_smk.report.noninferiority import (
    decide,
    metric_decision,
    noninferiority,
    precision_at,
)
from virnucpro_smk.report.speed_conditions import (
    overlapping_jobs,
    predict_pipeline_seconds,
    speed_conditions,
)

MARGINS = {"sensitivity": 0.02, "specificity": 0.005, "mcc": 0.03}


def chunk_level(labels, calls, genomes, records=None) -> Level:
    n = len(labels)
    return Level(
        "chunk",
        [f"u{i}_chunk_1" for i in range(n)],
        list(records or genomes),
        ["g"] * n,
        np.array(labels, dtype=int),
        np.array(calls, dtype=float),
        np.array(calls, dtype=bool),
        list(genomes),
    )


def noisy(n_genomes=60, per=5, error=0.1, seed=0):
    """Calls with ``error`` random mistakes; genomes alternate viral / non-viral."""
    rng = np.random.default_rng(seed)
    genomes = [f"G{g}" for g in range(n_genomes) for _ in range(per)]
    labels = [int(g % 2 == 0) for g in range(n_genomes) for _ in range(per)]
    calls = [bool(y) ^ bool(rng.random() < error) for y in labels]
    return labels, calls, genomes


def test_precision_at_low_prevalence_by_hand():
    # the example: sensitivity 0.95, specificity 0.99 -> 0.96 at 1 % viral
    assert precision_at(0.95, 0.99, 0.01) == pytest.approx(0.0095 / (0.0095 + 0.0099))
    assert precision_at(0.95, 0.96, 0.01) == pytest.approx(0.0095 / (0.0095 + 0.0396))
    assert round(precision_at(0.95, 0.99, 0.01), 2) == 0.49
    assert round(precision_at(0.95, 0.96, 0.01), 2) == 0.19


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        ((-0.01, 0.02), "non_inferior"),  # lower bound above -0.02
        ((-0.05, 0.01), "inconclusive"),  # wider than the margin: straddles -0.02
        ((-0.09, -0.03), "inferior"),  # wholly beyond the margin
        ((float("nan"), 0.0), "inconclusive"),
    ],
)
def test_metric_decision_reads_the_bound_not_the_point(interval, expected):
    assert metric_decision(interval, 0.02) == expected


def test_inconclusive_when_the_interval_is_wider_than_the_margin():
    labels, base_calls, genomes = noisy(seed=1)
    _, cand_calls, _ = noisy(seed=2)  # same error rate, other mistakes
    base = {s: chunk_level(labels, base_calls, genomes) for s in range(3)}
    cand = {s: chunk_level(labels, cand_calls, genomes) for s in range(3)}
    tight = noninferiority(base, cand, MARGINS, resamples=200, min_test_genomes=20)
    assert tight["accuracy"] == "inconclusive"
    for metric in ("sensitivity", "specificity"):
        lo, hi = tight["metrics"][metric]["difference_ci95"]
        assert hi - lo > MARGINS[metric] and lo < -MARGINS[metric] < hi
    assert "straddles the margin" in tight["reasons"][0]
    # the same data with generous margins: decided, so the test above can tell the difference
    loose = noninferiority(
        base, cand, dict.fromkeys(MARGINS, 0.5), resamples=200, min_test_genomes=20
    )
    assert loose["accuracy"] == "non_inferior" and loose["reasons"] == []


def test_inferior_when_the_whole_interval_is_beyond_the_margin():
    labels, calls, genomes = noisy(error=0.02)
    worse = [not c if y == 0 else c for c, y in zip(calls, labels, strict=True)]  # all hosts
    base = {s: chunk_level(labels, calls, genomes) for s in range(3)}
    cand = {s: chunk_level(labels, worse, genomes) for s in range(3)}
    out = noninferiority(base, cand, MARGINS, resamples=100)
    assert out["metrics"]["specificity"]["decision"] == "inferior"
    assert out["accuracy"] == "inferior"


def test_few_genomes_or_seeds_are_inconclusive_even_with_a_perfect_record():
    labels, calls, genomes = noisy(n_genomes=8, error=0.0)
    perfect = {0: chunk_level(labels, calls, genomes)}
    out = noninferiority(perfect, perfect, MARGINS, resamples=50, min_test_genomes=20)
    assert out["metrics"]["mcc"]["difference_ci95"] == [0.0, 0.0]  # the 1.000 [1.000, 1.000]
    assert out["accuracy"] == "inconclusive"
    assert any("too few test genomes" in r for r in out["reasons"])
    assert any("training variance" in r for r in out["reasons"])


def test_the_paired_bootstrap_resamples_genomes_not_records_or_chunks():
    # One viral genome of two records: the candidate misses every chunk of record r1.
    # Resampling whole genomes draws r1 and r2 together, so the sensitivity difference is
    # -0.5 in every resample (a ratio does not change when a genome is drawn twice);
    # resampling records or chunks would give anything from -1 to 0.
    records = ["r1"] * 5 + ["r2"] * 5 + [f"h{k}" for k in range(10)]
    genomes = ["V"] * 10 + [f"h{k}" for k in range(10)]
    labels = [1] * 10 + [0] * 10
    base_calls = [True] * 10 + [False] * 10
    cand_calls = [False] * 5 + [True] * 5 + [False] * 10
    base = {0: chunk_level(labels, base_calls, genomes, records)}
    cand = {0: chunk_level(labels, cand_calls, genomes, records)}
    out = noninferiority(base, cand, MARGINS, resamples=300, min_seeds=1, min_test_genomes=1)
    assert out["metrics"]["sensitivity"]["difference_ci95"] == [-0.5, -0.5]
    assert out["metrics"]["sensitivity"]["decision"] == "inferior"


def test_training_seed_spread_is_part_of_the_interval():
    labels, calls, genomes = noisy(error=0.05, seed=3)
    _, bad, _ = noisy(error=0.3, seed=4)
    base = {s: chunk_level(labels, calls, genomes) for s in range(3)}
    steady = {s: chunk_level(labels, calls, genomes) for s in range(3)}
    shaky = {0: steady[0], 1: chunk_level(labels, bad, genomes), 2: steady[2]}
    a = noninferiority(base, steady, MARGINS, resamples=300, seed=5)
    b = noninferiority(base, shaky, MARGINS, resamples=300, seed=5)
    width = {k: v["metrics"]["mcc"]["difference_ci95"] for k, v in (("a", a), ("b", b))}
    assert width["a"] == [0.0, 0.0]  # identical models and seeds: no difference at all
    assert width["b"][1] - width["b"][0] > 0.1
    assert b["metrics"]["mcc"]["seed_spread"]["candidate"] > 0.3
    assert b["seeds"] == {"baseline": [0, 1, 2], "candidate": [0, 1, 2]}


OK_ACCURACY = {"accuracy": "non_inferior", "reasons": []}


@pytest.mark.parametrize(
    ("accuracy", "speed", "expected"),
    [
        (OK_ACCURACY, {"equal_conditions": True, "speedup": 3.0, "min_speedup": 2.0}, "ok"),
        (OK_ACCURACY, {"equal_conditions": False, "speedup": 3.0, "min_speedup": 2.0}, "inc"),
        (OK_ACCURACY, {"equal_conditions": True, "speedup": 1.5, "min_speedup": 2.0}, "worse"),
        (OK_ACCURACY, {"equal_conditions": True, "speedup": None, "min_speedup": 2.0}, "inc"),
        (
            {"accuracy": "inconclusive", "reasons": ["x"]},
            {"equal_conditions": True, "speedup": 3.0, "min_speedup": 2.0},
            "inc",
        ),
        (
            {"accuracy": "inferior", "reasons": ["x"]},
            {"equal_conditions": False, "speedup": 3.0, "min_speedup": 2.0},
            "worse",
        ),
    ],
)
def test_decision_needs_equal_speed_conditions(accuracy, speed, expected):
    names = {"ok": "candidate_ok", "inc": "inconclusive", "worse": "candidate_worse"}
    out = decide(accuracy, {**speed, "condition_problems": ["another job ran"]})
    assert out["decision"] == names[expected]
    if not speed["equal_conditions"]:
        assert any("equal conditions" in r for r in out["reasons"])


def _bench(path, seconds, end):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"s\th:m:s\tmax_rss\n{seconds}\t0:00:01\t10\n")
    os.utime(path, (end, end))
    return path


def test_an_overlapping_job_makes_the_speed_conditions_unequal(tmp_path):
    base = _bench(tmp_path / "extract/base.tsv", 10, 1000)  # ran 990-1000
    cand = _bench(tmp_path / "extract/cand.tsv", 5, 1010)  # ran 1005-1010
    before = _bench(tmp_path / "prep/a.tsv", 50, 990)  # finished as base started
    during = _bench(tmp_path / "dna/b.tsv", 4, 1009)  # ran 1005-1009: beside the candidate
    every = [str(p) for p in (base, cand, before, during)]
    assert overlapping_jobs([base], every) == []
    assert overlapping_jobs([cand], every) == [str(during)]
    speed = {
        n: {"devices": ["cpu"], "dtypes": ["float32"], "records": 7, "wall_seconds": 1.0}
        for n in ("base", "cand")
    }
    out = speed_conditions(speed, {"base": [base], "cand": [cand]}, every)
    assert out["equal_conditions"] is False
    assert "cand: 1 other job(s) ran at the same time" in out["condition_problems"][0]
    os.utime(during, (1020, 1020))  # now it ran 1016-1020: after both
    assert speed_conditions(speed, {"base": [base], "cand": [cand]}, every)["equal_conditions"]


def test_predict_pipeline_adds_shared_stages_and_sees_overlaps(tmp_path):
    prep = _bench(tmp_path / "preprocess_heldout/a.tsv", 3, 900)
    dna = _bench(tmp_path / "extract/dna.tsv", 7, 950)
    base = [
        _bench(tmp_path / "extract/pb.tsv", 40, 1000),
        _bench(tmp_path / "score/b.tsv", 1, 1002),
    ]
    cand = [
        _bench(tmp_path / "extract/pc.tsv", 10, 1020),
        _bench(tmp_path / "score/c.tsv", 1, 1022),
    ]
    during = _bench(tmp_path / "other/x.tsv", 2, 1018)  # ran 1016-1018: beside the candidate
    every = [str(p) for p in (prep, dna, *base, *cand, during)]
    out = predict_pipeline_seconds([prep, dna], {"base": base, "cand": cand}, every)
    assert out["shared_seconds"] == 10 and out["model_seconds"] == {"base": 41, "cand": 11}
    assert out["total_seconds"] == {"base": 51, "cand": 21}
    assert out["overlapping_jobs"] == {"base": [], "cand": [str(during)]}
    dna.unlink()  # a missing stage leaves the totals out rather than understating them
    out = predict_pipeline_seconds([prep, dna], {"base": base, "cand": cand}, every)
    assert out["total_seconds"] == {"base": None, "cand": None} and out["missing"] == [str(dna)]
