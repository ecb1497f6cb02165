"""The accuracy gate: genome-averaged sensitivity (difference) and false-positive rate (ratio)
on a stratified paired bootstrap of genomes and seeds, every gated stratum non-inferior
(intersection-union), strata too small to gate never passed; the combined decision."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from virnucpro_smk.report.decision import decide
from virnucpro_smk.report.noninferiority import (
    AccuracySettings,
    Stratum,
    accuracy_test,
    difference_decision,
    judge_stratum,
    precision_at,
    ratio_decision,
)

SETTINGS = AccuracySettings(
    sensitivity_margin=0.02,
    fpr_ratio_margin=1.5,
    fpr_floor=0.001,
    min_test_genomes=20,
    min_seeds=5,
    resamples=400,
    seed=0,
    prevalences=(0.01, 0.1),
)


def stratum(name, genomes, labels, base, cand) -> Stratum:
    base, cand = np.atleast_2d(base).astype(bool), np.atleast_2d(cand).astype(bool)
    return Stratum(
        name,
        tuple(genomes),
        np.asarray(labels, dtype=int),
        base,
        cand,
        tuple(range(base.shape[0])),
        tuple(range(cand.shape[0])),
    )


def simulate(rng, units_per_genome, labels, sens, fpr, seeds=5):
    """``(seeds, units)`` calls: each unit of a viral genome called viral with probability
    ``sens``, of a host genome with probability ``fpr``, independently per seed."""
    p = np.concatenate(
        [np.full(n, sens if y else fpr) for n, y in zip(units_per_genome, labels, strict=True)]
    )
    return rng.random((seeds, p.size)) < p


def difficulty(rng, units_per_genome, labels, sens, fpr, concentration=0.5):
    """Each unit's chance to be called viral, drawn once: most units are easy (near 0 or 1)
    and a few hard, as for real classifiers (Beta with mean ``sens`` or ``fpr``)."""
    p = [
        rng.beta(m * concentration, (1 - m) * concentration, n)
        for n, y in zip(units_per_genome, labels, strict=True)
        for m in [sens if y else fpr]
    ]
    return np.concatenate(p)


def layout(units_per_genome, labels):
    genomes = [f"G{g}" for g, n in enumerate(units_per_genome) for _ in range(n)]
    unit_labels = [y for n, y in zip(units_per_genome, labels, strict=True) for _ in range(n)]
    return genomes, unit_labels


def test_precision_at_low_prevalence_by_hand():
    # the example: sensitivity 0.95; false-positive rate 0.01 -> 0.04 at 1 % viral
    assert precision_at(0.95, 0.01, 0.01) == pytest.approx(0.0095 / (0.0095 + 0.0099))
    assert round(precision_at(0.95, 0.01, 0.01), 2) == 0.49
    assert round(precision_at(0.95, 0.04, 0.01), 2) == 0.19
    assert math.isnan(precision_at(0.0, 0.0, 0.01))


@pytest.mark.parametrize(
    ("ci", "difference", "ratio"),
    [
        ((-0.01, 0.02), "non_inferior", "non_inferior"),  # bounds on the good side
        ((-0.05, 0.01), "inconclusive", "non_inferior"),  # straddles -0.02
        ((-0.09, -0.03), "inferior", "non_inferior"),
        ((1.2, 1.6), "non_inferior", "inconclusive"),  # straddles a ratio margin of 1.5
        ((1.6, 4.0), "non_inferior", "inferior"),
        ((float("nan"), 0.0), "inconclusive", "inconclusive"),
    ],
)
def test_decisions_read_the_bound_not_the_point(ci, difference, ratio):
    assert difference_decision(ci, 0.02) == difference
    assert ratio_decision(ci, 1.5) == ratio


def test_four_times_the_false_positives_at_equal_sensitivity_is_never_non_inferior():
    """Specificity 0.999 -> 0.996 on 60 + 60 genomes: an additive specificity margin of 0.005
    passed it; the ratio of false-positive rates does not, whatever the noise."""
    units, labels = [100] * 120, [1] * 60 + [0] * 60
    genomes, unit_labels = layout(units, labels)
    viral = np.array(unit_labels) == 1
    for data_seed in range(4):
        rng = np.random.default_rng(data_seed)
        base = simulate(rng, units, labels, 0.95, 0.001)
        cand = simulate(rng, units, labels, 0.95, 0.004)
        cand[:, viral] = base[:, viral]  # equal sensitivity: the same viral calls
        s = stratum("chunk", genomes, unit_labels, base, cand)
        res = judge_stratum(s, SETTINGS)
        fpr = res.metrics["false_positive_rate"]
        assert fpr.effect > 2.5, fpr
        assert fpr.decision != "non_inferior" and res.decision != "non_inferior"
        assert res.metrics["sensitivity"].effect == 0.0
        # what the old additive rule saw: a specificity loss within its 0.005 margin
        spec = res.context["genome_averaged_specificity"]
        assert 0 < spec["baseline"] - spec["candidate"] < 0.005
        assert accuracy_test([s], SETTINGS).accuracy != "non_inferior"


def test_a_candidate_blind_to_the_smallest_fifth_of_viral_genomes_is_never_non_inferior():
    """Pooled chunks weigh a genome by its length: missing every small genome barely moves
    the pooled sensitivity; genome-averaged it falls by a fifth."""
    rng = np.random.default_rng(3)
    viral_units = [4] * 12 + rng.integers(100, 400, 48).tolist()  # 12 small of 60 (a fifth)
    units, labels = viral_units + [100] * 60, [1] * 60 + [0] * 60
    genomes, unit_labels = layout(units, labels)
    base = simulate(rng, units, labels, 0.95, 0.02)
    cand = base.copy()
    small = np.isin(genomes, [f"G{g}" for g in range(12)])
    cand[:, small] = False  # blind to them
    res = judge_stratum(stratum("chunk", genomes, unit_labels, base, cand), SETTINGS)
    pooled = res.context["pooled"]
    assert pooled["baseline"]["sensitivity"] - pooled["candidate"]["sensitivity"] < 0.01
    sens = res.metrics["sensitivity"]
    assert sens.effect == pytest.approx(-0.95 * 12 / 60, abs=0.02)
    assert sens.decision == "inferior" and res.decision == "inferior"


def _equal_strata(rng, n_genomes=300):
    """A chunk stratum and two per-length strata (2 fragments per genome, as compare cuts
    them): both models have the same chance to call each unit viral and draw their calls
    independently (other mistakes, same rates), 5 seeds each."""
    labels = [1] * n_genomes + [0] * n_genomes
    out = []
    for name, per_genome, sens, fpr in (
        ("chunk", 40, 0.9, 0.05),
        ("sequence_1kb", 4, 0.85, 0.15),
        ("sequence_3kb", 4, 0.9, 0.1),
    ):
        units = [per_genome] * (2 * n_genomes)
        genomes, unit_labels = layout(units, labels)
        p = difficulty(rng, units, labels, sens, fpr)
        base, cand = (rng.random((5, p.size)) < p for _ in range(2))
        out.append(stratum(name, genomes, unit_labels, base, cand))
    return out


def test_a_candidate_equal_to_the_baseline_on_a_few_hundred_genomes_is_non_inferior():
    strata = _equal_strata(np.random.default_rng(7))
    res = accuracy_test(strata, SETTINGS)
    assert res.accuracy == "non_inferior", res.reasons
    assert res.reasons == [] and all(s.decision == "non_inferior" for s in res.strata.values())
    fpr = res.strata["chunk"].metrics["false_positive_rate"]
    assert fpr.effect_ci95[0] < 1.0 < fpr.effect_ci95[1] < 1.5
    # fewer than 5 training seeds: the same data cannot be decided
    few = [replace(s, baseline=s.baseline[:3], baseline_seeds=(0, 1, 2)) for s in strata]
    short = accuracy_test(few, SETTINGS)
    assert short.accuracy == "inconclusive"
    assert any("3 baseline and 5 candidate seed(s)" in r for r in short.reasons)


def test_a_worse_gated_length_stratum_makes_the_accuracy_not_non_inferior():
    """Intersection-union: the chunk stratum passes, the 1-kb per-sequence call fails."""
    rng = np.random.default_rng(11)
    strata = _equal_strata(rng)
    kb1 = strata[1]
    viral = kb1.labels == 1
    worse = kb1.candidate.copy()
    worse[:, viral] = False  # the candidate never calls a 1-kb viral fragment viral
    strata[1] = replace(kb1, candidate=worse)
    res = accuracy_test(strata, SETTINGS)
    assert res.strata["chunk"].decision == "non_inferior"
    assert res.strata["sequence_1kb"].decision == "inferior"
    assert res.accuracy == "inferior"
    assert any(r.startswith("sequence_1kb: candidate worse") for r in res.reasons)


def test_a_stratum_with_too_few_genomes_is_not_gated_and_never_passes():
    rng = np.random.default_rng(5)
    strata = _equal_strata(rng)
    units, labels = [2] * 16, [1] * 8 + [0] * 8  # a 10-kb stratum: 8 genomes of each class
    genomes, unit_labels = layout(units, labels)
    same = simulate(rng, units, labels, 1.0, 0.0)
    strata.append(stratum("sequence_10kb", genomes, unit_labels, same, same))
    empty = stratum("sequence_30kb", [], [], np.zeros((5, 0)), np.zeros((5, 0)))
    res = accuracy_test([*strata, empty], SETTINGS)
    assert res.strata["sequence_10kb"].decision == "not_gated"
    assert res.strata["sequence_10kb"].gated is False
    assert res.strata["sequence_30kb"].decision == "not_gated"
    assert res.accuracy == "inconclusive"
    assert any("sequence_10kb: too few test genomes" in r for r in res.reasons)


def test_a_zero_baseline_false_positive_rate_is_floored_not_divided_by():
    units, labels = [50] * 60, [1] * 30 + [0] * 30
    genomes, unit_labels = layout(units, labels)
    rng = np.random.default_rng(2)
    perfect = simulate(rng, units, labels, 1.0, 0.0)
    both_zero = judge_stratum(stratum("chunk", genomes, unit_labels, perfect, perfect), SETTINGS)
    fpr = both_zero.metrics["false_positive_rate"]
    assert fpr.baseline == 0.0 and fpr.effect == 1.0 and fpr.effect_ci95 == (1.0, 1.0)
    assert fpr.decision == "non_inferior"
    noisy = simulate(rng, units, labels, 1.0, 0.01)  # ten times the floor
    worse = judge_stratum(stratum("chunk", genomes, unit_labels, perfect, noisy), SETTINGS)
    fpr = worse.metrics["false_positive_rate"]
    assert math.isfinite(fpr.effect) and fpr.effect == pytest.approx(10, rel=0.3)
    assert fpr.decision == "inferior"


def test_the_bootstrap_resamples_genomes_stratified_by_class():
    # One viral genome of two records: the candidate misses every chunk of record r1. Its
    # genome-averaged sensitivity is 0.5 in every resample (the genome is drawn whole and
    # every resample holds one viral genome); resampling chunks would give anything.
    genomes = ["V"] * 10 + [f"h{k}" for k in range(10) for _ in range(3)]
    labels = [1] * 10 + [0] * 30
    base = [True] * 10 + [False] * 30
    cand = [False] * 5 + [True] * 5 + [False] * 30
    res = judge_stratum(stratum("chunk", genomes, labels, base, cand), SETTINGS)
    assert res.metrics["sensitivity"].effect_ci95 == (-0.5, -0.5)
    assert res.metrics["sensitivity"].decision == "inferior"


def test_training_seed_spread_is_part_of_the_interval():
    units, labels = [30] * 100, [1] * 50 + [0] * 50
    genomes, unit_labels = layout(units, labels)
    rng = np.random.default_rng(4)
    calls = simulate(rng, units, labels, 0.9, 0.05, seeds=1)
    steady = np.repeat(calls, 5, axis=0)
    shaky = steady.copy()
    shaky[1] = simulate(rng, units, labels, 0.5, 0.05, seeds=1)[0]
    a = judge_stratum(stratum("chunk", genomes, unit_labels, steady, steady), SETTINGS)
    b = judge_stratum(stratum("chunk", genomes, unit_labels, steady, shaky), SETTINGS)
    assert a.metrics["sensitivity"].effect_ci95 == pytest.approx((0.0, 0.0), abs=1e-12)
    lo, hi = b.metrics["sensitivity"].effect_ci95
    assert hi - lo > 0.1 and lo < -0.02
    assert (
        max(b.metrics["sensitivity"].per_seed["candidate"])
        - min(b.metrics["sensitivity"].per_seed["candidate"])
        > 0.3
    )


@pytest.mark.parametrize(
    ("accuracy", "speed", "standin", "expected"),
    [
        ("non_inferior", "fast_enough", (), "candidate_ok"),
        ("non_inferior", "too_slow", (), "candidate_rejected"),
        ("non_inferior", "inconclusive", (), "inconclusive"),
        ("inferior", "fast_enough", (), "candidate_rejected"),
        ("inconclusive", "fast_enough", (), "inconclusive"),
        ("non_inferior", "fast_enough", ("standin_esm2_64d",), "inconclusive"),
        ("inferior", "too_slow", ("standin_esm2_64d",), "inconclusive"),
    ],
)
def test_decision_combines_the_verdicts_and_refuses_stand_ins(accuracy, speed, standin, expected):
    out = decide(accuracy, ["a"], speed, ["s"], standin)
    assert out.decision == expected
    assert ("a" in out.reasons) and ("s" in out.reasons)
    if standin:
        assert "stand-in models compared (standin_esm2_64d)" in out.reasons[0]
