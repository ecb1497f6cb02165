"""``verify_models``' table (``<verify>/models.tsv``, beside its JSON report): one row per
model with the headline numbers of its check against the original's reference vectors
(empty cells where a check did not run)."""

from __future__ import annotations

from dataclasses import dataclass

from .table import Table


@dataclass(frozen=True)
class ModelCheck:
    model: str
    status: str  # PASS, FAIL or NOT VERIFIED
    fp32_max_abs_diff: float | None
    fp32_min_cosine: float | None
    run_dtype: str
    run_min_cosine: float | None


MODEL_CHECKS = Table("model checks", ModelCheck, floats="{:.6g}")
