"""Embedding and feature files: float32 matrices that carry the identity of their model.

Layout (``virnucpro-smk/embeddings/v2``): a safetensors file, so any safetensors reader opens
it, holding three tensors and one metadata entry:

* ``id_offsets`` (I64, ``rows + 1``): where each id starts in ``id_bytes``;
* ``embeddings`` (F32, ``rows x width``): the vectors, rows in the order of the ids;
* ``id_bytes`` (U8): the ids, each followed by a newline (UTF-8);
* ``__metadata__``: ``format`` and ``meta``, one JSON document holding the file's identity:
  the model's name, source, revision, commit and width, dtype, pooling, chunk length, shard,
  device type and package versions. Values keep their JSON types: an all-digit commit stays a
  string. No figure of the run that wrote it (timings, GPU use, the GPU index, where a resumed
  job resumed): those go to the job's stats JSON, so that a resumed job's file is byte for
  byte an uninterrupted run's.

Ids are data, not header JSON: v1 kept them in the header, which safetensors caps at 100 MB
(about 3 million ids), and the failure came at the write, after all the GPU work. The header
now has a fixed size whatever the row count, and is reserved with spare room when the file is
created, so that :meth:`EmbeddingWriter.finish` can rewrite the metadata in place.

:class:`EmbeddingWriter` creates the whole file (header, ids, zero rows) before any vector is
computed, so every limit is met or refused before GPU work: ids without newlines, the width,
the header size and the free disk space. Rows are then written where they belong as batches
finish (in any order), so memory is one batch, not the shard. :class:`EmbeddingReader` reads
the header, the ids and blocks of rows with plain reads (no memory map: resident memory is
what is held).

Files live in a directory named after the model (``.../fastesm650_1280d/shard_0000.
safetensors``), and the reader refuses a file whose metadata disagrees with the path or with
what the caller expects: ESM2 3B and FastESM2_650 outputs cannot be mixed up. No pickle.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import InputError, ModelMismatchError
from .atomic import atomic_path

FORMAT = "virnucpro-smk/embeddings/v2"
TENSOR = "embeddings"
OFFSETS = "id_offsets"
ID_BYTES = "id_bytes"
#: Spare header bytes reserved at creation, for final metadata longer than the first.
HEADER_RESERVE = 65536
#: safetensors refuses headers above this size (its reader's limit).
MAX_HEADER = 100_000_000
#: Rows per block when a whole matrix is written or read.
WRITE_BLOCK_ROWS = 65536


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


def _id_blob(ids: Sequence[str], path: str | os.PathLike[str]) -> tuple[np.ndarray, bytes]:
    """Offsets and newline-terminated UTF-8 bytes of ``ids``; refuses ids a line cannot hold."""
    bad = [i for i in ids if not isinstance(i, str) or "\n" in i or "\r" in i]
    if bad:
        raise InputError(f"{path}: ids must be strings without line breaks, got {bad[0]!r}")
    encoded = [i.encode("utf-8") + b"\n" for i in ids]
    offsets = np.zeros(len(ids) + 1, dtype="<i8")
    if encoded:
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return offsets, b"".join(encoded)


def _header(meta: dict[str, Any], rows: int, width: int, id_bytes: int) -> dict[str, Any]:
    offsets_end = 8 * (rows + 1)
    matrix_end = offsets_end + 4 * rows * width
    return {
        "__metadata__": {"format": FORMAT, "meta": json.dumps(meta, sort_keys=True)},
        OFFSETS: {"dtype": "I64", "shape": [rows + 1], "data_offsets": [0, offsets_end]},
        TENSOR: {"dtype": "F32", "shape": [rows, width], "data_offsets": [offsets_end, matrix_end]},
        ID_BYTES: {
            "dtype": "U8",
            "shape": [id_bytes],
            "data_offsets": [matrix_end, matrix_end + id_bytes],
        },
    }


def _padded(header: dict[str, Any], size: int, path: str | os.PathLike[str]) -> bytes:
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    if len(raw) > size:
        raise ModelMismatchError(
            f"{path}: metadata of {len(raw)} bytes exceeds the {size} reserved"
        )
    return raw + b" " * (size - len(raw))  # safetensors pads its header with spaces too


class EmbeddingWriter:
    """Create an embedding file for known ids, then fill its rows as batches finish.

    The file at ``path`` is written in place (callers give a temporary or partial name and
    publish it with ``io.atomic``). ``resume=True`` reopens an existing file of exactly the
    layout these arguments give, keeping the rows already written. ``meta`` must hold
    ``model`` and ``width``; :meth:`finish` replaces it with the final metadata.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        ids: Sequence[str],
        meta: dict[str, Any],
        *,
        resume: bool = False,
    ) -> None:
        self.path = Path(path)
        self.rows, self.width = len(ids), int(meta["width"])
        offsets, blob = _id_blob(ids, path)
        header = _header(meta, self.rows, self.width, len(blob))
        raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
        self.header_size = -(-(len(raw) + HEADER_RESERVE) // 8) * 8
        if self.header_size > MAX_HEADER:
            raise InputError(f"{path}: metadata too large ({len(raw)} bytes)")
        self.data_start = 8 + self.header_size
        self.matrix_start = self.data_start + offsets.nbytes
        self.size = self.matrix_start + 4 * self.rows * self.width + len(blob)
        self._blob_len = len(blob)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.resumed = resume and self.path.is_file() and self.path.stat().st_size == self.size
        if self.resumed:
            self.fd = os.open(self.path, os.O_RDWR)
            return
        free = shutil.disk_usage(self.path.parent).free
        if free < self.size:
            raise InputError(
                f"{path}: needs {self.size / 2**20:.1f} MiB, "
                f"{free / 2**20:.1f} MiB free on its disk"
            )
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            os.pwrite(self.fd, self.header_size.to_bytes(8, "little"), 0)
            os.pwrite(self.fd, _padded(header, self.header_size, path), 8)
            os.pwrite(self.fd, offsets.tobytes(), self.data_start)
            os.pwrite(self.fd, blob, self.size - len(blob))
            os.ftruncate(self.fd, self.size)  # unwritten rows read as zeros until filled
        except BaseException:
            os.close(self.fd)
            raise

    def write_rows(self, index: Sequence[int] | torch.Tensor, vectors: torch.Tensor) -> None:
        """Write ``vectors[k]`` as row ``index[k]`` (any order; contiguous runs in one call)."""
        rows = vectors.detach().to(torch.float32).contiguous().numpy()
        if rows.ndim != 2 or rows.shape[1] != self.width:
            raise ModelMismatchError(
                f"{self.path}: declared width {self.width}, got vectors of shape {rows.shape}"
            )
        positions = [int(i) for i in index]
        row_bytes = 4 * self.width
        k = 0
        while k < len(positions):  # group consecutive rows into one write
            end = k + 1
            while end < len(positions) and positions[end] == positions[end - 1] + 1:
                end += 1
            if positions[k] < 0 or positions[end - 1] >= self.rows:
                raise IndexError(
                    f"{self.path}: rows {positions[k]}-{positions[end - 1]} out of range"
                )
            os.pwrite(self.fd, rows[k:end].tobytes(), self.matrix_start + positions[k] * row_bytes)
            k = end

    def sync(self) -> None:
        """Make every row written so far durable (before a resume point is recorded)."""
        os.fsync(self.fd)

    def finish(self, meta: dict[str, Any]) -> None:
        """Write the final metadata into the reserved header, make the file durable, close."""
        if int(meta["width"]) != self.width:
            raise ModelMismatchError(f"{self.path}: final metadata changes the width")
        header = _header(meta, self.rows, self.width, self._blob_len)
        os.pwrite(self.fd, _padded(header, self.header_size, self.path), 8)
        os.fsync(self.fd)
        self.close()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class EmbeddingReader:
    """Header, ids and blocks of rows of an embedding file, read with plain reads."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.handle = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        try:
            size = int.from_bytes(self.handle.read(8), "little")
            if not 0 < size <= MAX_HEADER:
                raise ValueError(f"header size {size}")
            header = json.loads(self.handle.read(size))
            raw_meta = header.pop("__metadata__", None) or {}
            fmt = raw_meta.get("format")
            if fmt != FORMAT:
                raise ModelMismatchError(f"{path}: not a {FORMAT} file (format {fmt!r})")
            self.meta: dict[str, Any] = {**json.loads(raw_meta["meta"]), "format": fmt}
            entry, offsets, id_bytes = header[TENSOR], header[OFFSETS], header[ID_BYTES]
        except ModelMismatchError:
            self.handle.close()
            raise
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            self.handle.close()
            raise ModelMismatchError(f"{path}: not a {FORMAT} file ({exc})") from None
        self.shape = tuple(entry.get("shape", ()))
        self.dtype = entry.get("dtype")
        start = 8 + size
        self.matrix_start = start + int(entry["data_offsets"][0])
        self._offsets = (start + int(offsets["data_offsets"][0]), int(offsets["shape"][0]))
        self._ids_start = start + int(id_bytes["data_offsets"][0])
        self._ids_len = int(id_bytes["shape"][0])
        expected = self._ids_start + self._ids_len
        found = os.fstat(self.handle.fileno()).st_size
        if found != expected:
            self.handle.close()
            raise ModelMismatchError(
                f"{path}: truncated or padded ({found} bytes, its header says {expected})"
            )

    def __enter__(self) -> EmbeddingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self, position: int, n: int) -> bytes:
        self.handle.seek(position)
        data = self.handle.read(n)
        if len(data) != n:
            raise ModelMismatchError(f"{self.path}: truncated")
        return data

    def ids(self) -> list[str]:
        """All ids, in row order."""
        position, count = self._offsets
        offsets = np.frombuffer(self._read(position, 8 * count), dtype="<i8")
        blob = self._read(self._ids_start, self._ids_len)
        if count < 1 or int(offsets[-1]) != len(blob):
            raise ModelMismatchError(f"{self.path}: id offsets disagree with the id bytes")
        if count == 1:
            return []
        ids = blob.decode("utf-8").split("\n")[:-1]
        if len(ids) != count - 1:
            raise ModelMismatchError(f"{self.path}: {len(ids)} ids for {count - 1} offsets")
        return ids

    def rows(self, start: int, end: int) -> torch.Tensor:
        """Rows ``start:end`` as a fresh float32 tensor."""
        width = self.shape[1]
        out = np.empty((end - start, width), dtype="<f4")
        if not out.nbytes:
            return torch.from_numpy(out)
        self.handle.seek(self.matrix_start + start * width * 4)
        if self.handle.readinto(memoryview(out).cast("B")) != out.nbytes:
            raise ModelMismatchError(f"{self.path}: truncated (rows {start}-{end} missing)")
        return torch.from_numpy(out)

    def close(self) -> None:
        self.handle.close()


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
    with atomic_path(path) as tmp:
        writer = EmbeddingWriter(tmp, ids, meta)
        try:
            for start in range(0, len(ids), WRITE_BLOCK_ROWS):
                end = min(start + WRITE_BLOCK_ROWS, len(ids))
                writer.write_rows(range(start, end), matrix[start:end])
            writer.finish(meta)
        finally:
            writer.close()


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Metadata only (cheap: the header is read, not the ids nor the matrix)."""
    with EmbeddingReader(path) as reader:
        return reader.meta


def check_identity(
    path: Path,
    meta: dict[str, Any],
    shape: tuple[int, ...],
    n_ids: int,
    *,
    expect_model: str | None = None,
    expect_width: int | None = None,
    expect_chunk_length: int | None = None,
    dtype: str | None = None,
) -> None:
    """Refuse a file whose identity disagrees with its path, its matrix or the expectation.

    ``shape`` (and ``dtype``, a safetensors dtype name, when known) describe the stored
    matrix and ``n_ids`` the number of ids, so a caller that reads rows block by block can
    check before reading any row. Every problem found is named in one
    :class:`ModelMismatchError`.
    """
    if meta.get("format") != FORMAT:
        raise ModelMismatchError(f"{path}: not a {FORMAT} file (format {meta.get('format')!r})")
    model, width = meta["model"], int(meta["width"])
    problems = []
    if path.parent.name != model:
        problems.append(f"it lies in {path.parent.name}/ but holds {model} vectors")
    if expect_model is not None and model != expect_model:
        problems.append(f"expected {expect_model}, found {model}")
    if expect_width is not None and width != expect_width:
        problems.append(f"expected width {expect_width}, found {width}")
    if dtype is not None and dtype != "F32":
        problems.append(f"matrix dtype {dtype}, expected F32")
    if len(shape) != 2 or shape[1] != width:
        problems.append(f"metadata says width {width}, matrix is {shape}")
    if shape and n_ids != shape[0]:
        problems.append(f"{n_ids} ids for {shape[0]} rows")
    if expect_chunk_length is not None and int(meta.get("chunk_length", -1)) != expect_chunk_length:
        problems.append(
            f"expected chunk length {expect_chunk_length}, found {meta.get('chunk_length')}"
        )
    if problems:
        raise ModelMismatchError(f"{path}: refused: " + "; ".join(problems))
