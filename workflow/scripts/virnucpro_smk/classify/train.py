"""Training a classifier from the manifest and the training files' embeddings, then testing it.

No split is held in memory, nor moved whole to a GPU: the manifest is read as a stream and
checked against the embedding files' ids (no row is read for that), then every pass reads
rows from the files, in blocks (``batches.py``: the training split shuffled by block through a
seeded buffer, validation and test in order). Memory is the shuffle buffer and a few blocks
(``TrainConfig.block_frames`` and ``buffer_frames``; ``runtime.job_plan.training_mem_mb``),
plus one byte of label per frame and the test split's scores: 10M frames at 3,328 floats
train in about 1 GB, where holding them took 133 GB.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError, ModelMismatchError
from ..formats.manifest import MANIFEST, ManifestRow
from ..formats.test_predictions import TEST_PREDICTIONS, TestScore
from ..formats.training_table import EMBEDDING_TABLE
from ..io.hashing import file_sha256
from ..preprocess.genome_splits import (
    SPLITS,
    DatasetFrames,
    SplitSettings,
    draw_manifest,
    write_manifest,
)
from .batches import FrameSplit
from .features import FeatureBlocks, FeatureRows, PairedFeatures
from .metrics import binary_metrics
from .mlp import CheckpointIdentity, TrainConfig, save_checkpoint, score_split, train_splits

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingFrames:
    """A training set checked against its manifest, read from its files when trained on.

    ``splits`` maps train/val/test to their frames in the files; ``test_order[k]`` is the
    position in the test split of the manifest's k-th test row (None: the same order).
    """

    splits: dict[str, FrameSplit]
    identity: CheckpointIdentity
    rows: FeatureRows
    test_order: np.ndarray | None = None

    def close(self) -> None:
        self.rows.close()


def _labels(values: bytearray) -> torch.Tensor:
    return torch.from_numpy(np.frombuffer(bytes(values), dtype=np.int8).copy())


def open_manifest_frames(
    manifest: str | os.PathLike[str],
    dna_shards: Sequence[str | os.PathLike[str]],
    protein_shards: Sequence[str | os.PathLike[str]],
    dna_model: str,
    protein_model: str,
) -> TrainingFrames:
    """The workflow's training set: the manifest's frames, in manifest order, in the files.

    The DNA files and the protein files each hold the manifest's frames in manifest order,
    cut at different rows (each model's jobs are sized by its own cost): they are walked
    together by ids only (``PairedFeatures.id_blocks``: pairing, identities, counts), and the
    ids must be exactly the manifest's, in order: anything else means the embeddings come
    from another manifest. Each split is one contiguous run (the manifest is ordered by
    split). Memory: one file's ids per side and a byte per frame.
    """
    rows = MANIFEST.read(manifest)
    spans: dict[str, list[int]] = {}
    labels: dict[str, bytearray] = {}
    current = None
    done = 0
    with PairedFeatures(dna_shards, protein_shards, dna_model, protein_model) as frames:
        identity = CheckpointIdentity.from_features(frames.meta)
        for ids in frames.id_blocks():
            expected = list(islice(rows, len(ids)))
            if [r.id for r in expected] != ids:
                if not done and not expected:
                    raise InputError(f"{manifest}: the manifest is empty")
                raise InputError(
                    f"{frames.where}: frames {done}-{done + len(ids)} of the embeddings are not "
                    f"the manifest's ({ids[:1]} vs {[r.id for r in expected[:1]]}): the "
                    "embeddings come from another manifest"
                )
            for k, r in enumerate(expected):
                if r.split != current:
                    if r.split in spans:
                        raise InputError(
                            f"{manifest}: the {r.split} rows are not contiguous; rebuild the "
                            "manifest"
                        )
                    current = r.split
                    spans[current] = [done + k, done + k]
                    labels[current] = bytearray()
                spans[current][1] = done + k + 1
                labels[current].append(r.label)
            done += len(ids)
        left = sum(1 for _ in rows)
        if left or not done:
            if not done and not left:
                raise InputError(f"{manifest}: the manifest is empty")
            raise InputError(
                f"the embeddings hold {done} frames, the manifest {done + left}: the embeddings "
                "come from another manifest"
            )
        source = frames.row_source()
    splits = {}
    for name in SPLITS:
        if name not in spans:
            source.close()
            raise InputError(f"{manifest}: the {name} split is empty; add data or change fractions")
        start, end = spans[name]
        splits[name] = FrameSplit(source, ((start, end),), _labels(labels[name]))
    return TrainingFrames(splits, identity, source)


@dataclass(frozen=True)
class TrainingOutputs:
    """The files a training run writes, as the rule names them.

    The checkpoint's ``metadata.json`` goes beside ``weights`` (:func:`.mlp.metadata_path`).
    """

    weights: str | os.PathLike[str]
    log_tsv: str | os.PathLike[str]
    test_predictions: str | os.PathLike[str]
    # every training seed's checkpoint, in seed order (the comparison scores its held-out
    # fragments with each); empty: only ``weights`` (the first seed's) is written
    seed_weights: Sequence[str | os.PathLike[str]] = ()

    @classmethod
    def in_directory(cls, directory: str | os.PathLike[str]) -> TrainingOutputs:
        """The workflow's names inside one classifier directory (the CLI writes there)."""
        directory = Path(directory)
        return cls(
            directory / "model.safetensors",
            directory / "training_log.tsv",
            directory / "test_predictions.tsv",
        )


def train_from_manifest(
    manifest: str | os.PathLike[str],
    dna_shards: Sequence[str | os.PathLike[str]],
    protein_shards: Sequence[str | os.PathLike[str]],
    dna_model: str,
    protein_model: str,
    outputs: TrainingOutputs,
    cfg: TrainConfig,
    device: str = "cpu",
    gpu_requested: int | None = None,
    expect: tuple[int, int] | None = None,
    n_seeds: int = 1,
) -> dict:
    """Train, test on the held-out records and write checkpoint, log and test predictions.

    ``n_seeds`` classifiers are trained (seeds ``cfg.seed``, ``cfg.seed + 1``, ...) on the same
    split; the first is the checkpoint, all are tested. ``device`` follows the workflow's rule
    (``auto``/``cuda``/``cpu``; a job given a GPU takes one from the node's slot pool, once the
    files are checked). ``expect`` is the (chunk length, input width) that the output path
    names: a classifier whose features disagree with its own path would later be picked for
    the wrong inputs, so that is an error before anything is trained.
    """
    from ..runtime.gpu_slots import job_device

    data = open_manifest_frames(manifest, dna_shards, protein_shards, dna_model, protein_model)
    try:
        identity = data.identity
        if expect and expect != (identity.chunk_length, identity.input_width):
            raise ModelMismatchError(
                f"{outputs.weights}: the path says {expect[0]} bp / {expect[1]}d, the features "
                f"are {identity.chunk_length} bp / {identity.input_width}d"
            )
        with job_device(device, gpu_requested) as where:
            return _train_and_test(manifest, data, outputs, cfg, where, n_seeds)
    finally:
        data.close()


def _test_rows(manifest: str | os.PathLike[str]) -> Iterator[ManifestRow]:
    return (r for r in MANIFEST.read(manifest) if r.split == "test")


def _train_and_test(
    manifest: str | os.PathLike[str],
    data: TrainingFrames,
    outputs: TrainingOutputs,
    cfg: TrainConfig,
    device: str = "cpu",
    n_seeds: int = 1,
) -> dict:
    identity, splits = data.identity, data.splits
    log.info(
        "training %s+%s on %d frames (%d val, %d test) on %s, input width %d, read from the "
        "files in blocks of %d frames through a %d-frame shuffle buffer",
        identity.dna_model,
        identity.protein_model,
        splits["train"].frames,
        splits["val"].frames,
        splits["test"].frames,
        device,
        identity.input_width,
        cfg.block_frames,
        cfg.buffer_frames,
    )
    # One classifier per training seed on the same split: the spread between them is training
    # variance, which the comparison makes part of its interval. The first seed's model is the
    # checkpoint predict uses; every seed's test scores are written (column ``seed``).
    seeds = [cfg.seed + k for k in range(max(1, n_seeds))]
    labels = splits["test"].labels.long().numpy()
    runs = []
    for seed in seeds:
        run_cfg = replace(cfg, seed=seed)
        model, history = train_splits(
            splits["train"],
            splits["val"],
            run_cfg,
            log_path=outputs.log_tsv if seed == seeds[0] else None,
            device=device,
        )
        scores = score_split(model, splits["test"], device, cfg.block_frames).numpy()
        runs.append((seed, model, history, scores))
    _, model, history, scores = runs[0]
    metrics = binary_metrics(labels, scores)
    if outputs.seed_weights and len(outputs.seed_weights) != len(runs):
        raise InputError(
            f"{len(outputs.seed_weights)} seed checkpoint paths for {len(runs)} training seeds"
        )
    order = data.test_order
    TEST_PREDICTIONS.write(
        outputs.test_predictions,
        (  # the manifest streamed again for each seed
            TestScore(
                id=r.id,
                dataset=r.dataset,
                group=r.group,
                record=r.record,
                genome=r.genome,
                label=r.label,
                seed=seed,
                score_viral=float(seed_scores[k if order is None else order[k]]),
            )
            for seed, _, _, seed_scores in runs
            for k, r in enumerate(_test_rows(manifest))
        ),
    )
    common = {
        "manifest_sha256": file_sha256(manifest),
        "split_seed": cfg.seed,
        "split_by": "genome",
        "train_config": cfg.__dict__,
        "training_seeds": seeds,
        "n_train": splits["train"].frames,
        "n_val": splits["val"].frames,
        "n_test": len(labels),
    }
    for path, (seed, seed_model, seed_history, seed_scores) in zip(
        outputs.seed_weights, runs, strict=False
    ):
        save_checkpoint(
            seed_model,
            path,
            identity,
            **common,
            seed=seed,
            epochs_run=len(seed_history),
            best_val_loss=min(h["val_loss"] for h in seed_history),
            test_metrics=binary_metrics(labels, seed_scores),
        )
    save_checkpoint(
        model,
        outputs.weights,
        identity,
        **common,
        epochs_run=len(history),
        best_val_loss=min(h["val_loss"] for h in history),
        test_metrics=metrics,
    )
    log.info("test metrics: %s", metrics)
    return metrics


def _runs(positions: np.ndarray) -> tuple[tuple[int, int], ...]:
    """Sorted frame numbers as runs of consecutive numbers ``(start, end)``."""
    if not len(positions):
        return ()
    breaks = np.flatnonzero(np.diff(positions) != 1) + 1
    starts = np.concatenate(([0], breaks))
    ends = np.concatenate((breaks, [len(positions)]))
    return tuple(
        (int(positions[a]), int(positions[b - 1]) + 1) for a, b in zip(starts, ends, strict=True)
    )


def open_shard_table(
    table: str | os.PathLike[str],
    dna_model: str,
    protein_model: str,
    manifest: str | os.PathLike[str],
    split: SplitSettings,
) -> TrainingFrames:
    """The training set of a TSV of embedding file pairs and labels, and its manifest.

    Each row's files are checked as a pair (``FeatureBlocks``: ids, identity; no row read);
    the manifest is drawn from the ids (split by genome, balanced, seeded) and written to
    ``manifest``; each split is then the sorted file positions of its frames (runs of
    consecutive frames: a record's frames lie together in its file), with ``test_order`` giving
    the manifest's order of the test frames back. The ids and the drawn rows are dropped
    before training.
    """
    rows = EMBEDDING_TABLE.read_all(table)
    if not rows:
        raise InputError(f"{table}: no rows; needs columns dna, protein and label (and group)")
    frames: list[DatasetFrames] = []
    dna_files, protein_files, file_labels = [], [], []
    identity: CheckpointIdentity | None = None
    meta: dict = {}
    for i, row in enumerate(rows, start=1):
        label = row.label
        with FeatureBlocks(row.dna, row.protein, dna_model, protein_model) as shard:
            ids, meta = shard.ids, shard.meta
        this = CheckpointIdentity.from_features(meta)
        if identity is not None and this != identity:
            raise ModelMismatchError(f"{table}, row {i}: features of {this}, row 1 has {identity}")
        identity = this
        group = row.group or ("viral" if label else "nonviral")
        frames.append(DatasetFrames(f"row{i}", group, label, ids))
        dna_files.append((Path(row.dna), len(ids)))
        protein_files.append((Path(row.protein), len(ids)))
        file_labels.append(np.full(len(ids), label, dtype=np.int8))
    assert identity is not None
    manifest_rows, _ = draw_manifest(frames, split)
    write_manifest(manifest_rows, manifest)
    position = {fid: k for k, fid in enumerate(fid for ds in frames for fid in ds.ids)}
    del frames
    by_position = np.concatenate(file_labels)
    source = FeatureRows(dna_files, protein_files, meta)
    splits, test_order = {}, None
    for name in SPLITS:
        where = np.fromiter(
            (position[r.id] for r in manifest_rows if r.split == name), dtype=np.int64
        )
        ordered = np.sort(where)
        splits[name] = FrameSplit(source, _runs(ordered), torch.from_numpy(by_position[ordered]))
        if name == "test":
            test_order = np.searchsorted(ordered, where)
    return TrainingFrames(splits, identity, source, test_order)


def train_from_shard_table(
    table: str | os.PathLike[str],
    dna_model: str,
    protein_model: str,
    out_dir: str | os.PathLike[str],
    cfg: TrainConfig,
    split: SplitSettings,
) -> dict:
    """Train from a TSV of embedding shard pairs and labels (columns: dna, protein, label[, group]).

    Each row's frames take the row's label; the manifest (split by genome, balanced, seeded)
    is written to ``out_dir/training_manifest.tsv`` and the checkpoint records its hash. The
    manifest is drawn by ``split`` (seed, fractions, balance), the classifier trained by ``cfg``.
    The frames are read from the files as training needs them (memory: the shuffle buffer).
    """
    out_dir = Path(out_dir)
    manifest = out_dir / "training_manifest.tsv"
    data = open_shard_table(table, dna_model, protein_model, manifest, split)
    try:
        return _train_and_test(manifest, data, TrainingOutputs.in_directory(out_dir), cfg)
    finally:
        data.close()
