"""The comparison's held-out calls table (``calls_chunk<L>.tsv``): every model's call of every
held-out chunk, per training seed, written by the comparison and read back by
``virnucpro-smk decide`` (``report.heldout_calls`` holds the meaning of each column). Labs
may edit or filter it, so other columns, in any order, are fine."""

from __future__ import annotations

from dataclasses import dataclass

from .table import Table


def flag(text: str) -> int:
    """A 0/1 cell; ValueError otherwise."""
    if text in ("0", "1"):
        return int(text)
    raise ValueError("is not 0 or 1")


@dataclass(frozen=True)
class ChunkCall:
    model: str
    seed: int  # training seed
    genome: str  # the test genome the fragment was cut from
    label: int  # 1 viral, 0 not
    fragment_length: int  # bp
    fragment: str
    chunk: int  # 1-based
    scored: int  # 1: the chunk kept a frame
    call: int  # 1: the chunk is called viral (0 when unscored)
    fragment_call: int  # 1: predict calls the chunk's fragment viral


CALLS = Table(
    "held-out calls",
    ChunkCall,
    parsers={c: flag for c in ("label", "scored", "call", "fragment_call")},
    extra_columns=True,
)
