"""Viral regions inside sequences: a two-state HMM over the per-chunk calls, Viterbi-decoded.

Why a region caller: a 40-kb prophage in a 1-Mb contig is ~4 % of its chunks, so the
per-sequence call (:func:`.predict.sequence_call`) says ``nonviral`` and the prophage is lost.
Every chunk already has a call, so the track of calls along a sequence says where the virus is.

The model (one pass per sequence, O(chunks)):

* two hidden states per chunk, *host* and *virus*, equal prior at the first chunk;
* a scored chunk emits its call: P(viral call | virus) = ``sensitivity``, P(viral call | host) =
  ``false_positive_rate`` (the classifier's per-chunk figures); an unscored chunk (no coding
  frame) emits nothing: it carries no evidence either way;
* the state changes between neighbouring chunks with probability ``switch_probability``; the
  same for both directions, so staying costs the same in both states and only switches count.
  Each switch costs ``log((1 - p) / p)``; an internal region pays two, which sets the
  shortest provirus the caller reports (see :attr:`RegionModel.min_region_scored_chunks`).

Decoding works on the log-likelihood ratio (virus vs host) of each scored chunk. Runs of equal
calls are collapsed first: with equal weights inside a run, the best path never switches
inside one (switching at the run's edge scores at least as well), so Viterbi over runs is exact
and its loop runs once per run, not per chunk (a host contig with 3 % false positives has a run
every ~30 scored chunks). A region's boundary lies somewhere in the unscored gap between its
outermost viral-state chunk and the next host-state chunk; it is put at the gap's middle (the
point that minimises the expected error when the true boundary is anywhere in the gap), and a
region whose outermost scored chunks are the sequence's own reaches the sequence end.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..formats.regions import RegionRow
from .calls import PROVIRUS, VIRAL, region_call  # noqa: F401 (region_call: re-exported)

WHOLE = "whole"
UNSCORED, HOST_CALL, VIRAL_CALL = -1, 0, 1


@dataclass(frozen=True)
class RegionModel:
    """The HMM's three parameters (per-chunk figures of the classifier, switch rate):
    ``predict.region_sensitivity``, ``region_false_positive_rate`` and
    ``region_switch_probability``. No defaults here: the config schema states them, and
    docs/outputs.md ("The decoding") the sweep of ``benchmarks/bench_regions.py`` they rest on.
    """

    sensitivity: float
    false_positive_rate: float
    switch_probability: float

    @classmethod
    def from_config(cls, predict: Mapping[str, Any]) -> RegionModel:
        """From the validated ``predict:`` section (its ``region_*`` keys); a ValueError
        when the three do not make a model (see ``__post_init__``)."""
        return cls(
            float(predict["region_sensitivity"]),
            float(predict["region_false_positive_rate"]),
            float(predict["region_switch_probability"]),
        )

    def __post_init__(self) -> None:
        for name in ("sensitivity", "false_positive_rate", "switch_probability"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise ValueError(f"region model: {name} must lie strictly between 0 and 1")
        if self.sensitivity <= self.false_positive_rate:
            raise ValueError("region model: sensitivity must exceed the false-positive rate")

    @property
    def viral_llr(self) -> float:
        """Evidence of a viral call for the virus state (natural log, > 0)."""
        return math.log(self.sensitivity / self.false_positive_rate)

    @property
    def host_llr(self) -> float:
        """Evidence of a non-viral call for the virus state (< 0)."""
        return math.log((1.0 - self.sensitivity) / (1.0 - self.false_positive_rate))

    @property
    def switch_cost(self) -> float:
        p = self.switch_probability
        return math.log((1.0 - p) / p)

    @property
    def min_region_scored_chunks(self) -> int:
        """Fewest consecutive viral-called chunks that make an internal region (two
        switches): the shortest provirus this model can report (predict logs it)."""
        return math.floor(2.0 * self.switch_cost / self.viral_llr) + 1


@dataclass(frozen=True)
class ChunkRegions:
    """Regions as chunk indices: ``first``/``last`` are 0-based, inclusive, within a sequence."""

    sequence: np.ndarray  # int64 index of the sequence (row of ``offsets``)
    first: np.ndarray  # int64
    last: np.ndarray  # int64
    whole: np.ndarray  # bool: the region spans the sequence

    def __len__(self) -> int:
        return len(self.sequence)

    def counts(self, n_sequences: int) -> np.ndarray:
        """Regions per sequence."""
        return np.bincount(self.sequence, minlength=n_sequences)


def _viterbi_states(weights: list[float], seq_start: list[bool], cost: float) -> np.ndarray:
    """Virus state (bool) of each run; runs of one sequence are contiguous.

    ``d`` is V(virus) - V(host), the only quantity the two-state Viterbi needs with symmetric
    switches: the new difference is ``clip(d, -cost, cost) + weight``; the virus state was
    reached from virus when ``d >= -cost`` and the host state from host when ``d <= cost``.
    """
    n = len(weights)
    diffs = [0.0] * n
    d = 0.0
    for t in range(n):
        if seq_start[t]:
            d = weights[t]
        else:
            d = (cost if d > cost else -cost if d < -cost else d) + weights[t]
        diffs[t] = d
    states = np.zeros(n, dtype=bool)
    state = False
    for t in range(n - 1, -1, -1):
        if t == n - 1 or seq_start[t + 1]:
            state = diffs[t] > 0.0
        else:
            prev = diffs[t]
            state = prev >= -cost if state else prev > cost
        states[t] = state
    return states


def call_regions(calls: np.ndarray, offsets: np.ndarray, model: RegionModel) -> ChunkRegions:
    """Viral regions of every sequence from its per-chunk calls.

    ``calls`` holds one int per chunk (:data:`VIRAL_CALL`, :data:`HOST_CALL`, :data:`UNSCORED`),
    sequences back to back; the chunks of sequence ``i`` are ``offsets[i]:offsets[i + 1]``.
    A sequence without a scored chunk has no region; a sequence whose scored chunks all decode
    as virus has one ``whole`` region from its first to its last chunk.
    """
    calls = np.asarray(calls)
    offsets = np.asarray(offsets, dtype=np.int64)
    empty = np.zeros(0, dtype=np.int64)
    scored_pos = np.flatnonzero(calls != UNSCORED)
    if not len(scored_pos):
        return ChunkRegions(empty, empty, empty, np.zeros(0, dtype=bool))
    seq_of = np.searchsorted(offsets, scored_pos, side="right") - 1
    viral = calls[scored_pos] == VIRAL_CALL
    new_seq = np.ones(len(scored_pos), dtype=bool)
    new_seq[1:] = seq_of[1:] != seq_of[:-1]
    run_start = new_seq.copy()
    run_start[1:] |= viral[1:] != viral[:-1]
    starts = np.flatnonzero(run_start)
    lengths = np.diff(np.append(starts, len(scored_pos)))
    weights = np.where(viral[starts], model.viral_llr, model.host_llr) * lengths
    states = _viterbi_states(weights.tolist(), new_seq[starts].tolist(), model.switch_cost)
    # virus-state runs -> scored-chunk index ranges; merge neighbours of one sequence
    run_seq = seq_of[starts]
    run_end = starts + lengths - 1
    opens = states & ~np.append(False, states[:-1] & (run_seq[1:] == run_seq[:-1]))
    closes = states & ~np.append(states[1:] & (run_seq[1:] == run_seq[:-1]), False)
    first_scored, last_scored = starts[opens], run_end[closes]
    sequence = run_seq[opens]
    first_pos, last_pos = scored_pos[first_scored], scored_pos[last_scored]
    seq_lo, seq_hi = offsets[sequence], offsets[sequence + 1] - 1
    # boundaries: middle of the unscored gap to the neighbouring host chunk, or the sequence end
    has_prev = (first_scored > 0) & (seq_of[np.maximum(first_scored - 1, 0)] == sequence)
    prev_pos = scored_pos[np.maximum(first_scored - 1, 0)]
    first = np.where(has_prev, first_pos - (first_pos - prev_pos - 1) // 2, seq_lo)
    nxt = np.minimum(last_scored + 1, len(scored_pos) - 1)
    has_next = (last_scored + 1 < len(scored_pos)) & (seq_of[nxt] == sequence)
    last = np.where(has_next, last_pos + (scored_pos[nxt] - last_pos - 1) // 2, seq_hi)
    whole = (first == seq_lo) & (last == seq_hi)
    return ChunkRegions(
        sequence.astype(np.int64), (first - seq_lo).astype(np.int64), (last - seq_lo), whole
    )


def regions_for_calls(
    decoded: ChunkRegions, calls: Sequence[str], n_chunks: np.ndarray
) -> ChunkRegions:
    """The regions each sequence's call allows: one story per sequence (README "Viral regions").

    The HMM and the fraction rule read the same track differently (with the default model a
    track about 36 % viral already decodes as one whole region, while ``viral`` needs 50 %),
    so the call decides and the decoding only places proviruses:

    * a sequence called ``viral`` is one ``whole`` region, first to last chunk, whatever the
      decoding (a host-like end, or no decoded region under a low ``min_viral_fraction``):
      ``viral.fna`` holds it whole, so ``viral_regions.fna`` does too;
    * any other sequence keeps only its decoded internal (``provirus``) regions; a decoded
      ``whole`` region is dropped (36-50 % viral chunks, or too few scored: ``nonviral`` and
      ``too few scored chunks`` mean "not a virus", so nothing of it is written as one).

    ``calls`` are the per-sequence calls before :func:`.calls.region_call` upgrades a sequence
    holding a provirus; the result is in sequence order, regions of a sequence by position.
    """
    viral = np.fromiter((c == VIRAL for c in calls), dtype=bool, count=len(calls))
    keep = ~viral[decoded.sequence] & ~decoded.whole
    whole_seqs = np.flatnonzero(viral).astype(np.int64)
    sequence = np.concatenate([decoded.sequence[keep], whole_seqs])
    first = np.concatenate([decoded.first[keep], np.zeros(len(whole_seqs), dtype=np.int64)])
    last = np.concatenate(
        [decoded.last[keep], np.asarray(n_chunks, dtype=np.int64)[whole_seqs] - 1]
    )
    whole = np.concatenate([np.zeros(int(keep.sum()), dtype=bool), np.ones(len(whole_seqs), bool)])
    order = np.lexsort((first, sequence))
    return ChunkRegions(sequence[order], first[order], last[order], whole[order])


def region_rows(
    regions: ChunkRegions,
    ids: list[str],
    offsets: np.ndarray,
    span_bp: Callable[[int, int, int], tuple[int, int]],
    calls: np.ndarray,
    viral_scores: np.ndarray,
) -> Iterator[RegionRow]:
    """Table rows of the regions, made one at a time (a read set may hold millions).

    ``span_bp(sequence, first, last)`` gives the 1-based inclusive bases from the start of
    chunk ``first`` to the end of chunk ``last`` of a sequence (chunks overlap: the chunker
    spreads the overlap, so spans come from the chunker or from ``per_chunk.tsv``, never from
    ``k * L``).
    """
    for s, a, b, whole in zip(
        regions.sequence.tolist(),
        regions.first.tolist(),
        regions.last.tolist(),
        regions.whole.tolist(),
        strict=True,
    ):
        lo, hi = int(offsets[s]) + a, int(offsets[s]) + b + 1
        span = calls[lo:hi]
        scored = span != UNSCORED
        n_scored = int(scored.sum())
        mean: float | None = float(np.mean(viral_scores[lo:hi][scored])) if n_scored else None
        if mean is not None and not math.isfinite(mean):
            mean = None
        start, end = span_bp(s, a, b)
        yield RegionRow(
            ids[s],
            start,
            end,
            end - start + 1,
            hi - lo,
            n_scored,
            int((span == VIRAL_CALL).sum()),
            mean,
            WHOLE if whole else PROVIRUS,
        )
