"""The VirNucPro MLP: training recipe, checkpoints with model identity, and the guard.

Architecture and optimiser are the original's: Linear(in, 512) -> BatchNorm1d -> ReLU
-> Dropout(0.5) -> Linear(512, 2), Xavier-uniform weights; SGD (lr 2e-4, momentum 0.9),
StepLR(10, 0.85), batch 32, cross-entropy, patience 5. Early stopping differs on purpose: the
original stopped on its *test* set's loss and kept a live reference to the weights (so the
last epoch, not the best, survived); here it stops on a separate validation split and keeps
a copy of the best weights, and the test split is used for nothing but the final metrics.
Module attribute names match the original so its checkpoints convert one to one.

A checkpoint is ``model.safetensors`` plus ``metadata.json`` naming the DNA and protein
models, their widths and revisions, the input width and chunk length. Loading it against
features from other models, widths or chunk lengths is refused.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from .. import __version__
from ..errors import ModelMismatchError
from ..formats.training_log import TRAINING_LOG, TrainingEpoch
from ..io.atomic import atomic_path, write_text_atomic
from ..runtime.environment import package_versions
from ..runtime.progress import Progress
from .batches import FrameSplit, ordered_chunks, shuffled_batches
from .recipe import TrainConfig

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "virnucpro-smk/classifier/v1"


class MLPClassifier(nn.Module):
    """The original VirNucPro's MLP. ``hidden_dim`` and ``dropout`` are the training recipe's
    (``train.recipe.hidden``/``dropout``); a model built to score has the width of its weights
    and no dropout (eval mode drops nothing either way)."""

    def __init__(self, input_dim: int, hidden_dim: int, num_class: int = 2, dropout: float = 0.0):
        super().__init__()
        self.hidden_layer = nn.Linear(input_dim, hidden_dim)
        self.bn1 = nn.BatchNorm1d(hidden_dim)
        self.output_layer = nn.Linear(hidden_dim, num_class)
        self.dropout = nn.Dropout(dropout)
        nn.init.xavier_uniform_(self.hidden_layer.weight)
        nn.init.xavier_uniform_(self.output_layer.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output_layer(self.dropout(F.relu(self.bn1(self.hidden_layer(x)))))


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    return torch.Generator().manual_seed(seed)


def evaluate_split(
    model: nn.Module,
    split: FrameSplit,
    device: str | torch.device = "cpu",
    frames: int = 1024,
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy on a split read in order, one host read at the end.

    The loss is summed on the device in float64 (as the in-memory recipe summed ``.item()``
    values in Python floats); the accuracy takes the argmax of the softmax, as before.
    """
    model.eval()
    total = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    with torch.no_grad():
        for x, y in ordered_chunks(split, frames, device):
            logits = model(x)
            total += F.cross_entropy(logits, y, reduction="sum").double()
            correct += (F.softmax(logits, dim=1).argmax(1) == y).sum()
    loss_sum, right = torch.stack([total, correct.double()]).tolist()
    n = split.frames
    # the accuracy as a float32 mean, as the in-memory recipe logged it
    return loss_sum / max(n, 1), (float(np.float32(right) / np.float32(n)) if n else float("nan"))


def predict_scores(model: nn.Module, x: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """Softmax scores [N, 2]: column 0 non-viral ("others"), column 1 viral."""
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            out.append(F.softmax(model(x[start : start + batch_size]), dim=1))
    return torch.cat(out) if out else torch.zeros((0, 2))


def score_split(
    model: nn.Module,
    split: FrameSplit,
    device: str | torch.device = "cpu",
    frames: int = 4096,
) -> torch.Tensor:
    """Viral scores of a split's frames in order (on the CPU), read ``frames`` at a time."""
    out = [predict_scores(model, x, frames)[:, 1] for x, _ in ordered_chunks(split, frames, device)]
    return torch.cat(out).cpu() if out else torch.zeros((0,))


def train_splits(
    train: FrameSplit,
    val: FrameSplit,
    cfg: TrainConfig,
    log_path: str | os.PathLike[str] | None = None,
    device: str = "cpu",
) -> tuple[MLPClassifier, list[dict[str, float]]]:
    """Train with the original recipe; returns the best-validation model (on the CPU) and the
    epoch log.

    The splits are read from their source (the embedding files) a block at a time
    (``batches.py``), so memory is a buffer, not the training set. The host never waits for
    the device inside an epoch: the losses are summed on the device and read once, with the
    validation figures, when the epoch ends; batch indices are permuted on the CPU once per
    buffer and moved with it.
    """
    generator = seed_everything(cfg.seed)
    model = MLPClassifier(train.width, cfg.hidden, 2, cfg.dropout).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.step_size, gamma=cfg.gamma)
    best_loss, best_state, stale = float("inf"), copy.deepcopy(model.state_dict()), 0
    history: list[dict[str, float]] = []
    for epoch in range(1, cfg.max_epochs + 1):
        start = time.perf_counter()
        model.train()
        running = torch.zeros((), dtype=torch.float64, device=device)
        n_batches = 0
        progress = Progress(f"epoch {epoch}", train.frames, unit="frames", logger=log)
        for x, y in shuffled_batches(
            train, cfg.batch_size, cfg.block_frames, cfg.buffer_frames, generator, device
        ):
            progress.update(len(y))
            if len(y) < 2:  # BatchNorm needs two samples in training mode
                continue
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            running += loss.detach().double()
            n_batches += 1
        val_loss, val_acc = evaluate_split(model, val, device, cfg.block_frames)
        history.append(
            {
                "epoch": epoch,
                "train_loss": running.item() / max(n_batches, 1),
                "val_loss": val_loss,
                "val_accuracy": val_acc,
                "lr": optimizer.param_groups[0]["lr"],
                "seconds": time.perf_counter() - start,
            }
        )
        log.info(
            "epoch %d: train loss %.4f, val loss %.4f, val accuracy %.4f",
            epoch,
            history[-1]["train_loss"],
            val_loss,
            val_acc,
        )
        if val_loss < best_loss:
            best_loss, best_state, stale = val_loss, copy.deepcopy(model.state_dict()), 0
        else:
            stale += 1
            if stale >= cfg.patience:
                log.info("early stopping after epoch %d (best val loss %.4f)", epoch, best_loss)
                break
        scheduler.step()
    model.load_state_dict(best_state)
    model.to("cpu")
    if log_path:
        TRAINING_LOG.write(log_path, (TrainingEpoch(**row) for row in history))
    return model.eval(), history


@dataclass
class CheckpointIdentity:
    """What a classifier was trained on; must match the features it is applied to."""

    dna_model: str
    dna_width: int
    protein_model: str
    protein_width: int
    chunk_length: int
    dna_revision: str | None = None
    protein_revision: str | None = None
    dna_commit: str | None = None  # resolved weights (hub commit or sha256 of local files)
    protein_commit: str | None = None

    @property
    def input_width(self) -> int:
        return self.dna_width + self.protein_width

    @classmethod
    def from_features(cls, meta: dict[str, Any]) -> CheckpointIdentity:
        return cls(
            dna_model=meta["dna_model"],
            dna_width=int(meta["dna_width"]),
            protein_model=meta["protein_model"],
            protein_width=int(meta["protein_width"]),
            chunk_length=int(meta["chunk_length"]),
            dna_revision=meta.get("dna_revision"),
            protein_revision=meta.get("protein_revision"),
            dna_commit=meta.get("dna_commit"),
            protein_commit=meta.get("protein_commit"),
        )


def metadata_path(weights: str | os.PathLike[str]) -> Path:
    """A checkpoint's ``metadata.json`` sits beside its weights (one directory per classifier)."""
    return Path(weights).with_name("metadata.json")


def save_checkpoint(
    model: MLPClassifier,
    weights: str | os.PathLike[str],
    identity: CheckpointIdentity,
    **extra: Any,
) -> None:
    """Write the weights and, beside them, ``metadata.json`` (last: it marks completion)."""
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    meta = {
        "format": CHECKPOINT_FORMAT,
        **asdict(identity),
        "input_width": identity.input_width,
        "project_version": __version__,
        "hidden": model.hidden_layer.out_features,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": package_versions(),
        **extra,
    }
    with atomic_path(weights) as tmp:
        save_file(
            state, str(tmp), {"format": CHECKPOINT_FORMAT, "identity": json.dumps(asdict(identity))}
        )
    write_text_atomic(metadata_path(weights), json.dumps(meta, indent=2, default=str) + "\n")


def load_checkpoint(
    weights: str | os.PathLike[str], expect: CheckpointIdentity | None = None
) -> tuple[MLPClassifier, dict[str, Any]]:
    """Load a classifier; refuse it when ``expect`` (the features' identity) disagrees."""
    weights = Path(weights)
    meta_path = metadata_path(weights)
    if not meta_path.is_file():
        raise ModelMismatchError(
            f"{weights}: no metadata.json beside it; cannot tell what it was trained on"
        )
    meta = json.loads(meta_path.read_text())
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise ModelMismatchError(f"{meta_path}: not a {CHECKPOINT_FORMAT} checkpoint")
    if expect is not None:
        problems = []
        for key in ("dna_model", "dna_width", "protein_model", "protein_width", "chunk_length"):
            if meta.get(key) != getattr(expect, key):
                problems.append(
                    f"{key}: checkpoint {meta.get(key)!r}, features {getattr(expect, key)!r}"
                )
        # Same names, other weights (another hub snapshot): refused when both sides know.
        for key in ("dna_commit", "protein_commit"):
            mine, theirs = meta.get(key), getattr(expect, key)
            if mine and theirs and str(mine) != str(theirs):
                problems.append(f"{key}: checkpoint {mine!r}, features {theirs!r}")
        if problems:
            raise ModelMismatchError(
                f"{weights} was trained on {meta.get('dna_model')}+{meta.get('protein_model')} "
                f"({meta.get('input_width')}d, chunk {meta.get('chunk_length')}) and refuses "
                f"these features: " + "; ".join(problems)
            )
    state = load_file(weights)
    model = MLPClassifier(int(meta["input_width"]), int(state["hidden_layer.weight"].shape[0]))
    model.load_state_dict(state, strict=True)
    return model.eval(), meta
