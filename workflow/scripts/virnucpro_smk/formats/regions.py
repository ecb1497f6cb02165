"""``regions.tsv``: the viral regions along each sequence, written by predict and by
``virnucpro-smk regions`` (coordinates 1-based, inclusive, in the input sequence)."""

from __future__ import annotations

from dataclasses import dataclass

from .predictions import SCORES
from .table import Table


@dataclass(frozen=True)
class RegionRow:
    sequence_id: str
    start: int
    end: int
    length_bp: int  # end - start + 1
    chunks: int
    chunks_scored: int
    chunks_viral: int
    mean_viral_score: float | None  # None (NA) when no chunk of the region was scored
    kind: str  # "whole" (the sequence is called viral) or "provirus"


REGIONS = Table("regions.tsv", RegionRow, missing="NA", floats=SCORES)
