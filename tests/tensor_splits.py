"""Splits held in memory, for the classifier's tests.

Training reads a :class:`FrameSplit` from any row source (the pipeline's is the embedding
files, ``features.FeatureRows``); these wrap tensors, so a test trains on a few hundred rows
without writing files.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from virnucpro_smk.classify.batches import FrameSplit
from virnucpro_smk.classify.mlp import evaluate_split, train_splits
from virnucpro_smk.classify.recipe import TrainConfig


@dataclass(frozen=True)
class TensorRows:
    """A row source over one in-memory matrix."""

    matrix: torch.Tensor

    @property
    def width(self) -> int:
        return int(self.matrix.shape[1])

    def rows(self, start: int, end: int) -> torch.Tensor:
        return self.matrix[start:end]


def tensor_split(x: torch.Tensor, y: torch.Tensor) -> FrameSplit:
    """Every row of ``x`` in order, labelled ``y``."""
    return FrameSplit(TensorRows(x), ((0, len(y)),), y.to(torch.int8))


def train_on_tensors(x_train, y_train, x_val, y_val, cfg: TrainConfig, log_path=None):
    """``train_splits`` (the pipeline's training) on in-memory features."""
    return train_splits(tensor_split(x_train, y_train), tensor_split(x_val, y_val), cfg, log_path)


def mean_loss(model, x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean cross-entropy of ``model`` on in-memory features, as validation computes it."""
    return evaluate_split(model, tensor_split(x, y))[0]
