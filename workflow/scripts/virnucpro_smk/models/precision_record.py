"""A model's precision decision as a file: written by check_precision, read by every job.

Kept apart from ``precision.py`` (which runs the check with the encoders of
``embeddings.py``) so that extraction, which reads decisions, does not import the module
that makes them: the two no longer import each other.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from ..errors import ModelMismatchError
from ..io.atomic import write_text_atomic
from .registry import ModelSpec

FORMAT = "virnucpro-smk/precision/v1"


def write_precision(record: dict[str, Any], path: str | os.PathLike[str]) -> None:
    write_text_atomic(path, json.dumps(record, indent=2) + "\n")


def read_precision(
    path: str | os.PathLike[str], spec: ModelSpec, device_type: str | None
) -> dict[str, Any]:
    """A precision decision for ``spec`` on ``device_type``, refused if it is for anything else.

    ``device_type`` None skips the device check (an empty shard runs nothing).
    """
    path = Path(path)
    record = json.loads(path.read_text())
    if record.get("format") != FORMAT:
        raise ModelMismatchError(f"{path}: not a {FORMAT} file")
    wrong = [
        f"{key} {record.get(key)!r} (expected {want!r})"
        for key, want in spec.identity().items()
        if record.get(key) != want
    ]
    if wrong:
        raise ModelMismatchError(f"{path}: decided for another model: " + ", ".join(wrong))
    if device_type is not None and record.get("device_type") != device_type:
        raise ModelMismatchError(
            f"{path}: precision was decided on {record.get('device_type')}, this job runs on "
            f"{device_type}; rerun it: snakemake --forcerun check_precision"
        )
    return record


def torch_dtype(record: dict[str, Any]) -> torch.dtype:
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[
        record["dtype"]
    ]
