"""Training a classifier from the manifest and the training shards' embeddings, then testing it."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from ..errors import InputError, ModelMismatchError
from ..io.atomic import atomic_open
from ..io.hashing import file_sha256
from ..preprocess.training_set import (
    DatasetFrames,
    ManifestRow,
    draw_manifest,
    parse_label,
    read_manifest,
    write_manifest,
)
from ..report.metrics import binary_metrics
from .features import PairedFeatures, read_features
from .mlp import CheckpointIdentity, TrainConfig, predict_scores, save_checkpoint, train_mlp

log = logging.getLogger(__name__)

# test_predictions.tsv: one row per (training seed, held-out frame)
TEST_COLUMNS = ("id", "dataset", "group", "record", "genome", "label", "seed", "score_viral")


def load_features(
    rows: Sequence[ManifestRow],
    dna_shards: Sequence[str | os.PathLike[str]],
    protein_shards: Sequence[str | os.PathLike[str]],
    dna_model: str,
    protein_model: str,
) -> tuple[torch.Tensor, CheckpointIdentity]:
    """Feature rows in manifest order, streamed into one preallocated matrix.

    The DNA files and the protein files each hold the manifest's frames in manifest order,
    cut at different rows (each model's jobs are sized by its own cost): they are joined row
    by row (``.features.PairedFeatures``), and the joined ids must be exactly the manifest's,
    in order: anything else means the embeddings come from another manifest. Memory: the
    matrix plus one block.
    """
    if not rows:
        raise InputError("the manifest is empty")
    done = 0
    with PairedFeatures(dna_shards, protein_shards, dna_model, protein_model) as frames:
        identity = CheckpointIdentity.from_features(frames.meta)
        x = torch.empty((len(rows), int(frames.meta["width"])), dtype=torch.float32)
        for ids, matrix in frames.blocks():
            expected = [r.id for r in rows[done : done + len(ids)]]
            if ids != expected:
                raise InputError(
                    f"{frames.where}: frames {done}-{done + len(ids)} of the embeddings are not "
                    f"the manifest's ({ids[:1]} vs {expected[:1]}): the embeddings come from "
                    "another manifest"
                )
            x[done : done + len(ids)] = matrix
            done += len(ids)
    if done != len(rows):
        raise InputError(
            f"the embeddings hold {done} frames, the manifest {len(rows)}: the embeddings come "
            "from another manifest"
        )
    return x, identity


def _block(rows: Sequence[ManifestRow], split: str, manifest: str | os.PathLike[str]) -> slice:
    """The contiguous rows of one split (the manifest is ordered by split): a view, no copy."""
    where = [i for i, r in enumerate(rows) if r.split == split]
    if not where:
        raise InputError(f"{manifest}: the {split} split is empty; add data or change fractions")
    if where != list(range(where[0], where[-1] + 1)):
        raise InputError(f"{manifest}: the {split} rows are not contiguous; rebuild the manifest")
    return slice(where[0], where[-1] + 1)


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
    (``auto``/``cuda``/``cpu``; a job given a GPU takes one from the node's slot pool).
    ``expect`` is the (chunk length, input width) that the output path names: a classifier
    whose features disagree with its own path would later be picked for the wrong inputs, so
    that is an error before anything is trained.
    """
    from ..runtime.gpu_slots import job_device

    rows = read_manifest(manifest)
    x, identity = load_features(rows, dna_shards, protein_shards, dna_model, protein_model)
    if expect and expect != (identity.chunk_length, identity.input_width):
        raise ModelMismatchError(
            f"{outputs.weights}: the path says {expect[0]} bp / {expect[1]}d, the features are "
            f"{identity.chunk_length} bp / {identity.input_width}d"
        )
    with job_device(device, gpu_requested) as where:
        return _train_matrix(manifest, rows, x, identity, outputs, cfg, where, n_seeds)


def _train_matrix(
    manifest: str | os.PathLike[str],
    rows: Sequence[ManifestRow],
    x: torch.Tensor,
    identity: CheckpointIdentity,
    outputs: TrainingOutputs,
    cfg: TrainConfig,
    device: str = "cpu",
    n_seeds: int = 1,
) -> dict:
    dna_model, protein_model = identity.dna_model, identity.protein_model
    y = torch.tensor([r.label for r in rows], dtype=torch.long)
    parts = {s: _block(rows, s, manifest) for s in ("train", "val", "test")}
    log.info(
        "training %s+%s on %d frames (%d val, %d test) on %s, input width %d",
        dna_model,
        protein_model,
        len(y[parts["train"]]),
        len(y[parts["val"]]),
        len(y[parts["test"]]),
        device,
        identity.input_width,
    )
    # One classifier per training seed on the same split: the spread between them is training
    # variance, which the comparison makes part of its interval. The first seed's model is the
    # checkpoint predict uses; every seed's test scores are written (column ``seed``).
    seeds = [cfg.seed + k for k in range(max(1, n_seeds))]
    test_rows = rows[parts["test"]]
    labels = y[parts["test"]]
    runs = []
    for seed in seeds:
        run_cfg = replace(cfg, seed=seed)
        model, history = train_mlp(
            x[parts["train"]],
            y[parts["train"]],
            x[parts["val"]],
            y[parts["val"]],
            run_cfg,
            log_path=outputs.log_tsv if seed == seeds[0] else None,
            device=device,
        )
        scores = predict_scores(model, x[parts["test"]])[:, 1]
        runs.append((seed, model, history, scores))
    _, model, history, scores = runs[0]
    metrics = binary_metrics(labels.numpy(), scores.numpy())
    if outputs.seed_weights and len(outputs.seed_weights) != len(runs):
        raise InputError(
            f"{len(outputs.seed_weights)} seed checkpoint paths for {len(runs)} training seeds"
        )
    with atomic_open(outputs.test_predictions) as out:
        out.write("\t".join(TEST_COLUMNS) + "\n")
        for seed, _, _, seed_scores in runs:
            for k, r in enumerate(test_rows):
                out.write(
                    f"{r.id}\t{r.dataset}\t{r.group}\t{r.record}\t{r.genome}\t{r.label}\t"
                    f"{seed}\t{seed_scores[k].item():.6f}\n"
                )
    common = {
        "manifest_sha256": file_sha256(manifest),
        "split_seed": cfg.seed,
        "split_by": "genome",
        "train_config": cfg.__dict__,
        "training_seeds": seeds,
        "n_train": len(y[parts["train"]]),
        "n_val": len(y[parts["val"]]),
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
            test_metrics=binary_metrics(labels.numpy(), seed_scores.numpy()),
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


def train_from_shard_table(
    table: str | os.PathLike[str],
    dna_model: str,
    protein_model: str,
    out_dir: str | os.PathLike[str],
    cfg: TrainConfig,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    balance: bool = True,
) -> dict:
    """Train from a TSV of embedding shard pairs and labels (columns: dna, protein, label[, group]).

    Each row's frames take the row's label; the manifest (split by record, balanced, seeded)
    is written to ``out_dir/training_manifest.tsv`` and the checkpoint records its hash.
    """
    import csv

    out_dir = Path(out_dir)
    with open(table, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows or not {"dna", "protein", "label"} <= set(rows[0]):
        raise InputError(f"{table}: needs columns dna, protein and label (and optionally group)")
    frames, matrices = [], []
    identity: CheckpointIdentity | None = None
    for i, row in enumerate(rows, start=1):
        label = parse_label(row["label"], f"{table}, row {i}")
        ids, matrix, meta = read_features(row["dna"], row["protein"], dna_model, protein_model)
        this = CheckpointIdentity.from_features(meta)
        if identity is not None and this != identity:
            raise ModelMismatchError(f"{table}, row {i}: features of {this}, row 1 has {identity}")
        identity = this
        group = row.get("group") or ("viral" if label else "nonviral")
        frames.append(DatasetFrames(f"row{i}", group, label, ids))
        matrices.append(matrix)
    manifest_rows, _ = draw_manifest(frames, cfg.seed, val_fraction, test_fraction, balance)
    manifest = out_dir / "training_manifest.tsv"
    write_manifest(manifest_rows, manifest)
    position = {fid: k for k, fid in enumerate(fid for ds in frames for fid in ds.ids)}
    x = torch.cat(matrices)[[position[r.id] for r in manifest_rows]]
    outputs = TrainingOutputs.in_directory(out_dir)
    return _train_matrix(manifest, manifest_rows, x, identity, outputs, cfg)
