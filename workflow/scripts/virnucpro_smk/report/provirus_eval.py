"""Planted proviruses: how well the region calls of one classifier find known viral regions.

The building blocks: a viral genome's track inserted into a host contig's at a known
position (:func:`planted_track`), and the recall and boundary error of the regions a
classifier's track decodes to (:func:`evaluate_regions`), so the two protein models can be
compared on region calls, not only on chunk calls.

The comparison report's "Viral regions (planted proviruses)" section (:func:`measure_proviruses`)
plants *chunk-call tracks*, not DNA: no new sequence is cut or embedded (compare has only the
held-out test frames' scores). A held-out non-viral genome's track of chunk calls (chunks in
order, a chunk without a test frame unscored) gets a held-out viral genome's track inserted at a
seeded random chunk position; the regions the HMM decodes from that track are matched to the
inserted span. Both classifiers are given exactly the same layouts, so their figures are paired.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..classify.region_model import HOST_CALL, UNSCORED, VIRAL_CALL, RegionModel, call_regions
from ..preprocess.chunking import split_chunk_id


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


# --------------------------------------------------------------------------- chunk-track planting


def genome_tracks(
    units: Sequence[str], calls: Sequence[bool] | np.ndarray, genomes: Sequence[str]
) -> dict[str, np.ndarray]:
    """Chunk-call track of each genome from test chunks (``<record>_chunk_<n>`` ids).

    A record's track runs from its chunk 1 to its highest test chunk number (chunks after the
    last test chunk are not known to compare); chunks without a test frame are
    :data:`UNSCORED`. A genome's records follow one another in the order first seen (the
    order is the same for both models: their test sets are aligned). An id without a chunk
    number is a one-chunk record.
    """
    by_record: dict[str, dict[int, bool]] = {}
    genome_of: dict[str, str] = {}
    for unit, call, genome in zip(units, calls, genomes, strict=True):
        record, number = split_chunk_id(unit)
        index = int(number) if number.isdigit() and int(number) > 0 else 1
        by_record.setdefault(record, {})[index] = bool(call)
        genome_of.setdefault(record, genome)
    parts: dict[str, list[np.ndarray]] = {}
    for record, chunks in by_record.items():
        track = np.full(max(chunks), UNSCORED, dtype=np.int8)
        for index, call in chunks.items():
            track[index - 1] = VIRAL_CALL if call else HOST_CALL
        parts.setdefault(genome_of[record], []).append(track)
    return {genome: np.concatenate(tracks) for genome, tracks in parts.items()}


@dataclass(frozen=True)
class Layout:
    """One trial: ``virus``'s track inserted after ``position`` chunks of ``host``'s track."""

    host: str
    virus: str
    position: int


def plan_layouts(
    host_lengths: Mapping[str, int], viruses: Sequence[str], trials: int, seed: int
) -> list[Layout]:
    """``trials`` seeded draws of (host, virus, insertion position), uniform over each.

    Drawn once from genome names and host lengths only, never from a classifier's calls, so
    that every classifier is scored on the same layouts (a paired comparison).
    """
    hosts = sorted(host_lengths)
    viral = sorted(viruses)
    if not hosts or not viral:
        return []
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(trials):
        host = hosts[int(rng.integers(len(hosts)))]
        virus = viral[int(rng.integers(len(viral)))]
        out.append(Layout(host, virus, int(rng.integers(host_lengths[host] + 1))))
    return out


def planted_track(
    host: np.ndarray, virus: np.ndarray, position: int
) -> tuple[np.ndarray, int, int]:
    """The host track with the virus track inserted after ``position`` host chunks, and the
    virus's first and last chunk (0-based, inclusive) in it."""
    if not 0 <= position <= len(host):
        raise ValueError(f"position {position} outside the {len(host)}-chunk host track")
    track = np.concatenate([host[:position], virus, host[position:]])
    return track, position, position + len(virus) - 1


@dataclass(frozen=True)
class _ChunkRegion:
    sequence_id: str
    start: int
    end: int


def evaluate_layouts(
    layouts: Sequence[Layout], tracks: Mapping[str, np.ndarray], model: RegionModel
) -> ProvirusEvaluation:
    """Decode every planted track with the region HMM and match regions to the planted span.

    Coordinates are 1-based chunk numbers, so the boundary errors are in chunks.
    """
    pieces, planted = [], []
    offsets = [0]
    for i, layout in enumerate(layouts):
        track, first, last = planted_track(
            tracks[layout.host], tracks[layout.virus], layout.position
        )
        pieces.append(track)
        offsets.append(offsets[-1] + len(track))
        planted.append(Planted(str(i), first + 1, last + 1))
    if not pieces:
        return evaluate_regions([], [])
    regions = call_regions(np.concatenate(pieces), np.array(offsets), model)
    called = [
        _ChunkRegion(str(s), a + 1, b + 1)
        for s, a, b in zip(
            regions.sequence.tolist(), regions.first.tolist(), regions.last.tolist(), strict=True
        )
    ]
    return evaluate_regions(planted, called)


PLANTING_METHOD = (
    "chunk-track planting, not DNA insertion: in each seeded trial a held-out viral genome's "
    "track of chunk calls is inserted at a random chunk position into a held-out non-viral "
    "genome's track (chunks without a test frame unscored), and the region HMM "
    "(predict.region_*) decodes the result; both models get the same layouts. A planted "
    "provirus is found when exactly one region overlaps it; boundary error = |start error| and "
    "|end error| in chunks (bp: chunks x chunk length)"
)


@dataclass(frozen=True)
class ModelProviruses:
    """One protein model's region calls on the planted tracks."""

    planted: int
    found: int
    split: int
    false_regions: int
    recall: float
    median_boundary_error_chunks: float
    median_boundary_error_bp: float


@dataclass(frozen=True)
class ProvirusFigures:
    """The comparison's planted-provirus section: how, on what, and each model's figures
    (``measured`` False: the ``reason``, and no figures)."""

    measured: bool
    reason: str | None
    method: str
    trials: int
    seed: int
    host_genomes: int
    viral_genomes: int
    region_model: RegionModel
    models: dict[str, ModelProviruses]


def measure_proviruses(
    tracks_by_model: Mapping[str, Mapping[str, np.ndarray]],
    labels: Mapping[str, int],
    model: RegionModel,
    chunk_length: int,
    trials: int,
    seed: int,
) -> ProvirusFigures:
    """The comparison's planted-provirus figures per protein model.

    ``tracks_by_model[m][genome]`` is model ``m``'s chunk-call track of a test genome (every
    model has the same genomes), ``labels[genome]`` its truth (1 viral). Too few test genomes
    (no non-viral or no viral one) or no trial: ``measured`` False and the ``reason``.
    """
    hosts = {g: 0 for g, label in labels.items() if label == 0}
    viruses = [g for g, label in labels.items() if label == 1]
    missing = [what for what, n in (("non-viral", len(hosts)), ("viral", len(viruses))) if n == 0]
    reason = None
    if missing:
        reason = f"no {' and no '.join(missing)} test genome"
    elif trials < 1:
        reason = "no trials configured"
    models: dict[str, ModelProviruses] = {}
    if reason is None:
        first = next(iter(tracks_by_model.values()))
        layouts = plan_layouts({g: len(first[g]) for g in hosts}, viruses, trials, seed)
        for name, tracks in tracks_by_model.items():
            result = evaluate_layouts(layouts, tracks, model)
            median = result.median_boundary_error_bp  # chunk units here (see evaluate_layouts)
            models[name] = ModelProviruses(
                result.planted,
                result.found,
                result.split,
                result.false_regions,
                result.recall,
                median,
                median * chunk_length,
            )
    return ProvirusFigures(
        measured=reason is None,
        reason=reason,
        method=PLANTING_METHOD,
        trials=trials,
        seed=seed,
        host_genomes=len(hosts),
        viral_genomes=len(viruses),
        region_model=model,
        models=models,
    )
