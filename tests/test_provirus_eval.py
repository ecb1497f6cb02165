"""Planted-provirus evaluation (report/provirus_eval.py): planting and region matching."""

from __future__ import annotations

import math

import pytest

from virnucpro_smk.classify.regions import RegionRow
from virnucpro_smk.report.provirus_eval import Planted, evaluate_regions, plant


def _region(sid, start, end):
    return RegionRow(sid, start, end, 1, 1, 1, 0.9, "provirus")


def test_plant_inserts_at_the_position():
    contig, truth = plant("c", "AAAACCCC", "GGG", 4)
    assert contig == "AAAAGGGCCCC"
    assert truth == Planted("c", 5, 7)
    assert contig[truth.start - 1 : truth.end] == "GGG"
    with pytest.raises(ValueError, match="outside"):
        plant("c", "AAAA", "G", 5)


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
    assert result.as_dict()["found"] == 1


def test_nothing_planted_is_nan_not_a_crash():
    result = evaluate_regions([], [_region("x", 1, 10)])
    assert math.isnan(result.recall) and math.isnan(result.median_boundary_error_bp)
    assert result.false_regions == 1
