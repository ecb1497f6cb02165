"""Training manifest: which frames train, validate and test the classifier.

Every labelled dataset contributes its kept frames. Like the original's sampling, non-viral
frames are drawn to match the viral count, evenly across host groups (seeded); then each
group is split train/validation/test with the same seed. The manifest depends only on frame
ids, labels and the seed, never on the protein model, so ESM2 3B and FastESM2_650
classifiers are trained and evaluated on exactly the same records; its SHA-256 goes into
every checkpoint's metadata.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .atomic import atomic_open, write_text_atomic
from .errors import InputError
from .preprocess import read_shard_index

MANIFEST_COLUMNS = ["id", "dataset", "group", "label", "shard", "split"]
LABELS = {"viral": 1, "virus": 1, "1": 1, "nonviral": 0, "non-viral": 0, "host": 0, "0": 0}


def parse_label(value: str, where: str) -> int:
    try:
        return LABELS[str(value).strip().lower()]
    except KeyError:
        raise InputError(
            f"{where}: label must be viral or nonviral (or 1/0), got {value!r}"
        ) from None


@dataclass(frozen=True)
class LabelledFrames:
    dataset: str
    group: str
    label: int
    frames: Path  # identified nucleotide FASTA (one line per sequence)
    shard_index: Path


def _frame_ids(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return [line[1:].split(None, 1)[0] for line in handle if line.startswith(">")]


def _shard_of(ids: list[str], shard_index: Path) -> list[int]:
    shards = []
    for span in read_shard_index(shard_index):
        shards += [span.shard] * span.n_records
    if len(shards) != len(ids):
        raise InputError(
            f"{shard_index}: indexes {len(shards)} frames, the frame file has {len(ids)}"
        )
    return shards


def _even_quota(target: int, available: dict[str, int]) -> dict[str, int]:
    """Spread ``target`` over groups as evenly as their sizes allow."""
    quota = dict.fromkeys(available, 0)
    left = min(target, sum(available.values()))
    while left > 0:
        open_groups = [g for g in sorted(available) if quota[g] < available[g]]
        share = max(1, left // len(open_groups))
        for g in open_groups:
            take = min(share, available[g] - quota[g], left)
            quota[g] += take
            left -= take
            if left == 0:
                break
    return quota


@dataclass(frozen=True)
class DatasetFrames:
    """Frame ids of one labelled dataset with the shard each lies in."""

    dataset: str
    group: str
    label: int
    ids: list[str]
    shards: list[int]


def build_manifest(
    datasets: Sequence[LabelledFrames],
    output: str | os.PathLike[str],
    seed: int = 42,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    balance: bool = True,
) -> dict:
    """Write the manifest TSV of the datasets' frame files; return a summary (counts, SHA-256)."""
    frames = []
    for ds in datasets:
        ids = _frame_ids(ds.frames)
        frames.append(
            DatasetFrames(ds.dataset, ds.group, ds.label, ids, _shard_of(ids, ds.shard_index))
        )
    return manifest_from_frames(frames, output, seed, val_fraction, test_fraction, balance)


def manifest_from_frames(
    datasets: Sequence[DatasetFrames],
    output: str | os.PathLike[str],
    seed: int = 42,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    balance: bool = True,
) -> dict:
    """Balance, split and write the manifest (see the module docstring)."""
    rows_by_group: dict[tuple[int, str], list[tuple[str, str, int]]] = defaultdict(list)
    seen: dict[str, str] = {}
    for ds in datasets:
        for fid, shard in zip(ds.ids, ds.shards, strict=True):
            if fid in seen:
                raise InputError(
                    f"frame id {fid!r} occurs in datasets {seen[fid]} and {ds.dataset}"
                )
            seen[fid] = ds.dataset
            rows_by_group[(ds.label, ds.group)].append((fid, ds.dataset, shard))
    viral = sum(len(v) for (label, _), v in rows_by_group.items() if label == 1)
    host_sizes = {g: len(v) for (label, g), v in rows_by_group.items() if label == 0}
    if viral == 0 or not host_sizes:
        raise InputError("training needs frames from at least one viral and one non-viral dataset")
    rng = random.Random(seed)
    quota = _even_quota(viral, host_sizes) if balance else host_sizes
    selected: list[tuple[str, str, str, int, int, str]] = []
    for (label, group), rows in sorted(rows_by_group.items()):
        rows = sorted(rows)
        if label == 0 and quota[group] < len(rows):
            rows = sorted(rng.sample(rows, quota[group]))
        rng.shuffle(rows)
        n_test = round(len(rows) * test_fraction)
        n_val = round(len(rows) * val_fraction)
        for i, (fid, dataset, shard) in enumerate(rows):
            split = "test" if i < n_test else "val" if i < n_test + n_val else "train"
            selected.append((fid, dataset, group, label, shard, split))
    selected.sort()
    lines = ["\t".join(MANIFEST_COLUMNS)] + ["\t".join(map(str, r)) for r in selected]
    text = "\n".join(lines) + "\n"
    with atomic_open(output) as out:
        out.write(text)
    summary = {
        "records": len(selected),
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "seed": seed,
        "by_split": {s: sum(r[5] == s for r in selected) for s in ("train", "val", "test")},
        "by_group": {g: sum(r[2] == g for r in selected) for g in sorted({r[2] for r in selected})},
        "viral": sum(r[3] == 1 for r in selected),
        "nonviral": sum(r[3] == 0 for r in selected),
    }
    write_text_atomic(Path(output).with_suffix(".json"), json.dumps(summary, indent=2) + "\n")
    return summary


def read_manifest(path: str | os.PathLike[str]) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        if header != MANIFEST_COLUMNS:
            raise InputError(f"{path}: expected columns {MANIFEST_COLUMNS}, found {header}")
        rows = []
        for line in handle:
            fid, dataset, group, label, shard, split = line.rstrip("\n").split("\t")
            rows.append(
                {
                    "id": fid,
                    "dataset": dataset,
                    "group": group,
                    "label": int(label),
                    "shard": int(shard),
                    "split": split,
                }
            )
    return rows


def manifest_sha256(path: str | os.PathLike[str]) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
