"""One table across samples and model pairs: how many sequences and bases were called viral.

Reads each sample's ``per_sequence.tsv`` (streamed: a sample may hold millions of reads)
and writes ``summary.tsv`` with one row per (sample, model pair), in the order given;
``provirus_sequences`` counts the sequences not called viral that hold a provirus region.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence

from ..errors import InputError
from ..io.atomic import write_tsv
from .predict import VIRAL
from .regions import PROVIRUS

SUMMARY_COLUMNS = (
    "sample",
    "model",
    "sequences",
    "bp",
    "viral_sequences",
    "viral_bp",
    "provirus_sequences",
)


def _count(path: str | os.PathLike[str]) -> dict[str, int]:
    counts = {
        "sequences": 0,
        "bp": 0,
        "viral_sequences": 0,
        "viral_bp": 0,
        "provirus_sequences": 0,
    }
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        if not {"length_bp", "call"} <= set(reader.fieldnames or ()):
            raise InputError(f"{path}: not a per_sequence.tsv (needs length_bp and call)")
        for row in reader:
            length = int(row["length_bp"])
            counts["sequences"] += 1
            counts["bp"] += length
            if row["call"] == VIRAL:
                counts["viral_sequences"] += 1
                counts["viral_bp"] += length
            elif row["call"] == PROVIRUS:  # a host sequence holding a viral region
                counts["provirus_sequences"] += 1
    return counts


def summarize(
    per_sequence_by_sample: Mapping[tuple[str, str], str | os.PathLike[str]],
    output: str | os.PathLike[str],
) -> list[dict[str, object]]:
    """Write ``summary.tsv``; keys are ``(sample, model pair tag)``, values per_sequence.tsv."""
    rows: list[dict[str, object]] = []
    for (sample, model), path in per_sequence_by_sample.items():
        rows.append({"sample": sample, "model": model, **_count(path)})
    write_tsv(output, SUMMARY_COLUMNS, ([row[c] for c in SUMMARY_COLUMNS] for row in rows))
    return rows


def summarize_lists(
    paths: Sequence[str | os.PathLike[str]],
    samples: Sequence[str],
    models: Sequence[str],
    output: str | os.PathLike[str],
) -> list[dict[str, object]]:
    """:func:`summarize` from three parallel lists (the rule's input and params)."""
    if not len(paths) == len(samples) == len(models):
        raise InputError(
            f"summary: {len(paths)} per_sequence tables for {len(samples)} samples and "
            f"{len(models)} model tags; the three lists must be parallel"
        )
    keys = list(zip(samples, models, strict=True))
    if len(set(keys)) != len(keys):
        raise InputError("summary: a (sample, model) pair is listed twice")
    return summarize(dict(zip(keys, paths, strict=True)), output)
