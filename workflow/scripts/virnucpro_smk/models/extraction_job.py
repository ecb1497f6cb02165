"""An extraction job's typed inputs: what it embeds (:class:`ExtractionJob`) and how it feeds
the GPU (:class:`ExtractionSettings`), for :func:`.embeddings.extract_shard`.

Kept free of torch, so that the workflow (at DAG build) and the speed runs' orchestrator
build them without importing it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .registry import ModelSpec


@dataclass(frozen=True)
class ExtractionSettings:
    """How an extraction job feeds the GPU: the ``extraction:`` config section. They change
    speed, logging and how often rows are made durable, never the vectors, so rule scripts
    read them from the config, not from params (changing them reruns nothing). No defaults
    here: the config schema states them."""

    loader_workers: int  # DataLoader processes tokenizing and padding (0: in-process)
    progress_seconds: float  # a progress line at least this often
    checkpoint_seconds: float  # work between resume points (0: after every batch)
    compile: bool | str  # extraction.compile: auto, true or false (``compile.py``)

    @classmethod
    def from_config(cls, extraction: Mapping[str, Any]) -> ExtractionSettings:
        """From the validated ``extraction:`` section."""
        return cls(
            int(extraction["loader_workers"]),
            float(extraction["progress_seconds"]),
            float(extraction["checkpoint_seconds"]),
            extraction["compile"],
        )


@dataclass(frozen=True)
class ExtractionJob:
    """What one extraction job embeds, where it writes and on what device.

    ``frames`` is the identified frames file, ``job_table`` the model's job table (this job's
    byte range is its row ``shard``), ``precision_json`` the model's precision decision (rule
    check_precision), ``device`` the run's resolved ``device`` (``cuda`` or ``cpu``),
    ``extra_meta`` what the file records beside the model's identity (the frame set).
    """

    spec: ModelSpec
    model_dir: str | os.PathLike[str]
    frames: str | os.PathLike[str]
    job_table: str | os.PathLike[str]
    shard: int
    output: str | os.PathLike[str]
    chunk_length: int
    precision_json: str | os.PathLike[str]
    device: str
    extra_meta: Mapping[str, Any] = field(default_factory=dict)
