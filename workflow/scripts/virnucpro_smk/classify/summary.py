"""One table across samples and model pairs: how many sequences and bases were called viral.

Reads each sample's ``per_sequence.tsv`` (streamed: a sample may hold millions of reads)
and writes ``summary.tsv`` with one row per (sample, model pair), in the order given;
``provirus_sequences`` counts the sequences not called viral that hold a provirus region.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from ..errors import InputError
from ..formats.predictions import PER_SEQUENCE, SUMMARY, SampleSummary
from .calls import PROVIRUS, VIRAL


def _count(sample: str, model: str, path: str | os.PathLike[str]) -> SampleSummary:
    sequences = bp = viral_sequences = viral_bp = provirus_sequences = 0
    for row in PER_SEQUENCE.read(path):
        sequences += 1
        bp += row.length_bp
        if row.call == VIRAL:
            viral_sequences += 1
            viral_bp += row.length_bp
        elif row.call == PROVIRUS:  # a host sequence holding a viral region
            provirus_sequences += 1
    return SampleSummary(
        sample, model, sequences, bp, viral_sequences, viral_bp, provirus_sequences
    )


def summarize(
    per_sequence_by_sample: Mapping[tuple[str, str], str | os.PathLike[str]],
    output: str | os.PathLike[str],
) -> list[SampleSummary]:
    """Write ``summary.tsv``; keys are ``(sample, model pair tag)``, values per_sequence.tsv."""
    rows = [_count(sample, model, path) for (sample, model), path in per_sequence_by_sample.items()]
    SUMMARY.write(output, rows)
    return rows


def summarize_lists(
    paths: Sequence[str | os.PathLike[str]],
    samples: Sequence[str],
    models: Sequence[str],
    output: str | os.PathLike[str],
) -> list[SampleSummary]:
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
