"""Simulated chunk-call tracks: what the region caller's benchmark sweep (bench_regions.py) and
its tests (tests/test_region_model.py) both draw from."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from virnucpro_smk.classify.region_model import UNSCORED


def simulated_calls(
    n: int,
    viral_spans: Iterable[tuple[int, int]],
    rng: np.random.Generator,
    unscored: float = 1 / 3,
    false_positive_rate: float = 0.03,
    miss_rate: float = 0.15,
) -> np.ndarray:
    """Chunk calls of a simulated ``n``-chunk track: viral inside the (first, last) chunk
    spans, with the noise real tracks show (a share of chunks unscored, host chunks called
    viral at ``false_positive_rate``, viral chunks missed at ``miss_rate``).

    The region caller's tests and its benchmark sweep draw from this one simulator, so the
    defaults docs/outputs.md justifies are measured on the tracks the tests assert on.
    """
    truth = np.zeros(n, dtype=bool)
    for first, last in viral_spans:
        truth[first : last + 1] = True
    u = rng.random(n)
    calls = np.where(truth, u >= miss_rate, u < false_positive_rate).astype(np.int8)
    calls[rng.random(n) < unscored] = UNSCORED
    return calls
