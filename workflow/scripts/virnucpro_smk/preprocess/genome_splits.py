"""Training set: which frames train, validate and test the classifier, drawn before embedding.

Every labelled dataset contributes its kept frames. The split is drawn by *cluster*, never
by frame or record: a cluster (:mod:`.genome_clusters`) holds whole genomes (:mod:`.genomes`:
the records of one assembly, such as a chromosome and its plasmids), the unlinked records of
one taxon (the segments of a segmented virus) and the genomes of one species (ANI >= 95 %
over >= 85 % of the shorter genome). Frames of one chunk, of overlapping chunks, of one
genome and of one species are strongly correlated, and letting them straddle train and test
overstates accuracy. Without a cluster map every genome is its own cluster. Then, like the
original's sampling, non-viral frames are drawn to match the viral count evenly across host
groups (seeded), within the cluster-level splits.

The selection is made from frame ids before any embedding, and only the selected frames are
written into the training shards that the GPU jobs embed: with RefSeq host groups that is a
few GB of GPU work instead of hundreds. The manifest depends only on frame ids, labels and the
seed, never on the protein model, so ESM2 3B and FastESM2_650 classifiers are trained and
evaluated on exactly the same records; its SHA-256 goes into every checkpoint's metadata.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..formats.frame_index import FRAME_INDEX
from ..formats.manifest import MANIFEST, ManifestRow
from ..io.atomic import atomic_open, write_text_atomic
from ..io.fasta import record_offsets
from ..io.hashing import file_sha256
from .chunking import record_of
from .genome_clusters import read_cluster_map
from .genomes import genome_key, read_genome_map
from .shards import index_rows, index_shards, shard_bounds

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SplitSettings:
    """How the manifest is drawn: ``train.seed`` (the draw), ``train.val_fraction`` and
    ``train.test_fraction`` (shares of the frames, by cluster), ``train.balance`` (non-viral
    frames drawn to match the viral count). No defaults here: the config schema states them."""

    seed: int
    val_fraction: float
    test_fraction: float
    balance: bool

    @classmethod
    def from_config(cls, train: Mapping[str, Any]) -> SplitSettings:
        """From the validated ``train:`` section (or any mapping with its four keys)."""
        return cls(
            int(train["seed"]),
            float(train["val_fraction"]),
            float(train["test_fraction"]),
            bool(train["balance"]),
        )


@dataclass(frozen=True)
class LabelledFrames:
    """The identified-frame files of one labelled dataset (one line per sequence)."""

    dataset: str
    group: str
    label: int
    nucleotide: Path
    protein: Path
    genomes: Path | None = None  # record -> genome map (None: each record is its own genome)


@dataclass(frozen=True)
class DatasetFrames:
    """Frame ids of one labelled dataset, in file order, and its records' genome keys."""

    dataset: str
    group: str
    label: int
    ids: list[str]
    genome_of: Mapping[str, str] = field(default_factory=dict)  # absent: record = genome
    cluster_of: Mapping[str, str] = field(default_factory=dict)  # genome -> cluster; absent: itself

    def genome(self, fid: str) -> str:
        return genome_key(record_of(fid), self.genome_of)

    def cluster(self, fid: str) -> str:
        genome = self.genome(fid)
        return self.cluster_of.get(genome, genome)


def frame_ids(path: str | os.PathLike[str]) -> list[str]:
    """Ids of a kept-frame FASTA file written by preprocessing, in file order."""
    return [rid for _, rid in record_offsets(path)]


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


def split_records(
    frames_per_record: dict[str, int],
    rng: random.Random,
    val_fraction: float,
    test_fraction: float,
) -> dict[str, str]:
    """Assign whole units (genomes) to test, validation and train, aiming at the frame fractions.

    Units are shuffled (seeded) and taken in turn for test until it holds its share of the
    frames, then for validation; the rest train. The first unit always trains, so a group
    with a single genome still teaches the model; with two, the second tests.
    """
    records = sorted(frames_per_record)
    rng.shuffle(records)
    total = sum(frames_per_record.values())
    targets = {"test": test_fraction * total, "val": val_fraction * total}
    filled = {"test": 0, "val": 0}
    split: dict[str, str] = {records[0]: "train"} if records else {}
    for record in records[1:]:
        for name in ("test", "val"):
            if filled[name] < targets[name]:
                split[record] = name
                filled[name] += frames_per_record[record]
                break
        else:
            split[record] = "train"
    return split


def draw_manifest(
    datasets: Sequence[DatasetFrames], settings: SplitSettings
) -> tuple[list[ManifestRow], dict]:
    """Split by cluster (a genome when no cluster holds it), balance non-viral against viral
    frames; rows in dataset/file order."""
    seed, val_fraction, test_fraction = settings.seed, settings.val_fraction, settings.test_fraction
    seen: dict[str, str] = {}
    owner: dict[str, str] = {}
    genome_group: dict[str, tuple[int, str]] = {}
    for ds in datasets:
        for fid in ds.ids:
            if fid in seen:
                raise InputError(
                    f"frame id {fid!r} occurs in datasets {seen[fid]} and {ds.dataset}"
                )
            seen[fid] = ds.dataset
            record = record_of(fid)
            if owner.setdefault(record, ds.dataset) != ds.dataset:
                raise InputError(
                    f"sequence {record!r} occurs in datasets {owner[record]} and {ds.dataset}: "
                    "a record must belong to one dataset"
                )
    for ds in datasets:
        for unit in {u for fid in ds.ids for u in (ds.genome(fid), ds.cluster(fid))}:
            if genome_group.setdefault(unit, (ds.label, ds.group)) != (ds.label, ds.group):
                raise InputError(
                    f"genome or cluster {unit!r} has records in two groups or labels "
                    f"({genome_group[unit]} and {(ds.label, ds.group)}): it must be "
                    "split as one"
                )
    rng = random.Random(seed)
    by_group: dict[tuple[int, str], list[DatasetFrames]] = defaultdict(list)
    for ds in datasets:
        by_group[(ds.label, ds.group)].append(ds)
    split_of: dict[str, str] = {}
    for key in sorted(by_group):
        counts = Counter(ds.cluster(fid) for ds in by_group[key] for fid in ds.ids)
        split_of.update(split_records(dict(counts), rng, val_fraction, test_fraction))

    available = {g: sum(len(d.ids) for d in dss) for (_, g), dss in by_group.items()}
    viral = sum(len(d.ids) for (label, _), dss in by_group.items() if label == 1 for d in dss)
    host_sizes = {g: available[g] for (label, g) in by_group if label == 0}
    if viral == 0 or not host_sizes:
        raise InputError("training needs frames from at least one viral and one non-viral dataset")
    quota = _even_quota(viral, host_sizes) if settings.balance else host_sizes
    keep: set[str] = set()
    for (label, group), dss in sorted(by_group.items()):
        ids = sorted(fid for ds in dss for fid in ds.ids)
        if label == 0 and quota[group] < len(ids):
            ids = rng.sample(ids, quota[group])
        keep.update(ids)
    # Ordered by split, then dataset and file position: each split is one contiguous block of
    # the training shards, so training reads it as a view, never as an extra copy.
    rows = [
        ManifestRow(fid, ds.dataset, ds.group, record_of(fid), ds.genome(fid), ds.label, split, 0)
        for split in SPLITS
        for ds in datasets
        for fid in ds.ids
        if fid in keep and split_of[ds.cluster(fid)] == split
    ]
    for split in SPLITS:
        labels = {r.label for r in rows if r.split == split}
        if labels != {0, 1}:
            raise InputError(
                f"the {split} split has no {'viral' if 1 not in labels else 'non-viral'} frames: "
                "splits are drawn by genome, so each label needs at least three input "
                "genomes (add genomes, or change train.val_fraction/test_fraction)"
            )
    records = {s: {r.record for r in rows if r.split == s} for s in SPLITS}
    genomes = {s: {r.genome for r in rows if r.split == s} for s in SPLITS}
    cluster_of = {ds.genome(fid): ds.cluster(fid) for ds in datasets for fid in ds.ids}
    clusters = {s: {cluster_of[r.genome] for r in rows if r.split == s} for s in SPLITS}
    genomes_of_cluster: dict[str, set[str]] = defaultdict(set)
    for genome, cluster in cluster_of.items():
        genomes_of_cluster[cluster].add(genome)
    records_of_genome: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        records_of_genome[r.genome].add(r.record)
    pairs = (("train", "val"), ("train", "test"), ("val", "test"))
    summary = {
        "frames": len(rows),
        "seed": seed,
        "split_by": "cluster (a genome, a taxon's unlinked records, a species at 95 % ANI)",
        "available_by_group": dict(sorted(available.items())),
        "used_by_group": dict(sorted(Counter(r.group for r in rows).items())),
        "by_split": {s: sum(r.split == s for r in rows) for s in SPLITS},
        "records_by_split": {s: len(records[s]) for s in SPLITS},
        "records_shared_between_splits": {
            f"{a}-{b}": len(records[a] & records[b]) for a, b in pairs
        },
        "genomes_by_split": {s: len(genomes[s]) for s in SPLITS},
        "multi_record_genomes": sum(len(rs) > 1 for rs in records_of_genome.values()),
        "genomes_shared_between_splits": {
            f"{a}-{b}": len(genomes[a] & genomes[b]) for a, b in pairs
        },
        "clusters_by_split": {s: len(clusters[s]) for s in SPLITS},
        "multi_genome_clusters": sum(len(g) > 1 for g in genomes_of_cluster.values()),
        "clusters_shared_between_splits": {
            f"{a}-{b}": len(clusters[a] & clusters[b]) for a, b in pairs
        },
        "viral": sum(r.label == 1 for r in rows),
        "nonviral": sum(r.label == 0 for r in rows),
    }
    return rows, summary


def _selected_records(path: Path, wanted: set[str]) -> Iterator[tuple[str, bytes]]:
    """(id, raw two-line record) of the wanted ids of a one-line-per-sequence FASTA file."""
    with open(path, "rb") as handle:
        for header in handle:
            body = handle.readline()
            fid = header[1:].split(None, 1)[0].decode()
            if fid in wanted:
                yield fid, header + body


def write_training_frames(
    rows: Sequence[ManifestRow],
    datasets: Sequence[LabelledFrames],
    nucleotide_out: str | os.PathLike[str],
    protein_out: str | os.PathLike[str],
) -> None:
    """Copy the selected frames, in manifest order, into the training frame files.

    Streamed: one pass over each dataset's files per split, holding only ids in memory.
    """
    wanted_by: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in rows:
        wanted_by[(r.split, r.dataset)].add(r.id)
    order = iter(r.id for r in rows)
    with atomic_open(nucleotide_out, "wb") as nuc, atomic_open(protein_out, "wb") as prot:
        for split, ds in ((split, ds) for split in SPLITS for ds in datasets):
            wanted = wanted_by.get((split, ds.dataset), set())
            if not wanted:
                continue
            pairs = zip(
                _selected_records(ds.nucleotide, wanted),
                _selected_records(ds.protein, wanted),
                strict=True,
            )
            for (nid, nrec), (pid, prec) in pairs:
                if nid != pid or nid != next(order):
                    raise InputError(f"{ds.nucleotide} and {ds.protein} are out of step at {nid}")
                nuc.write(nrec)
                prot.write(prec)


def write_manifest(rows: Sequence[ManifestRow], output: str | os.PathLike[str]) -> str:
    """Write the manifest TSV; return its SHA-256."""
    MANIFEST.write(output, rows)
    return file_sha256(output)


def build_training_set(
    datasets: Sequence[LabelledFrames],
    *,
    manifest: str | os.PathLike[str],
    summary: str | os.PathLike[str],
    nucleotide: str | os.PathLike[str],
    protein: str | os.PathLike[str],
    frame_index: str | os.PathLike[str],
    n_shards: int | Callable[[int], int] | None = None,
    clusters: str | os.PathLike[str] | None = None,
    settings: SplitSettings,
) -> dict:
    """Draw the manifest and write the selected frames and their frame index.

    The index has ``n_shards`` rows (a function of the number of selected frames, or None:
    ``shards.index_rows``, what the workflow uses: then neither the index nor the manifest
    depends on the models or the GPUs; each model's jobs are runs of index rows sized in the
    workflow, see ``runtime.job_plan``). The manifest's ``shard`` column is the index row.
    ``clusters``: the genome cluster map (``genome_clusters.tsv``) the split keeps together
    (None: every genome is its own cluster). ``settings``: how the manifest is drawn.
    """
    cluster_of = read_cluster_map(clusters) if clusters else {}
    frames = [
        DatasetFrames(
            d.dataset,
            d.group,
            d.label,
            frame_ids(d.nucleotide),
            read_genome_map(d.genomes) if d.genomes else {},
            cluster_of,
        )
        for d in datasets
    ]
    rows, info = draw_manifest(frames, settings)
    if n_shards is None:
        n_shards = index_rows(len(rows))
    elif callable(n_shards):
        n_shards = n_shards(len(rows))
    write_training_frames(rows, datasets, nucleotide, protein)
    FRAME_INDEX.write(frame_index, index_shards(nucleotide, protein, len(rows), n_shards))
    rows = [  # the same contiguous ranges index_shards cut
        replace(r, shard=shard)
        for shard, (lo, hi) in enumerate(shard_bounds(len(rows), n_shards))
        for r in rows[lo:hi]
    ]
    info["sha256"] = write_manifest(rows, manifest)
    info["index_rows"] = n_shards
    write_text_atomic(summary, json.dumps(info, indent=2) + "\n")
    return info
