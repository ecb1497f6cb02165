"""The comparison's held-out tables: the fragments cut from the test genomes, and every
training seed's scores of their chunks and calls of the fragments, as predict makes them.

* ``fragments.tsv`` (:data:`FRAGMENTS`): one row per fragment: its length class, where it
  was cut (dataset, group, label, genome, record, 1-based span) and its taxon, with whether a
  training genome shares that taxon (``yes``/``no``; empty when unknown);
* ``heldout_chunks.tsv`` (:data:`HELDOUT_CHUNKS`): predict's ``per_chunk.tsv`` columns for
  every seed (``seed`` first, no span);
* ``heldout_sequences.tsv`` (:data:`HELDOUT_SEQUENCES`): every seed's chunk counts and call
  of every fragment.
"""

from __future__ import annotations

from dataclasses import dataclass

from .predictions import SCORES
from .table import Table


@dataclass(frozen=True)
class FragmentRow:
    fragment: str
    length_bp: int
    dataset: str
    group: str
    label: int  # 1 viral, 0 not
    genome: str
    record: str
    start: int  # 1-based, inclusive
    end: int
    taxon: str = ""  # usually the genus; "" unknown (absent from older tables)
    taxon_in_training: str = ""  # "yes" / "no": a training genome shares the taxon; "" unknown


FRAGMENTS = Table("fragments.tsv", FragmentRow)


@dataclass(frozen=True)
class HeldoutChunk:
    """A chunk of a fragment as one seed's classifier scored it (``per_chunk.tsv``'s cells)."""

    seed: int
    sequence_id: str
    chunk: int
    frames_kept: int
    best_viral_score: float | None
    best_nonviral_score: float | None
    call: str


HELDOUT_CHUNKS = Table("heldout_chunks.tsv", HeldoutChunk, missing="NA", floats=SCORES)


@dataclass(frozen=True)
class HeldoutSequence:
    """A fragment as one seed's classifier called it (predict's sequence rule)."""

    seed: int
    sequence_id: str
    length_bp: int
    chunks: int
    chunks_scored: int
    chunks_viral: int
    call: str


HELDOUT_SEQUENCES = Table("heldout_sequences.tsv", HeldoutSequence)
