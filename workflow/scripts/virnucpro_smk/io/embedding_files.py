"""Embedding and feature files: safetensors matrices that carry the identity of their model.

Every file holds one float32 matrix (``embeddings``, rows in the order of ``ids``) and string
metadata: the model's name, source, revision and width, dtype, pooling, chunk length and
package versions. Files live in a directory named after the model (``.../fastesm650_1280d/
shard_0000.safetensors``), and the reader refuses a file whose metadata disagrees with the
path or with what the caller expects: ESM2 3B and FastESM2_650 outputs cannot be mixed up.
No pickle is involved anywhere.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..errors import ModelMismatchError
from .atomic import atomic_path

FORMAT = "virnucpro-smk/embeddings/v1"
TENSOR = "embeddings"


@dataclass
class EmbeddingFile:
    ids: list[str]
    matrix: torch.Tensor
    meta: dict[str, Any]

    @property
    def model(self) -> str:
        return self.meta["model"]

    @property
    def width(self) -> int:
        return int(self.meta["width"])


def _encode_meta(meta: dict[str, Any]) -> dict[str, str]:
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in meta.items()}


def _decode_meta(raw: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def write_embeddings(
    path: str | os.PathLike[str], ids: list[str], matrix: torch.Tensor, meta: dict[str, Any]
) -> None:
    """Write ``matrix`` (rows = ``ids``) with identity metadata, atomically."""
    if matrix.ndim != 2 or matrix.shape[0] != len(ids):
        raise ValueError(f"matrix of shape {tuple(matrix.shape)} does not match {len(ids)} ids")
    if matrix.shape[1] != int(meta["width"]):
        raise ModelMismatchError(
            f"{path}: {meta['model']} declares width {meta['width']} but produced "
            f"{matrix.shape[1]}-d vectors"
        )
    full = {**meta, "format": FORMAT, "ids": ids, "rows": len(ids)}
    with atomic_path(path) as tmp:
        save_file({TENSOR: matrix.to(torch.float32).contiguous()}, str(tmp), _encode_meta(full))


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Metadata only (cheap: the header is read, not the matrix)."""
    with safe_open(str(path), framework="pt") as handle:
        return _decode_meta(handle.metadata() or {})


def check_identity(
    path: Path,
    meta: dict[str, Any],
    shape: tuple[int, ...],
    *,
    expect_model: str | None = None,
    expect_width: int | None = None,
    expect_chunk_length: int | None = None,
    check_path: bool = True,
    dtype: str | None = None,
) -> None:
    """Refuse a file whose identity disagrees with its path, its matrix or the expectation.

    ``shape`` (and ``dtype``, a safetensors dtype name, when known) describe the stored
    matrix, so a caller that reads rows block by block can check from the header alone.
    Every problem found is named in one :class:`ModelMismatchError`.
    """
    if meta.get("format") != FORMAT:
        raise ModelMismatchError(f"{path}: not a {FORMAT} file (format {meta.get('format')!r})")
    model, width = meta["model"], int(meta["width"])
    problems = []
    if check_path and path.parent.name != model:
        problems.append(f"it lies in {path.parent.name}/ but holds {model} vectors")
    if expect_model is not None and model != expect_model:
        problems.append(f"expected {expect_model}, found {model}")
    if expect_width is not None and width != expect_width:
        problems.append(f"expected width {expect_width}, found {width}")
    if dtype is not None and dtype != "F32":
        problems.append(f"matrix dtype {dtype}, expected F32")
    if len(shape) != 2 or shape[1] != width:
        problems.append(f"metadata says width {width}, matrix is {shape}")
    if shape and len(meta["ids"]) != shape[0]:
        problems.append(f"{len(meta['ids'])} ids for {shape[0]} rows")
    if expect_chunk_length is not None and int(meta.get("chunk_length", -1)) != expect_chunk_length:
        problems.append(
            f"expected chunk length {expect_chunk_length}, found {meta.get('chunk_length')}"
        )
    if problems:
        raise ModelMismatchError(f"{path}: refused: " + "; ".join(problems))


def read_embeddings(
    path: str | os.PathLike[str],
    expect_model: str | None = None,
    expect_width: int | None = None,
    expect_chunk_length: int | None = None,
    check_path: bool = True,
) -> EmbeddingFile:
    """Read a file and refuse it if its identity disagrees with its path or the expectation."""
    path = Path(path)
    with safe_open(str(path), framework="pt") as handle:
        meta = _decode_meta(handle.metadata() or {})
        matrix = handle.get_tensor(TENSOR)
    check_identity(
        path,
        meta,
        tuple(matrix.shape),
        expect_model=expect_model,
        expect_width=expect_width,
        expect_chunk_length=expect_chunk_length,
        check_path=check_path,
    )
    return EmbeddingFile(list(meta["ids"]), matrix, meta)
