"""The classifier's training recipe: the original's numbers, and how a split is streamed.

Kept apart from ``mlp.py`` (torch) so that the workflow, at DAG build, sizes the training
job's memory from it (``runtime.job_plan.training_mem_mb``) without importing torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class TrainConfig:
    """The original's optimiser and schedule, with early stopping on a validation split, and
    the training seed.

    Every field is ``train.recipe`` of the config, whose schema states the defaults
    (VirNucPro's numbers, so a classifier trained here is comparable with the published one),
    except ``seed``: ``train.seed``, or the seed of one of ``train.seeds`` classifiers.

    ``block_frames`` and ``buffer_frames`` say how the training split is read from the
    embedding files (``batches.py``): shuffled by blocks of consecutive frames through a
    buffer; they bound the job's memory (``runtime.job_plan.training_mem_mb``) and, on a
    split larger than one buffer, which frames share a batch.
    """

    # architecture
    hidden: int
    dropout: float
    # optimiser: SGD, learning rate times gamma every step_size epochs
    lr: float
    momentum: float
    step_size: int
    gamma: float
    batch_size: int
    # stopping: at most max_epochs, or patience epochs without a lower validation loss
    max_epochs: int
    patience: int
    seed: int
    # streaming: frames per read block and per shuffle buffer
    block_frames: int
    buffer_frames: int

    @classmethod
    def from_config(cls, recipe: Mapping[str, Any], seed: int) -> TrainConfig:
        """From the validated ``train.recipe`` section (every key filled by the schema) and
        the training seed; a missing or unknown key is a bug of the caller (KeyError)."""
        names = [f.name for f in fields(cls) if f.name != "seed"]
        unknown = sorted(set(recipe) - set(names))
        if unknown:
            raise KeyError(f"train.recipe: unknown key(s) {', '.join(unknown)}")
        return cls(**{name: recipe[name] for name in names}, seed=int(seed))
