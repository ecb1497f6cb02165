"""Planted proviruses: how well the region calls of one classifier find known viral regions.

The building blocks of the comparison's provirus section (not wired into it yet): a viral
genome inserted into a host contig at a known position (:func:`plant`), and the recall and
boundary error of the regions a classifier's track decodes to (:func:`evaluate_regions`),
so the two protein models can be compared on region calls, not only on chunk calls.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..classify.regions import UNSCORED


@dataclass(frozen=True)
class Planted:
    """A viral genome at bases ``start..end`` (1-based, inclusive) of ``sequence_id``."""

    sequence_id: str
    start: int
    end: int


class Region(Protocol):
    sequence_id: str
    start: int
    end: int


def plant(sequence_id: str, host: str, virus: str, position: int) -> tuple[str, Planted]:
    """Insert ``virus`` into ``host`` after ``position`` host bases; the contig and its truth."""
    if not 0 <= position <= len(host):
        raise ValueError(f"{sequence_id}: position {position} outside the {len(host)}-bp host")
    contig = host[:position] + virus + host[position:]
    return contig, Planted(sequence_id, position + 1, position + len(virus))


@dataclass(frozen=True)
class ProvirusEvaluation:
    """Recall and boundary error of region calls against planted proviruses."""

    planted: int
    found: int  # planted proviruses overlapped by exactly one called region
    split: int  # planted proviruses overlapped by two or more regions
    false_regions: int  # called regions overlapping no planted provirus
    boundary_errors_bp: tuple[int, ...]  # |start error| and |end error| of each found one

    @property
    def recall(self) -> float:
        return self.found / self.planted if self.planted else float("nan")

    @property
    def median_boundary_error_bp(self) -> float:
        errors = self.boundary_errors_bp
        return float(statistics.median(errors)) if errors else float("nan")

    def as_dict(self) -> dict[str, float | int]:
        return {
            "planted": self.planted,
            "found": self.found,
            "split": self.split,
            "false_regions": self.false_regions,
            "recall": self.recall,
            "median_boundary_error_bp": self.median_boundary_error_bp,
        }


def evaluate_regions(planted: Iterable[Planted], regions: Iterable[Region]) -> ProvirusEvaluation:
    """Match called regions to planted proviruses by overlap, per sequence."""
    by_sequence: dict[str, list[Region]] = {}
    for region in regions:
        by_sequence.setdefault(region.sequence_id, []).append(region)
    used: set[int] = set()
    n = found = split = 0
    errors: list[int] = []
    for truth in planted:
        n += 1
        hits = [
            r
            for r in by_sequence.get(truth.sequence_id, ())
            if r.start <= truth.end and r.end >= truth.start
        ]
        used.update(id(r) for r in hits)
        if len(hits) == 1:
            found += 1
            errors += [abs(hits[0].start - truth.start), abs(hits[0].end - truth.end)]
        elif len(hits) > 1:
            split += 1
    false = sum(id(r) not in used for rs in by_sequence.values() for r in rs)
    return ProvirusEvaluation(n, found, split, false, tuple(errors))


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
    defaults the README justifies are measured on the tracks the tests assert on.
    """
    truth = np.zeros(n, dtype=bool)
    for first, last in viral_spans:
        truth[first : last + 1] = True
    u = rng.random(n)
    calls = np.where(truth, u >= miss_rate, u < false_positive_rate).astype(np.int8)
    calls[rng.random(n) < unscored] = UNSCORED
    return calls
