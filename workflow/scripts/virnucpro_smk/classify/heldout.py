"""Scoring the held-out test fragments the way `predict` scores a sample, once per seed.

The comparison's accuracy must be what users get from `predict` (every stop-free frame of
every chunk, the chunk rule, the sequence rule with its scored-fraction condition), from every
training seed's classifier. This reads the fragments' features once, block by block
(:meth:`.predict.FeatureFiles.blocks`), scores each block with every seed's classifier, and folds
the scores into one :class:`.predict.SampleScores` per seed: the same arrays and the same
``finish`` that give a sample its ``per_chunk.tsv`` and ``per_sequence.tsv`` calls.

Outputs (one row per seed and chunk / seed and fragment, seeds in training order):

* ``heldout_chunks.tsv``: ``seed, sequence_id, chunk, frames_kept, best_viral_score,
  best_nonviral_score, call`` (``no coding frame`` when the chunk kept no frame);
* ``heldout_sequences.tsv``: ``seed, sequence_id, length_bp, chunks, chunks_scored,
  chunks_viral, call`` (:func:`.calls.sequence_call`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import ModelMismatchError
from ..formats.heldout import HELDOUT_CHUNKS, HELDOUT_SEQUENCES, HeldoutChunk, HeldoutSequence
from .calls import CallThresholds
from .features import BLOCK_ROWS
from .mlp import CheckpointIdentity, MLPClassifier, load_checkpoint, predict_scores
from .predict import (
    FeatureFiles,
    SampleScores,
    check_frame_count,
    chunk_cells,
    read_sequence_table,
)

log = logging.getLogger(__name__)


def _load_seeds(
    checkpoints: Mapping[int, str | os.PathLike[str]], meta: dict
) -> dict[int, MLPClassifier]:
    """Every seed's classifier, each refused unless trained on features of this identity."""
    identity = CheckpointIdentity.from_features(meta)
    return {seed: load_checkpoint(path, expect=identity)[0] for seed, path in checkpoints.items()}


@dataclass(frozen=True)
class HeldoutFiles:
    """The two tables :func:`score_heldout` writes, as the rule names them."""

    chunks: str | os.PathLike[str]
    sequences: str | os.PathLike[str]


def score_heldout(
    features: FeatureFiles,
    checkpoints: Mapping[int, str | os.PathLike[str]],
    sequences_tsv: str | os.PathLike[str],
    outputs: HeldoutFiles,
    thresholds: CallThresholds,
    *,
    block_rows: int = BLOCK_ROWS,
) -> dict[int, SampleScores]:
    """Score the fragments with every seed's classifier (``checkpoints``: seed -> file) and
    call them by predict's ``thresholds``; write the two tables."""
    if not checkpoints:
        raise ModelMismatchError("no classifier checkpoints given")
    table = read_sequence_table(sequences_tsv, features.chunk_length)
    scores = {seed: SampleScores.empty(table, features.chunk_length) for seed in checkpoints}
    models: dict[int, MLPClassifier] = {}
    n_frames = 0
    for where, meta, ids, x in features.blocks(block_rows):
        if not models:
            models = _load_seeds(checkpoints, meta)
        for seed, model in models.items():
            scores[seed].add(ids, predict_scores(model, x).numpy(), where)
        n_frames += len(ids)
    check_frame_count(table, n_frames, features.label, sequences_tsv)
    for s in scores.values():
        s.finish(thresholds)
    write_heldout_tables(scores, outputs.chunks, outputs.sequences)
    log.info(
        "%d held-out frames of %d chunks in %d fragments scored by %d seed(s)",
        n_frames,
        table.total_chunks,
        len(table.ids),
        len(scores),
    )
    return scores


def write_heldout_tables(
    scores: Mapping[int, SampleScores],
    chunks_out: str | os.PathLike[str],
    sequences_out: str | os.PathLike[str],
) -> None:
    """Each seed's chunks as predict's ``per_chunk.tsv`` writes them (``chunk_cells``), and
    each seed's fragments with their counts and call."""
    HELDOUT_CHUNKS.write(
        chunks_out,
        (
            HeldoutChunk(seed, sid, k, frames, best_v, best_o, call)
            for seed, s in scores.items()
            for _, sid, k, frames, best_v, best_o, call in chunk_cells(s)
        ),
    )
    HELDOUT_SEQUENCES.write(
        sequences_out,
        (
            HeldoutSequence(
                seed,
                sid,
                int(s.table.lengths[i]),
                int(s.table.n_chunks[i]),
                int(s.chunks_scored[i]),
                int(s.chunks_viral[i]),
                s.calls[i],
            )
            for seed, s in scores.items()
            for i, sid in enumerate(s.table.ids)
        ),
    )
