"""The training manifest as the comparison shows it: frames available vs used per group, and
the split sizes (both classifiers were trained on this one manifest).

Built from the manifest summary JSON (``training_manifest.json``, written by the training-set
builder beside the manifest), which the rule script reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InputError


@dataclass(frozen=True)
class GroupFrames:
    """Frames of one group the builder could draw from, and those it drew."""

    group: str
    available: int
    used: int
    fraction: float | None  # used / available; None when none was available


@dataclass(frozen=True)
class FrameTotals:
    """All groups together."""

    available: int
    used: int
    fraction: float | None


@dataclass(frozen=True)
class ManifestTables:
    """The per-group table with its total, and the summary's split counts as written (counts
    per split, or per split and group; ``*_shared_between_splits``: pairs of splits -> count,
    None in summaries that predate them)."""

    by_group: list[GroupFrames]
    total: FrameTotals
    by_split: Mapping[str, Any]
    records_by_split: Mapping[str, Any]
    records_shared_between_splits: Mapping[str, int] | None
    genomes_by_split: Mapping[str, Any]
    genomes_shared_between_splits: Mapping[str, int] | None
    multi_record_genomes: Any


def total_count(value: Any) -> int | float | None:
    """Sum of a count or of a (nested) mapping of counts; None when not numeric."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, Mapping):
        parts = [total_count(v) for v in value.values()]
        return None if any(p is None for p in parts) else sum(parts)  # type: ignore[arg-type]
    return None


def manifest_tables(summary: Mapping[str, Any]) -> ManifestTables:
    """The tables of the manifest summary, refusing a group that uses more than it has."""
    for key in ("available_by_group", "used_by_group"):
        if not isinstance(summary.get(key), Mapping):
            raise InputError(f"training manifest summary: missing the mapping {key!r}")
    available, used = summary["available_by_group"], summary["used_by_group"]
    rows = []
    for g in sorted(set(available) | set(used)):
        a, u = int(available.get(g, 0)), int(used.get(g, 0))
        if u > a:
            raise InputError(f"training manifest summary: group {g} uses {u} of {a} frames")
        rows.append(GroupFrames(g, a, u, u / a if a else None))
    total_a, total_u = sum(r.available for r in rows), sum(r.used for r in rows)
    return ManifestTables(
        by_group=rows,
        total=FrameTotals(total_a, total_u, total_u / total_a if total_a else None),
        by_split=summary.get("by_split", {}),
        records_by_split=summary.get("records_by_split", {}),
        records_shared_between_splits=summary.get("records_shared_between_splits"),
        genomes_by_split=summary.get("genomes_by_split", {}),
        genomes_shared_between_splits=summary.get("genomes_shared_between_splits"),
        multi_record_genomes=summary.get("multi_record_genomes"),
    )
