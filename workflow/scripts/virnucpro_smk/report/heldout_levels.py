"""The comparison's accuracy on what `predict` sees: levels from the held-out fragment tables.

``score_heldout`` (:mod:`..classify.heldout`) scores fragments of the test genomes the way
`predict` scores a sample and writes, per training seed, every chunk's frames and best scores
and every fragment's call. This module turns those tables into :class:`.level_metrics.Level`
objects:

* **chunk**: every chunk of the fragments that kept at least one frame (every stop-free
  frame, non-coding DNA and wrong-frame ORFs included), called by the original's rule; chunks
  with no kept frame are counted, not scored (no model can call them, and both models see the
  same ones);
* **sequence_<n>kb**, one per fragment length: every fragment of that length, viral when
  predict's per-sequence call is ``viral`` (at least ``min_viral_fraction`` of its scored
  chunks viral *and* at least ``min_scored_fraction`` of its chunks scored); a fragment too
  sparse to call counts as not called viral, as a user would read it.

Units carry their fragment's genome, so intervals resample genomes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from ..classify.calls import NO_CODING_FRAME, VIRAL, CallThresholds
from ..errors import InputError, ModelMismatchError
from ..formats.heldout import HELDOUT_CHUNKS, HELDOUT_SEQUENCES, FragmentRow
from ..formats.predictions import SCORE_DECIMALS
from .level_metrics import Level


def sequence_level_name(length_bp: int) -> str:
    """``sequence_1kb`` for 1000 bp, ``sequence_0.5kb`` for 500 bp."""
    return f"sequence_{length_bp / 1000:g}kb"


def level_rule(name: str, thresholds: CallThresholds) -> str:
    """What a unit of a held-out level is and when it is called viral (shown in the report)."""
    if name == "chunk":
        return (
            "every chunk of the held-out fragments with at least one kept frame (predict's "
            "preprocessing: every stop-free frame), viral when its best viral score >= its "
            "best non-viral score (the original rule); ranked by (best viral - best "
            "non-viral + 1) / 2"
        )
    return (
        f"every {name.removeprefix('sequence_')} fragment of a test genome, viral when "
        f"predict calls it viral: at least {thresholds.min_viral_fraction:g} of its scored "
        f"chunks viral and at least {thresholds.min_scored_fraction:g} of its chunks scored "
        "(otherwise not viral); "
        "ranked by its viral fraction of scored chunks"
    )


@dataclass(frozen=True)
class HeldoutScores:
    """One seed's rows of ``heldout_chunks.tsv`` and ``heldout_sequences.tsv``."""

    chunk_sequences: list[str]
    chunk_numbers: np.ndarray  # int
    frames: np.ndarray  # int: kept frames per chunk
    best_viral: np.ndarray  # float (nan when unscored)
    best_nonviral: np.ndarray
    chunk_viral: np.ndarray  # bool: the chunk call is viral
    sequence_ids: list[str]
    sequence_calls: list[str]
    chunks_scored: np.ndarray  # int per sequence
    chunks_viral: np.ndarray


R = TypeVar("R")


def _rows_by_seed(rows: Iterable[R], path: str | os.PathLike[str]) -> dict[int, list[R]]:
    out: dict[int, list[R]] = {}
    for row in rows:
        out.setdefault(row.seed, []).append(row)  # type: ignore[attr-defined]
    if not out:
        raise InputError(f"{path}: no rows")
    return out


def _number(value: float | None) -> float:
    return float("nan") if value is None else value


def read_heldout(
    chunks_tsv: str | os.PathLike[str], sequences_tsv: str | os.PathLike[str]
) -> dict[int, HeldoutScores]:
    """Per training seed (file order), the held-out chunk and fragment tables."""
    chunks = _rows_by_seed(HELDOUT_CHUNKS.read(chunks_tsv), chunks_tsv)
    sequences = _rows_by_seed(HELDOUT_SEQUENCES.read(sequences_tsv), sequences_tsv)
    if list(chunks) != list(sequences):
        raise InputError(f"{chunks_tsv} and {sequences_tsv} hold different training seeds")
    out = {}
    for seed, rows in chunks.items():
        seqs = sequences[seed]
        out[seed] = HeldoutScores(
            [r.sequence_id for r in rows],
            np.array([r.chunk for r in rows], dtype=int),
            np.array([r.frames_kept for r in rows], dtype=int),
            np.array([_number(r.best_viral_score) for r in rows], dtype=float),
            np.array([_number(r.best_nonviral_score) for r in rows], dtype=float),
            np.array([r.call == VIRAL for r in rows], dtype=bool),
            [r.sequence_id for r in seqs],
            [r.call for r in seqs],
            np.array([r.chunks_scored for r in seqs], dtype=int),
            np.array([r.chunks_viral for r in seqs], dtype=int),
        )
        if (out[seed].frames == 0).any() and not all(
            r.call == NO_CODING_FRAME for r in rows if r.frames_kept == 0
        ):
            raise InputError(f"{chunks_tsv}: a chunk without frames has a call other than none")
    return out


def chunk_rank_scores(best_viral: np.ndarray, best_nonviral: np.ndarray) -> np.ndarray:
    """(best viral - best non-viral + 1) / 2 per chunk: what ranks the chunk level.

    Computed on the table's integer units (its scores have ``SCORE_DECIMALS`` decimals), so
    equal margins give equal scores: in floats, 0.01 - 0.02 and 0.56 - 0.57 differ in the 17th
    digit, which breaks ties that ROC and PR areas must see as ties.
    """
    unit = 10**SCORE_DECIMALS
    margin = np.rint(best_viral * unit) - np.rint(best_nonviral * unit)
    return (margin + unit) / (2 * unit)


def heldout_levels(fragments: Sequence[FragmentRow], scores: HeldoutScores) -> dict[str, Level]:
    """The chunk level and one sequence level per fragment length, from one seed's tables."""
    info = {f.fragment: f for f in fragments}
    unknown = sorted(set(scores.sequence_ids) - set(info))[:5]
    if unknown or len(scores.sequence_ids) != len(info):
        raise ModelMismatchError(
            f"held-out tables and fragments.tsv disagree (e.g. {unknown}): rerun score_heldout"
        )
    scored = np.flatnonzero(scores.frames > 0)

    def column(ids: Sequence[str], key: str) -> list:
        return [getattr(info[i], key) for i in ids]

    chunk_ids = [scores.chunk_sequences[i] for i in scored.tolist()]
    numbers = scores.chunk_numbers[scored].tolist()
    levels = {
        "chunk": Level(
            "chunk",
            [f"{s}_chunk_{n}" for s, n in zip(chunk_ids, numbers, strict=True)],
            column(chunk_ids, "record"),
            column(chunk_ids, "group"),
            np.array([int(x) for x in column(chunk_ids, "label")], dtype=int),
            chunk_rank_scores(scores.best_viral[scored], scores.best_nonviral[scored]),
            scores.chunk_viral[scored].copy(),
            column(chunk_ids, "genome"),
        )
    }
    lengths = np.array([info[s].length_bp for s in scores.sequence_ids], dtype=int)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(
            scores.chunks_scored > 0, scores.chunks_viral / scores.chunks_scored, 0.0
        )
    calls = np.array([c == VIRAL for c in scores.sequence_calls], dtype=bool)
    for length in sorted(set(lengths.tolist())):
        pick = np.flatnonzero(lengths == length).tolist()
        ids = [scores.sequence_ids[i] for i in pick]
        name = sequence_level_name(length)
        levels[name] = Level(
            name,
            ids,
            column(ids, "record"),
            column(ids, "group"),
            np.array([int(x) for x in column(ids, "label")], dtype=int),
            fraction[pick].astype(float),
            calls[pick],
            column(ids, "genome"),
        )
    return levels
