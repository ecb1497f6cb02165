"""The classifier's training recipe: the original's numbers, and how a split is streamed.

Kept apart from ``mlp.py`` (torch) so that the workflow, at DAG build, sizes the training
job's memory from it (``runtime.job_plan.training_mem_mb``) without importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class TrainConfig:
    """The original's optimiser and schedule, with early stopping on a validation split.

    Defaults are VirNucPro's numbers, so a classifier trained here is comparable with the
    published one; the original watched its test set for early stopping, this recipe watches
    the validation split instead. ``train.recipe`` in the config overrides the numbers.

    ``block_frames`` and ``buffer_frames`` say how the training split is read from the
    embedding files (``batches.py``): shuffled by blocks of consecutive frames through a
    buffer; they bound the job's memory (``runtime.job_plan.training_mem_mb``) and, on a
    split larger than one buffer, which frames share a batch.
    """

    # architecture
    hidden: int = 512
    dropout: float = 0.5
    # optimiser: SGD, learning rate times gamma every step_size epochs
    lr: float = 2e-4
    momentum: float = 0.9
    step_size: int = 10
    gamma: float = 0.85
    batch_size: int = 32
    # stopping: at most max_epochs, or patience epochs without a lower validation loss
    max_epochs: int = 200
    patience: int = 5
    seed: int = 42
    # streaming: frames per read block and per shuffle buffer
    block_frames: int = 256
    buffer_frames: int = 32768

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> TrainConfig:
        known = {k: v for k, v in (values or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)
