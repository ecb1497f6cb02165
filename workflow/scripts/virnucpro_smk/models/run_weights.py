"""The weights an extraction job runs: stored once in its run dtype, read while the job starts.

**The run-dtype copy.** ESM2 3B's verified weights are 11.4 GB of float32 and its jobs run in
bf16 (the precision decision), so every job read 11.4 GB and cast them while it held its GPU.
``check_precision``, which decides the dtype, now also writes the weights once in that dtype,
beside the verified ones (``<model dir>/run_dtype/bfloat16/model.safetensors``: 5.7 GB), with a
record (``copy.json``) keyed by the sha256 of the verified weight files; jobs read the copy:
half the bytes, no cast. A job trusts the record when the verified files still have the
names, sizes and mtimes it lists (a stat, not a read), re-hashes them when they do not, and
refuses a copy whose key differs (stale): it then reads the verified weights and casts them,
as before, saying so in its log. The copy's own sha256 is recorded too and checked on the
bytes as the job reads them, so a damaged copy is never used either. ``check_precision``
rebuilds a stale or damaged copy and keeps a valid one. Only models the workflow stores (hub
downloads, stand-ins) get a copy: a ``provider: local`` directory is the user's and is not
written into (its jobs cast on load). No copy when the run dtype is the stored one.

**Reading while the job starts.** :class:`WeightPrefetch` reads the weights on a background
thread as soon as the job holds its device, while the job plans its batches. Files stored in
the run dtype are read in pieces into two pinned host buffers, alternately, each copied to
the device on a side stream while the next piece is read; tensors are views of one device
buffer per file (device memory: the model; host memory: two pieces); on a CPU the pieces are
read straight into place. A copy's bytes are hashed as they are read. Weights that need a cast
are ``store.load_state`` on the thread, as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import torch

from ..io.atomic import atomic_path, write_text_atomic
from ..io.hashing import file_sha256, files_sha256
from .registry import ModelSpec
from .store import SAFETENSORS, load_state, stored_dtype, weight_files

log = logging.getLogger(__name__)

COPY_DIR = "run_dtype"
RECORD = "copy.json"
FORMAT = "virnucpro-smk/run-dtype-copy/v1"
#: Bytes per piece read and copied to the device (two pinned buffers of this size).
PIECE_BYTES = 64 * 2**20
SAFETENSORS_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


def _fingerprint(paths: list[Path]) -> list[list[Any]]:
    return [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in paths]


def copy_dir(model_dir: str | os.PathLike[str], dtype: str) -> Path:
    return Path(model_dir) / COPY_DIR / dtype


def wants_copy(spec: ModelSpec, model_dir: str | os.PathLike[str], dtype: str) -> bool:
    """Whether jobs of ``spec`` in ``dtype`` read a copy: a model the workflow stores whose
    verified weights are float32 and whose jobs run in a 16-bit dtype."""
    return (
        spec.provider != "local"
        and dtype in ("bfloat16", "float16")
        and stored_dtype(model_dir) == "float32"
    )


def _read_record(directory: Path) -> dict[str, Any]:
    try:
        return json.loads((directory / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _source_key(sources: list[Path], record: dict[str, Any]) -> str:
    """The sources' sha256, from the record when their files are unchanged (no read)."""
    if record.get("source_fingerprint") == _fingerprint(sources) and record.get("source_sha256"):
        return str(record["source_sha256"])
    return files_sha256(sources)


def usable_copy(
    spec: ModelSpec, model_dir: str | os.PathLike[str], dtype: str
) -> tuple[Path | None, str | None, str]:
    """``(copy file, its expected sha256, why)``, or ``(None, None, why not)``."""
    if not wants_copy(spec, model_dir, dtype):
        return None, None, "no copy: the weights are stored in the run dtype or are the user's"
    directory = copy_dir(model_dir, dtype)
    record, weights = _read_record(directory), directory / SAFETENSORS
    if record.get("format") != FORMAT or record.get("dtype") != dtype or not weights.is_file():
        return None, None, f"no {dtype} copy in {directory} (check_precision writes it)"
    if record.get("sha256") is None or weights.stat().st_size != record.get("bytes"):
        return None, None, f"{weights}: its size disagrees with {RECORD}"
    key = _source_key(weight_files(model_dir), record)
    if key != record.get("source_sha256"):
        return (
            None,
            None,
            (
                f"{weights} is stale: made from weights {record.get('source_sha256', '?')[:12]}, "
                f"the verified weights are now {key[:12]} (rerun check_precision)"
            ),
        )
    return weights, str(record["sha256"]), f"the {dtype} copy {weights}"


def write_run_copy(spec: ModelSpec, model_dir: str | os.PathLike[str], dtype: str) -> Path | None:
    """Write (or keep, when valid) the weights in ``dtype`` beside the verified ones; the
    copy file, or None when jobs need none (see the module docstring)."""
    if not wants_copy(spec, model_dir, dtype):
        return None
    directory = copy_dir(model_dir, dtype)
    weights, expected, why = usable_copy(spec, model_dir, dtype)
    if weights is not None and file_sha256(weights) == expected:
        log.info("%s: keeping %s", spec.name, why)
        return weights
    sources = weight_files(model_dir)
    source_sha256 = files_sha256(sources)
    log.info("%s: writing the %s copy of its weights to %s", spec.name, dtype, directory)
    from safetensors.torch import save_file

    state = load_state(model_dir, "cpu", getattr(torch, dtype))
    directory.mkdir(parents=True, exist_ok=True)
    (directory / RECORD).unlink(missing_ok=True)  # no record may vouch for a half-made copy
    with atomic_path(directory / SAFETENSORS) as tmp:
        save_file({k: v.contiguous() for k, v in state.items()}, str(tmp), {"format": "pt"})
    del state
    copy = directory / SAFETENSORS
    record = {
        "format": FORMAT,
        "model": spec.name,
        "dtype": dtype,
        "source_sha256": source_sha256,
        "source_fingerprint": _fingerprint(sources),
        "sha256": file_sha256(copy),
        "bytes": copy.stat().st_size,
    }
    write_text_atomic(directory / RECORD, json.dumps(record, indent=1) + "\n")
    return copy


def _header(handle) -> tuple[dict[str, Any], int]:
    size = int.from_bytes(handle.read(8), "little")
    header = json.loads(handle.read(size))
    header.pop("__metadata__", None)
    return header, 8 + size


class WeightPrefetch:
    """A model's weights read on a background thread (see the module docstring).

    ``files`` are safetensors files (a copy, or the verified weights); ``dtype`` the run
    dtype; ``expect_sha256`` the copy's recorded hash (its one file's bytes are hashed as they
    are read). :meth:`result` waits and returns the state dict, or raises what the thread
    raised (a hash mismatch is a ``ValueError`` naming the file).
    """

    def __init__(
        self,
        files: list[Path],
        device: str,
        dtype: torch.dtype,
        expect_sha256: str | None = None,
        model_dir: str | os.PathLike[str] | None = None,
        piece_bytes: int = PIECE_BYTES,
    ) -> None:
        self.files, self.device, self.dtype = [Path(f) for f in files], device, dtype
        self.expect_sha256, self.model_dir, self.piece_bytes = expect_sha256, model_dir, piece_bytes
        self.seconds = 0.0
        self._state: dict[str, torch.Tensor] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="weights", daemon=True)

    def start(self) -> WeightPrefetch:
        self._thread.start()
        return self

    def result(self) -> dict[str, torch.Tensor]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._state is not None
        return self._state

    def _run(self) -> None:
        import time

        began = time.perf_counter()
        try:
            if self._stored_in_run_dtype():
                self._state = self._stream()
            else:  # a cast on load: the store's reader, on this thread
                directory = self.model_dir or self.files[0].parent
                self._state = load_state(directory, self.device, self.dtype)
        except BaseException as exc:  # handed to result()
            self._error = exc
        self.seconds = time.perf_counter() - began

    def _stored_in_run_dtype(self) -> bool:
        for path in self.files:
            with open(path, "rb") as handle:
                header, _ = _header(handle)
            for entry in header.values():
                dtype = SAFETENSORS_DTYPES[entry["dtype"]]
                if dtype.is_floating_point and dtype != self.dtype:
                    return False
        return True

    def _stream(self) -> dict[str, torch.Tensor]:
        """Each file's data into one buffer on the device, in pieces (hashed as read); on
        CUDA through two pinned buffers and a side stream, on a CPU straight into place."""
        device = torch.device(self.device)
        cuda = device.type == "cuda"
        state: dict[str, torch.Tensor] = {}
        digest = hashlib.sha256() if self.expect_sha256 else None
        with torch.cuda.device(device) if cuda else contextlib.nullcontext():
            stream = torch.cuda.Stream(device) if cuda else None
            pinned = [
                torch.empty(self.piece_bytes, dtype=torch.uint8, pin_memory=True)
                for _ in ("a", "b")
                if cuda
            ]
            copied: list[Any] = [None, None]
            for path in self.files:
                with open(path, "rb", buffering=0) as handle:
                    header, start = _header(handle)
                    if digest is not None:
                        handle.seek(0)
                        digest.update(handle.read(start))
                    size = os.fstat(handle.fileno()).st_size - start
                    flat = torch.empty(size, dtype=torch.uint8, device=device)
                    done, k = 0, 0
                    while done < size:
                        n = min(self.piece_bytes, size - done)
                        if not cuda:  # read straight into place
                            view = memoryview(flat.numpy())[done : done + n]
                        else:
                            if copied[k] is not None:
                                copied[k].synchronize()  # its last copy to the device is done
                            view = memoryview(pinned[k].numpy())[:n]
                        if handle.readinto(view) != n:
                            raise ValueError(f"{path}: truncated")
                        if digest is not None:
                            digest.update(view)
                        if cuda:
                            with torch.cuda.stream(stream):
                                flat[done : done + n].copy_(pinned[k][:n], non_blocking=True)
                                copied[k] = torch.cuda.Event()
                                copied[k].record(stream)
                        done, k = done + n, 1 - k
                state.update(_views(flat, header))
            if stream is not None:
                stream.synchronize()
        if digest is not None and digest.hexdigest() != self.expect_sha256:
            raise ValueError(
                f"{self.files[0]}: sha256 {digest.hexdigest()[:12]} is not the recorded "
                f"{str(self.expect_sha256)[:12]}: the copy is damaged (rerun check_precision)"
            )
        return state


def _views(flat: torch.Tensor, header: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The file's tensors as views of its data on the device (copies where misaligned)."""
    out = {}
    for name, entry in header.items():
        dtype = SAFETENSORS_DTYPES[entry["dtype"]]
        begin, end = entry["data_offsets"]
        raw = flat[begin:end]
        if begin % dtype.itemsize:
            raw = raw.clone()
        out[name] = raw.view(dtype).view(entry["shape"])
    return out
