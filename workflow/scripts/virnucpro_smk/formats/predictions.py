"""What predict writes for a sample and model pair, and the run's summary.

* ``predictions.tsv``: the original VirNucPro's ``prediction_results.txt`` layout, byte for
  byte (:data:`PREDICTIONS`; the original's own file, read by the end-to-end score check, is
  this table too): one row per kept frame, ``score1`` non-viral, ``score2`` viral, both
  printed as numpy prints a float32;
* ``per_chunk.tsv`` (:data:`PER_CHUNK`): every chunk of every sequence with its 1-based
  span, kept frames, best viral and non-viral scores (6 decimals, ``NA`` when no frame was
  kept) and its call;
* ``per_sequence.tsv`` (:data:`PER_SEQUENCE`): every sequence with its chunk counts, viral
  fractions (4 decimals), max and mean viral score, call and number of viral regions;
* ``summary.tsv`` (:data:`SUMMARY`): sequences and bases called viral per sample and pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .table import Table


def float32_text(value: float, _float32: type = np.float32) -> str:
    """A score as numpy prints a float32 (the shortest text that reads back as that float32):
    what the original's ``prediction_results.txt`` holds. Predict passes the classifier's
    float32 scalars as they are (no conversion: 10M frames a sample)."""
    return str(value if type(value) is _float32 else _float32(value))


@dataclass(frozen=True)
class FramePrediction:
    """A frame's scores under the original's column names."""

    Sequence_ID: str  # the frame id (<sequence>_chunk_<k><F|R><1-3>)
    Prediction: str  # "virus" or "others"
    score1: float  # non-viral
    score2: float  # viral


PREDICTIONS = Table(
    "frame predictions",
    FramePrediction,
    formats={"score1": float32_text, "score2": float32_text},
)


@dataclass(frozen=True)
class ChunkScore:
    """A chunk of a sequence: scores ``None`` (``NA``) when it kept no frame."""

    sequence_id: str
    chunk: int  # 1-based
    start: int  # 1-based, inclusive
    end: int
    frames_kept: int
    best_viral_score: float | None
    best_nonviral_score: float | None
    call: str


#: Decimals of every score the prediction tables print: readers know the printed values are
#: exact in units of 10**-SCORE_DECIMALS (means over them, the held-out rank).
SCORE_DECIMALS = 6
SCORES = f"{{:.{SCORE_DECIMALS}f}}"

PER_CHUNK = Table("per_chunk.tsv", ChunkScore, missing="NA", floats=SCORES)


@dataclass(frozen=True)
class SequenceCall:
    """A sequence's chunk counts, fractions (``None`` over no chunk), scores and call."""

    sequence_id: str
    length_bp: int
    chunks: int
    chunks_scored: int
    chunks_viral: int
    viral_fraction_all: float | None
    viral_fraction_scored: float | None
    max_viral_score: float | None
    mean_viral_score: float | None
    call: str
    regions: int | None = None  # viral regions; absent from tables older than regions


PER_SEQUENCE = Table(
    "per_sequence.tsv",
    SequenceCall,
    missing="NA",
    floats=SCORES,
    formats={"viral_fraction_all": "{:.4f}", "viral_fraction_scored": "{:.4f}"},
)


@dataclass(frozen=True)
class SampleSummary:
    sample: str
    model: str  # the model pair's tag
    sequences: int
    bp: int
    viral_sequences: int
    viral_bp: int
    provirus_sequences: int  # not called viral but holding a viral region


SUMMARY = Table("summary.tsv", SampleSummary)
