"""The comparison's consistency checks: do its inputs describe one and the same experiment?

A report whose classifiers were trained on different manifests, scored other test frames
than the manifest holds, or tested on fragments of a training genome would compare nothing;
each check is shown with its figures, so a failed one says what disagreed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..formats.heldout import FragmentRow
from .level_metrics import Level, TestPredictions
from .manifest_tables import ManifestTables, total_count


@dataclass(frozen=True)
class Check:
    check: str  # what is checked, as the report states it
    ok: bool
    detail: str  # the figures compared


def _shared(counts: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in counts.items())


def consistency_checks(
    predictions: TestPredictions,
    levels: Mapping[str, Level],
    manifest: ManifestTables,
    metadata: Mapping[str, Mapping[str, Any]],
) -> list[Check]:
    """Checks of the baseline's test ``predictions`` and ``levels`` against the manifest, and
    of both classifiers' ``metadata`` (model -> its metadata.json) against each other."""
    shas = {m: meta.get("manifest_sha256") for m, meta in metadata.items()}
    checks = [
        Check(
            "both classifiers trained on one manifest (manifest_sha256)",
            len(set(shas.values())) == 1 and None not in shas.values(),
            ", ".join(f"{m}: {str(s)[:12]}" for m, s in shas.items()),
        )
    ]
    test_frames = total_count(manifest.by_split.get("test"))
    if test_frames is not None:
        checks.append(
            Check(
                "test frames scored = test frames in the manifest",
                int(test_frames) == len(predictions.ids),
                f"{len(predictions.ids)} scored, {int(test_frames)} in the manifest",
            )
        )
    test_records = total_count(manifest.records_by_split.get("test"))
    if test_records is not None:
        n = len(set(predictions.records))
        checks.append(
            Check(
                "test records scored = test records in the manifest",
                int(test_records) == n,
                f"{n} scored, {int(test_records)} in the manifest",
            )
        )
    split_total = total_count(manifest.by_split)
    if split_total is not None and manifest.by_split:
        used = manifest.total.used
        checks.append(
            Check(
                "frames used = frames in the train, val and test splits",
                int(split_total) == used,
                f"{used} used, {int(split_total)} in the splits",
            )
        )
    genomes = manifest.genomes_shared_between_splits
    checks.append(
        Check(
            "no genome in two splits (the test split is unseen genomes)",
            isinstance(genomes, Mapping) and all(int(v) == 0 for v in genomes.values()),
            (
                _shared(genomes)
                if isinstance(genomes, Mapping)
                else "the manifest predates genome keys: rebuild it"
            ),
        )
    )
    records = manifest.records_shared_between_splits
    if isinstance(records, Mapping):
        checks.append(
            Check(
                "no record in two splits (the test split is unseen records)",
                all(int(v) == 0 for v in records.values()),
                _shared(records) or "none",
            )
        )
    checks.append(
        Check(
            "both classes present at every level",
            all(len(set(lv.labels.tolist())) == 2 for lv in levels.values()),
            ", ".join(
                f"{n}: {int(lv.labels.sum())} viral / {int((lv.labels == 0).sum())} non-viral"
                for n, lv in levels.items()
            ),
        )
    )
    return checks


def genomes_outside_test(
    fragments: Sequence[FragmentRow], split_genomes: Mapping[str, Mapping[str, set[str]]]
) -> dict[str, int]:
    """Fragments' genomes that trained or validated a classifier (must be 0), per split.

    ``split_genomes``: the training manifest's genomes per split and dataset
    (:func:`..preprocess.heldout_fragments.split_genomes`)."""
    genomes = {(f.dataset, f.genome) for f in fragments}
    return {
        split: len(
            genomes & {(d, g) for d, keys in split_genomes.get(split, {}).items() for g in keys}
        )
        for split in ("train", "val")
    }


def heldout_check(
    fragments: Sequence[FragmentRow], split_genomes: Mapping[str, Mapping[str, set[str]]]
) -> Check:
    """The held-out fragments come only from test genomes (none trained or validated)."""
    outside = genomes_outside_test(fragments, split_genomes)
    return Check(
        "held-out fragments come only from test genomes",
        not any(outside.values()),
        ", ".join(f"genomes also in {k}: {v}" for k, v in outside.items()),
    )
