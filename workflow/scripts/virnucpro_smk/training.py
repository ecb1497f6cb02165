"""Training a classifier from a manifest and merged feature shards, then testing it."""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

from .atomic import atomic_open
from .classifier import CheckpointIdentity, TrainConfig, predict_scores, save_checkpoint, train_mlp
from .errors import InputError, ModelMismatchError
from .merge import read_merged
from .metrics import binary_metrics
from .training_set import manifest_sha256, read_manifest

log = logging.getLogger(__name__)


def load_features(
    manifest_rows: list[dict],
    shards: Mapping[str, Sequence[str | os.PathLike[str]]],
    dna_model: str,
    protein_model: str,
) -> tuple[torch.Tensor, CheckpointIdentity]:
    """Feature rows in manifest order; ``shards`` maps dataset -> merged shard paths."""
    needed: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i, row in enumerate(manifest_rows):
        needed[(row["dataset"], row["shard"])].append(i)
    identity: CheckpointIdentity | None = None
    x: torch.Tensor | None = None
    for (dataset, shard), rows in sorted(needed.items()):
        if dataset not in shards or shard >= len(shards[dataset]):
            raise InputError(f"manifest refers to {dataset} shard {shard}, which is not an input")
        path = shards[dataset][shard]
        emb = read_merged(path, dna_model, protein_model)
        this = CheckpointIdentity.from_features(emb.meta)
        if identity is None:
            identity = this
            x = torch.empty((len(manifest_rows), emb.width), dtype=torch.float32)
        elif this != identity:
            raise ModelMismatchError(f"{path}: features of {this}, other shards are {identity}")
        position = {fid: k for k, fid in enumerate(emb.ids)}
        missing = [manifest_rows[i]["id"] for i in rows if manifest_rows[i]["id"] not in position]
        if missing:
            raise InputError(f"{path}: lacks manifest ids {missing[:10]}")
        x[rows] = emb.matrix[[position[manifest_rows[i]["id"]] for i in rows]]
    if identity is None or x is None:
        raise InputError("the manifest is empty")
    return x, identity


def train_from_manifest(
    manifest: str | os.PathLike[str],
    shards: Mapping[str, Sequence[str | os.PathLike[str]]],
    dna_model: str,
    protein_model: str,
    out_dir: str | os.PathLike[str],
    cfg: TrainConfig,
) -> dict:
    """Train, test on the held-out split and write checkpoint, log and test predictions."""
    out_dir = Path(out_dir)
    rows = read_manifest(manifest)
    x, identity = load_features(rows, shards, dna_model, protein_model)
    y = torch.tensor([r["label"] for r in rows], dtype=torch.long)
    parts = {
        s: torch.tensor([i for i, r in enumerate(rows) if r["split"] == s], dtype=torch.long)
        for s in ("train", "val", "test")
    }
    for name, idx in parts.items():
        if len(idx) == 0:
            raise InputError(f"{manifest}: the {name} split is empty; add data or change fractions")
    log.info(
        "training %s+%s on %d frames (%d val, %d test), input width %d",
        dna_model,
        protein_model,
        len(parts["train"]),
        len(parts["val"]),
        len(parts["test"]),
        identity.input_width,
    )
    model, history = train_mlp(
        x[parts["train"]],
        y[parts["train"]],
        x[parts["val"]],
        y[parts["val"]],
        cfg,
        log_path=out_dir / "training_log.tsv",
    )
    scores = predict_scores(model, x[parts["test"]])[:, 1]
    labels = y[parts["test"]]
    metrics = binary_metrics(labels.numpy(), scores.numpy())
    with atomic_open(out_dir / "test_predictions.tsv") as out:
        out.write("id\tdataset\tgroup\tlabel\tscore_viral\n")
        for k, i in enumerate(parts["test"].tolist()):
            r = rows[i]
            out.write(
                f"{r['id']}\t{r['dataset']}\t{r['group']}\t{r['label']}\t{scores[k].item():.6f}\n"
            )
    save_checkpoint(
        model,
        out_dir,
        identity,
        manifest_sha256=manifest_sha256(manifest),
        split_seed=cfg.seed,
        train_config=cfg.__dict__,
        epochs_run=len(history),
        best_val_loss=min(h["val_loss"] for h in history),
        test_metrics=metrics,
        n_train=len(parts["train"]),
        n_val=len(parts["val"]),
        n_test=len(parts["test"]),
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
    """Train from a TSV of merged feature shards and labels (columns: path, label[, group]).

    Each row's frames take the row's label; the manifest (balance and split, seeded) is
    written to ``out_dir/training_manifest.tsv`` and the checkpoint records its hash.
    """
    import csv

    from .artifacts import read_metadata
    from .training_set import DatasetFrames, manifest_from_frames, parse_label

    out_dir = Path(out_dir)
    with open(table, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows or not {"path", "label"} <= set(rows[0]):
        raise InputError(f"{table}: needs columns path and label (and optionally group)")
    frames, shards = [], {}
    for i, row in enumerate(rows, start=1):
        where = f"{table}, row {i}"
        label = parse_label(row["label"], where)
        dataset = f"row{i}"
        ids = list(read_metadata(row["path"]).get("ids", []))
        group = row.get("group") or ("viral" if label else "nonviral")
        frames.append(DatasetFrames(dataset, group, label, ids, [0] * len(ids)))
        shards[dataset] = [row["path"]]
    manifest = out_dir / "training_manifest.tsv"
    manifest_from_frames(frames, manifest, cfg.seed, val_fraction, test_fraction, balance)
    return train_from_manifest(manifest, shards, dna_model, protein_model, out_dir, cfg)
