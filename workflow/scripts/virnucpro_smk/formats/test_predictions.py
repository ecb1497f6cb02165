"""``test_predictions.tsv``: every training seed's viral score of every test frame of the
manifest (rows per seed, in manifest order), written by training; the comparison's
training-mode levels (frame, chunk, sequence) are computed from it."""

from __future__ import annotations

from dataclasses import dataclass

from .table import Table


@dataclass(frozen=True, kw_only=True)  # keyword-only: optional columns keep the file's order
class TestScore:
    __test__ = False  # not a pytest test class despite its name

    id: str  # frame id
    dataset: str
    group: str
    record: str
    genome: str = ""  # absent from older tables: the record is its genome
    label: int  # 1 viral, 0 not
    seed: int = 0  # the training seed (absent from older tables: one seed)
    score_viral: float


TEST_PREDICTIONS = Table("test_predictions.tsv", TestScore, floats="{:.6f}")
