"""The frame index (``frames/shards.tsv``) and each model's extraction job table
(``frames/jobs/<model>.tsv``): two tables in one layout, each row a run of consecutive
records of the identified-frame files (its record count, its first id and its byte range in
both files).

They are two tables and two types: a frame index row (:class:`FrameIndexRow`) is a slice
of a frame set cut by the frames alone, written once by preprocessing or the training-set
builder; an extraction job (:class:`JobRow`) is a run of index rows that one GPU job
embeds, planned per model (``runtime.job_plan.job_table``). Both keep the column name
``shard`` for their row number (the files' layout is unchanged).
"""

from __future__ import annotations

from dataclasses import dataclass

from .table import Table


@dataclass(frozen=True)
class FrameRun:
    """A run of records: where it lies in ``identified_nucleotide.fa`` and
    ``identified_protein.faa`` (byte ranges ``[start, end)``), how many and the first id."""

    shard: int
    n_records: int
    first_id: str
    nucleotide_start: int
    nucleotide_end: int
    protein_start: int
    protein_end: int

    @property
    def nucleotide(self) -> tuple[int, int]:
        return self.nucleotide_start, self.nucleotide_end

    @property
    def protein(self) -> tuple[int, int]:
        return self.protein_start, self.protein_end

    def byte_range(self, kind: str) -> tuple[int, int]:
        """The range in the file a ``kind`` model (``dna`` or ``protein``) reads."""
        return self.nucleotide if kind == "dna" else self.protein


@dataclass(frozen=True)
class FrameIndexRow(FrameRun):
    """A row of the frame index (``shard``: its row number)."""


@dataclass(frozen=True)
class JobRow(FrameRun):
    """One extraction job of a model (``shard``: the job's number, its output's name)."""


FRAME_INDEX = Table("frame index", FrameIndexRow)
JOB_TABLE = Table("extraction jobs", JobRow)
