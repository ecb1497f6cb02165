"""Planted-provirus evaluation (report/provirus_eval.py): planting and region matching."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import default_region_model
from virnucpro_smk.classify.region_model import (
    HOST_CALL,
    UNSCORED,
    VIRAL_CALL,
    RegionRow,
)
from virnucpro_smk.report.provirus_eval import (
    Layout,
    Planted,
    evaluate_layouts,
    evaluate_regions,
    genome_tracks,
    measure_proviruses,
    plan_layouts,
    planted_track,
)


def _region(sid, start, end):
    return RegionRow(sid, start, end, end - start + 1, 1, 1, 1, 0.9, "provirus")


def test_recall_boundary_error_splits_and_false_regions():
    planted = [Planted("a", 1001, 2000), Planted("b", 501, 900), Planted("c", 1, 300)]
    regions = [
        _region("a", 1101, 1990),  # found: errors 100 and 10
        _region("b", 401, 600),  # b split in two
        _region("b", 700, 950),
        _region("d", 1, 50),  # overlaps nothing planted: a false region
        _region("a", 5000, 6000),  # another false one
    ]
    result = evaluate_regions(planted, regions)
    assert (result.planted, result.found, result.split, result.false_regions) == (3, 1, 1, 2)
    assert result.recall == pytest.approx(1 / 3)
    assert result.boundary_errors_bp == (100, 10)
    assert result.median_boundary_error_bp == 55.0


def test_nothing_planted_is_nan_not_a_crash():
    result = evaluate_regions([], [_region("x", 1, 10)])
    assert math.isnan(result.recall) and math.isnan(result.median_boundary_error_bp)
    assert result.false_regions == 1


# ---------------------------------------------------------------- chunk-track planting (compare)

U, H, V = UNSCORED, HOST_CALL, VIRAL_CALL


def test_genome_tracks_put_calls_at_their_chunk_numbers_and_unscored_between():
    tracks = genome_tracks(
        ["h1_chunk_3", "h1_chunk_1", "h2_chunk_2", "v_chunk_1"],
        [False, True, False, True],
        ["host", "host", "host", "virus"],
    )
    # h1: chunks 1..3 (2 without a test frame), then h2: chunks 1..2 (1 unscored)
    assert tracks["host"].tolist() == [V, U, H, U, H]
    assert tracks["virus"].tolist() == [V]


def test_planting_puts_the_virus_at_the_position_and_layouts_are_shared():
    host = np.array([H, U, H, H], dtype=np.int8)
    virus = np.array([V, V, U], dtype=np.int8)
    track, first, last = planted_track(host, virus, 1)
    assert track.tolist() == [H, V, V, U, U, H, H]
    assert (first, last) == (1, 3)
    assert track[first : last + 1].tolist() == virus.tolist()
    with pytest.raises(ValueError, match="outside"):
        planted_track(host, virus, 5)
    layouts = plan_layouts({"h1": 40, "h2": 7}, ["v1", "v2"], trials=50, seed=3)
    assert layouts == plan_layouts({"h1": 40, "h2": 7}, ["v2", "v1"], trials=50, seed=3)
    assert all(0 <= lay.position <= {"h1": 40, "h2": 7}[lay.host] for lay in layouts)
    assert {lay.host for lay in layouts} == {"h1", "h2"}
    assert {lay.virus for lay in layouts} == {"v1", "v2"}


def _tracks(host_call, viral_call, rng):
    """Two 60-chunk hosts and two 25-chunk viruses, a third of their chunks unscored (each
    track's first and last chunk scored)."""
    out = {}
    for name, n, call in (("h1", 60, host_call), ("h2", 60, host_call), ("v1", 25, viral_call)):
        track = np.full(n, call, dtype=np.int8)
        track[1:-1][rng.random(n - 2) < 1 / 3] = UNSCORED
        out[name] = track
    out["v2"] = out["v1"][:20].copy()
    out["v2"][-1] = viral_call
    return out


LABELS = {"h1": 0, "h2": 0, "v1": 1, "v2": 1}


def test_perfect_classifier_recall_one_boundary_zero_and_all_host_recall_zero():
    rng = np.random.default_rng(0)
    perfect = _tracks(H, V, rng)
    blind = {g: np.where(t == UNSCORED, UNSCORED, H).astype(np.int8) for g, t in perfect.items()}
    out = measure_proviruses(
        {"perfect": perfect, "blind": blind}, LABELS, default_region_model(), 300, trials=40, seed=1
    )
    assert out.measured and out.host_genomes == 2 and out.viral_genomes == 2
    good, bad = out.models["perfect"], out.models["blind"]
    assert good.planted == bad.planted == 40  # the same layouts for both
    assert good.recall == 1.0 and good.false_regions == 0
    # a virus track's end chunks are scored: a boundary is off only by half the unscored
    # host gap beside it, none in most layouts
    assert good.median_boundary_error_chunks == 0.0 and good.median_boundary_error_bp == 0
    assert bad.recall == 0.0 and bad.found == 0 and bad.false_regions == 0
    assert math.isnan(bad.median_boundary_error_bp)


def test_fully_scored_perfect_tracks_give_exact_boundaries():
    tracks = {"h": np.full(30, H, dtype=np.int8), "v": np.full(8, V, dtype=np.int8)}
    layouts = [Layout("h", "v", p) for p in (0, 11, 30)]
    result = evaluate_layouts(layouts, tracks, default_region_model())
    assert (result.planted, result.found, result.false_regions) == (3, 3, 0)
    assert result.boundary_errors_bp == (0,) * 6  # chunk units here


def test_too_few_test_genomes_is_not_measured_with_a_reason():
    rng = np.random.default_rng(0)
    tracks = _tracks(H, V, rng)
    out = measure_proviruses({"m": tracks}, {"v1": 1, "v2": 1}, default_region_model(), 300, 10, 0)
    assert out.measured is False and out.reason == "no non-viral test genome"
    assert out.models == {}
    out = measure_proviruses({"m": tracks}, {"h1": 0}, default_region_model(), 300, 10, 0)
    assert out.reason == "no viral test genome"
