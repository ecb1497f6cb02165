"""Snakemake's benchmark files (``benchmark:`` of every rule, under ``<outdir>/benchmarks/``):
one row per repeat of the job, its wall seconds ``s`` and, when Snakemake could measure them,
``max_rss`` and other figures (``NA`` or ``-`` when it could not). Snakemake owns the layout,
so other columns, in any order, are fine."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .table import Table


def measured(text: str) -> float | None:
    """A figure Snakemake measured, None where it wrote none (``NA``, ``-``, ``nan``)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isnan(value) else value


@dataclass(frozen=True)
class BenchmarkRow:
    s: float  # wall seconds
    max_rss: float | None = None  # MiB; None where not measured


BENCHMARK = Table(
    "Snakemake benchmark", BenchmarkRow, parsers={"max_rss": measured}, extra_columns=True
)
