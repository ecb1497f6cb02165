"""The calls a user reads in the README, each written once: per chunk and per sequence.

``classify.predict`` (a sample's tables) and ``report.level_metrics`` (the comparison's chunk and
sequence levels) both call these functions, so the rule a user reads, the rule predict
applies and the rule the comparison measures cannot drift apart.

* **Chunk** (the original VirNucPro rule): viral when its best viral score over its kept
  frames is at least its best non-viral score; ties are viral. This is *not* "any frame
  scores >= 0.5": a chunk whose frames score (viral, non-viral) (0.6, 0.4) and (0.2, 0.8) is
  non-viral (best viral 0.6 < best non-viral 0.8).
* **Sequence**: ``viral`` when at least ``min_viral_fraction`` of its *scored* chunks are
  viral and at least ``min_scored_fraction`` of all its chunks were scored; ``nonviral`` when
  enough chunks were scored but too few are viral; ``too few scored chunks`` below
  ``min_scored_fraction``; ``no coding frame`` when no chunk kept a frame. New calls (e.g. a
  provirus call from regions) belong here too, as further branches of :func:`sequence_call`.
* **Regions follow the call** (``regions.regions_for_calls``): a sequence called ``viral`` is
  one whole region; any other holds only proviruses, and one that does is called
  ``provirus`` (:func:`region_call`). So no output calls a sequence one thing and writes it
  out as another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

VIRAL = "viral"
NONVIRAL = "nonviral"
NO_CODING_FRAME = "no coding frame"
TOO_FEW_SCORED = "too few scored chunks"
PROVIRUS = "provirus"
CALLS = (VIRAL, PROVIRUS, NONVIRAL, TOO_FEW_SCORED, NO_CODING_FRAME)

_EPS = 1e-9  # fractions are compared as counts: 3 of 20 is exactly 15 %, not 0.1499999


@dataclass(frozen=True)
class CallThresholds:
    """The per-sequence call's two thresholds: ``predict.min_viral_fraction`` and
    ``predict.min_scored_fraction``. No defaults here: the config schema states them
    (``runtime.config_defaults`` for code that runs without a workflow config)."""

    min_viral_fraction: float
    min_scored_fraction: float

    @classmethod
    def from_config(cls, predict: Mapping[str, Any]) -> CallThresholds:
        """From the validated ``predict:`` section (or any mapping with its two keys)."""
        return cls(float(predict["min_viral_fraction"]), float(predict["min_scored_fraction"]))


def chunk_is_viral(
    best_viral: float | np.ndarray, best_nonviral: float | np.ndarray
) -> bool | np.ndarray:
    """The original's per-chunk rule on best scores (scalars or arrays): ``>=``, ties viral.

    Unscored chunks are the caller's business (``predict`` keeps ``-inf`` for them and masks
    them out): this function only compares the two maxima.
    """
    out = np.greater_equal(best_viral, best_nonviral)
    return bool(out) if np.ndim(out) == 0 else out


def enough_viral(viral: int, scored: int, min_viral_fraction: float) -> bool:
    """At least ``min_viral_fraction`` of the ``scored`` chunks are viral (exactly half: viral)."""
    return scored > 0 and viral >= min_viral_fraction * scored - _EPS


def enough_scored(scored: int, chunks: int, min_scored_fraction: float) -> bool:
    """At least ``min_scored_fraction`` of all ``chunks`` kept a frame and were scored."""
    return scored > 0 and scored >= min_scored_fraction * chunks - _EPS


def sequence_call(chunks: int, scored: int, viral: int, thresholds: CallThresholds) -> str:
    """Per-sequence call from its chunk counts (see the module docstring).

    Unscored chunks are not counted as non-viral: viral chunks lose frames more often than
    host chunks (300 bp: 35 % of dvf_virus_val chunks keep no frame vs 27 % of dvf_host_val;
    500 bp: 53 % vs 44 %), and a 50-chunk contig is not called on one scored chunk.
    """
    if not 0 <= viral <= scored <= chunks:
        raise ValueError(
            f"chunk counts must satisfy 0 <= viral <= scored <= chunks, got viral={viral}, "
            f"scored={scored}, chunks={chunks}"
        )
    if scored == 0:
        return NO_CODING_FRAME
    if not enough_scored(scored, chunks, thresholds.min_scored_fraction):
        return TOO_FEW_SCORED
    return VIRAL if enough_viral(viral, scored, thresholds.min_viral_fraction) else NONVIRAL


def region_call(call: str, kinds: list[str], viral_call: str = VIRAL) -> str:
    """Per-sequence call upgraded by its regions: a non-viral sequence with a provirus is one.

    A separate step after the per-sequence call so the call rules themselves stay untouched:
    a sequence already called viral keeps its call (its region, if any, says where); any other
    call becomes ``provirus`` when the sequence holds a ``provirus`` region.
    """
    if call != viral_call and PROVIRUS in kinds:
        return PROVIRUS
    return call
