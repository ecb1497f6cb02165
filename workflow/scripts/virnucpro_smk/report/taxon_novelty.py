"""How the models fare on new taxa: the split's blind spot.

The split keeps genomes apart, not relatives, so most test genomes share a genus with a
training genome. Per-chunk metrics on the test genomes whose taxon (usually the genus) a
training genome shares (``seen``) and on those whose taxon none shares (``unseen``) show
whether a model learnt viruses or the training genera.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..formats.heldout import FragmentRow
from ..preprocess.chunking import sequence_of
from .level_metrics import CI_METRICS, Level, cluster_bootstrap_ci, paired_values_fn


@dataclass(frozen=True)
class TaxonModelFigures:
    metrics: dict[str, Any]  # :func:`.metrics.binary_metrics` of the group's chunks
    ci95: dict[str, tuple[float, float]]  # genome bootstrap, per metric of CI_METRICS


@dataclass(frozen=True)
class TaxonGroup:
    """One group's chunks (``measured`` False: the test genomes hold none)."""

    measured: bool
    chunks: int
    genomes: int
    viral_genomes: int = 0
    models: dict[str, TaxonModelFigures] = field(default_factory=dict)


@dataclass(frozen=True)
class TaxonNovelty:
    unknown_taxon_chunks: int  # chunks of genomes without a known taxon: in neither group
    seen: TaxonGroup
    unseen: TaxonGroup


def subset_level(level: Level, pick: np.ndarray) -> Level:
    """The units of ``level`` where ``pick`` (a boolean mask) holds."""
    idx = np.flatnonzero(pick).tolist()
    return replace(
        level,
        units=[level.units[i] for i in idx],
        records=[level.records[i] for i in idx],
        groups=[level.groups[i] for i in idx],
        labels=level.labels[idx],
        scores=level.scores[idx],
        calls=level.calls[idx],
        genomes=[level.genomes[i] for i in idx],  # type: ignore[index]
    )


def _group(
    chunks: Mapping[str, Level],
    pick: np.ndarray,
    baseline: str,
    candidate: str,
    resamples: int,
    seed: int,
) -> TaxonGroup:
    if not pick.any():
        return TaxonGroup(measured=False, chunks=0, genomes=0)
    subset = {m: subset_level(lv, pick) for m, lv in chunks.items()}
    ci = cluster_bootstrap_ci(
        paired_values_fn(subset, baseline, candidate),
        subset[baseline].genomes,  # type: ignore[arg-type]
        resamples,
        seed,
    )
    sub = subset[baseline]
    return TaxonGroup(
        measured=True,
        chunks=len(sub.units),
        genomes=len(set(sub.genomes or [])),
        viral_genomes=len({g for g, y in zip(sub.genomes or [], sub.labels, strict=True) if y}),
        models={
            m: TaxonModelFigures(lv.metrics(), {k: ci[f"{m}/{k}"] for k in CI_METRICS})
            for m, lv in subset.items()
        },
    )


def taxon_novelty(
    chunks: Mapping[str, Level],
    fragments: Sequence[FragmentRow],
    baseline: str,
    candidate: str,
    resamples: int,
    seed: int,
) -> TaxonNovelty:
    """The ``seen`` and ``unseen`` groups of each model's held-out chunk level (``chunks``:
    first seed, same units), by the fragments' ``taxon_in_training`` flag. Genomes without a
    known taxon (FASTA datasets without a ``taxon`` column) are in neither group."""
    flag = {f.fragment: f.taxon_in_training for f in fragments}
    status = np.array([flag.get(sequence_of(u), "") for u in chunks[baseline].units], dtype=object)
    return TaxonNovelty(
        unknown_taxon_chunks=int((status == "").sum()),
        seen=_group(chunks, status == "yes", baseline, candidate, resamples, seed),
        unseen=_group(chunks, status == "no", baseline, candidate, resamples, seed),
    )
