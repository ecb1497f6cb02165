"""``training_log.tsv``: one row per epoch of the first training seed's classifier (losses,
validation accuracy, learning rate, seconds), figures to 6 significant digits."""

from __future__ import annotations

from dataclasses import dataclass

from .table import Table


@dataclass(frozen=True)
class TrainingEpoch:
    epoch: int
    train_loss: float
    val_loss: float
    val_accuracy: float
    lr: float
    seconds: float


TRAINING_LOG = Table("training log", TrainingEpoch, floats="{:.6g}")
