"""Region caller over chunk call tracks (classify/region_model.py): planted proviruses under
noise."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from conftest import default_region_model
from region_tracks import simulated_calls
from virnucpro_smk.classify.region_model import (
    HOST_CALL,
    PROVIRUS,
    UNSCORED,
    VIRAL_CALL,
    WHOLE,
    call_regions,
    region_call,
    regions_for_calls,
)

MODEL = default_region_model()  # the schema's predict.region_*


def noisy_track(
    n: int, viral_spans: list[tuple[int, int]], rng, unscored=1 / 3, fpr=0.03, miss=0.15
) -> np.ndarray:
    """Calls of ``n`` chunks: viral inside the (first, last) spans, with the issue's noise."""
    return simulated_calls(n, viral_spans, rng, unscored, fpr, miss)


def regions_of(calls, offsets=None):
    calls = np.asarray(calls, dtype=np.int8)
    offsets = np.array([0, len(calls)]) if offsets is None else np.asarray(offsets)
    r = call_regions(calls, offsets, MODEL)
    return list(
        zip(r.sequence.tolist(), r.first.tolist(), r.last.tolist(), r.whole.tolist(), strict=True)
    )


def test_planted_proviruses_one_region_each_with_small_boundary_error():
    rng = np.random.default_rng(7)
    errors, found = [], 0
    n_trials = 200
    for _ in range(n_trials):
        n = 1000
        a = int(rng.integers(100, 700))
        b = a + int(rng.integers(40, 200))  # 12-60 kb at 300 bp
        got = regions_of(noisy_track(n, [(a, b)], rng, miss=rng.uniform(0.1, 0.2)))
        assert len(got) == 1, got
        _, first, last, whole = got[0]
        assert not whole
        found += 1
        errors += [abs(first - a), abs(last - b)]
    assert found == n_trials
    assert np.median(errors) <= 2
    assert np.percentile(errors, 90) <= 6


def test_host_contig_with_scattered_false_positives_has_no_region():
    rng = np.random.default_rng(11)
    for _ in range(20):
        assert regions_of(noisy_track(5000, [], rng, fpr=0.04)) == []
    # a pair of adjacent false positives is not a provirus either
    calls = np.zeros(200, dtype=np.int8)
    calls[100:102] = VIRAL_CALL
    assert regions_of(calls) == []


def test_whole_viral_contig_is_one_whole_region():
    rng = np.random.default_rng(3)
    for n in (3, 10, 50, 400):
        for _ in range(20):
            calls = noisy_track(n, [(0, n - 1)], rng, miss=0.2)
            if not (calls == VIRAL_CALL).any():
                continue
            got = regions_of(calls)
            assert got == [(0, 0, n - 1, True)], (n, calls, got)


def test_region_at_contig_end_reaches_the_end():
    calls = np.full(100, HOST_CALL, dtype=np.int8)
    calls[80:] = VIRAL_CALL
    calls[98:] = UNSCORED  # unscored tail belongs to the region at the end
    assert regions_of(calls) == [(0, 80, 99, False)]
    assert regions_of(calls[::-1].copy()) == [(0, 0, 19, False)]


def test_two_regions_in_one_contig():
    rng = np.random.default_rng(5)
    spans = [(100, 180), (400, 520)]
    got = regions_of(noisy_track(800, spans, rng))
    assert len(got) == 2
    for (_, first, last, whole), (a, b) in zip(got, spans, strict=True):
        assert not whole and abs(first - a) <= 4 and abs(last - b) <= 4


def test_boundary_in_the_middle_of_an_unscored_gap():
    # host at 0-9, unscored 10-13, viral 14-39, unscored 40-42, host 43-59
    calls = np.full(60, HOST_CALL, dtype=np.int8)
    calls[10:14] = UNSCORED
    calls[14:40] = VIRAL_CALL
    calls[40:43] = UNSCORED
    # gap of 4 before: 2 go to the region (first = 14 - 2); gap of 3 after: 1 (last = 39 + 1)
    assert regions_of(calls) == [(0, 12, 40, False)]


def test_short_contigs_and_unscored_sequences():
    # sequences: [V], [H], [V,H], [U,U], [V,V,H], [U,V,U]
    tracks = [[1], [0], [1, 0], [-1, -1], [1, 1, 0], [-1, 1, -1]]
    calls = np.concatenate([np.array(t, dtype=np.int8) for t in tracks])
    offsets = np.cumsum([0] + [len(t) for t in tracks])
    got = regions_of(calls, offsets)
    # a contig under three chunks is all-or-nothing, never a provirus (one switch costs more
    # than two viral chunks give): whole when its evidence sums to the virus side (one viral
    # call, log(0.85/0.03) = 3.34, outweighs one host call, log(0.15/0.97) = -1.87); no scored
    # chunk, no region
    assert got == [(0, 0, 0, True), (2, 0, 1, True), (4, 0, 2, True), (5, 0, 2, True)]
    assert MODEL.min_region_scored_chunks > 2


def test_sequences_are_decoded_independently():
    viral = np.ones(30, dtype=np.int8)
    host = np.zeros(30, dtype=np.int8)
    calls = np.concatenate([host, viral, host])
    got = regions_of(calls, [0, 30, 60, 90])
    assert got == [(1, 0, 29, True)]


def test_min_region_scored_chunks_is_the_detection_limit():
    k = MODEL.min_region_scored_chunks
    calls = np.zeros(200, dtype=np.int8)
    calls[100 : 100 + k] = VIRAL_CALL
    assert regions_of(calls) == [(0, 100, 100 + k - 1, False)]
    calls[100 + k - 1] = HOST_CALL
    assert regions_of(calls) == []


def test_region_call_upgrades_only_non_viral_calls():
    assert region_call("nonviral", [PROVIRUS]) == PROVIRUS
    assert region_call("too few scored chunks", [PROVIRUS]) == PROVIRUS
    assert region_call("viral", [PROVIRUS]) == "viral"
    assert region_call("nonviral", [WHOLE]) == "nonviral"
    assert region_call("nonviral", []) == "nonviral"


def test_bad_model_parameters():
    with pytest.raises(ValueError, match="sensitivity"):
        replace(MODEL, sensitivity=0.02, false_positive_rate=0.03)
    with pytest.raises(ValueError, match="switch_probability"):
        replace(MODEL, switch_probability=0.0)


def test_regions_follow_the_sequence_calls():
    """Decoded: seq 0 whole, seq 1 a provirus at its start, seq 2 nothing, seq 3 whole,
    seq 4 two proviruses. Calls: viral, viral, viral (no decoded region: a low threshold),
    nonviral (the 36-50 % band), nonviral. A viral call is one whole region; elsewhere only
    proviruses stay."""
    decoded = call_regions(
        np.array(
            [1] * 10
            + [1] * 12
            + [0] * 8
            + [1, 0, 0, 0]
            + [1, 0] * 5
            + [0] * 20
            + [1] * 10
            + [0] * 20
            + [1] * 10
            + [0] * 20,
            dtype=np.int8,
        ),
        np.array([0, 10, 30, 34, 44, 144]),
        MODEL,
    )
    got = _rows(decoded)
    assert [(s, a, w) for s, a, _, w in got] == [
        (0, 0, True), (1, 0, False), (3, 0, True), (4, 20, False), (4, 50, False)
    ]  # fmt: skip
    calls = ["viral", "viral", "viral", "nonviral", "nonviral"]
    kept = regions_for_calls(decoded, calls, np.array([10, 20, 4, 10, 100]))
    assert _rows(kept) == [
        (0, 0, 9, True), (1, 0, 19, True), (2, 0, 3, True), (4, 20, 29, False), (4, 50, 59, False)
    ]  # fmt: skip


def _rows(regions):
    return list(
        zip(
            regions.sequence.tolist(),
            regions.first.tolist(),
            regions.last.tolist(),
            regions.whole.tolist(),
            strict=True,
        )
    )
