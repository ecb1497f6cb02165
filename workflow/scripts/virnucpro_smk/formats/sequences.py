"""``sequences.tsv``: per input sequence (a sample's records, a training dataset's records, the
held-out fragments) its length, chunks and kept frames, written by preprocessing, so that
later stages report sequences without any coding frame instead of silently dropping them
and check that the embeddings hold every kept frame."""

from __future__ import annotations

from dataclasses import dataclass

from .table import Table


@dataclass(frozen=True)
class SequenceRow:
    sequence_id: str
    length_bp: int
    n_chunks: int
    n_kept_frames: int | None = None  # absent from tables older than the frame check


SEQUENCES = Table("sequences.tsv", SequenceRow)


@dataclass(frozen=True)
class SequenceLength:
    """The two columns every per-sequence table has (``sequences.tsv``, ``per_sequence.tsv``)."""

    sequence_id: str
    length_bp: int


#: Lengths from either per-sequence table (``virnucpro-smk regions --sequences`` takes both).
SEQUENCE_LENGTHS = Table("sequence lengths", SequenceLength, extra_columns=True)
