"""Resume inside a shard: an extraction job killed half-way restarts from its last part.

The job writes its rows straight into a partial file beside its output
(``.shard_0000.safetensors.partial``, the layout of the final file, see
``io.embedding_files``). Every ``checkpoint_seconds`` of work it makes the rows written so far
durable (fsync) and records, in ``.shard_0000.safetensors.partial.json``, how many batches of
its batch plan are done; both on a background thread, so the GPU's loop never waits for the
disk. A rerun of the job whose file identity (model, commit, dtype, device
type, ids) and batch plan are unchanged reopens the partial and starts at the first batch not
recorded; anything else starts over. The plan is made from the sequences alone
(``batch_plan``), so a rerun gets the same batches; rows are written where they belong and
batches are recomputed whole, and the metadata holds identity only (the run's figures go to
the job's stats JSON), so the finished file is byte for byte the file of an uninterrupted run.

Order of the steps, so that no crash can pair a stale record with another file: the record is
removed before a fresh partial is created (and a record is only used with a partial of the
exact size its layout gives); it is removed after publishing, so a kill between the last batch
and the rename costs a model load, not the shard.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ..io.atomic import publish, write_text_atomic
from ..io.embedding_files import EmbeddingWriter

log = logging.getLogger(__name__)


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


class ResumableShard:
    """The output of one extraction job, filled batch by batch and resumable.

    ``meta`` is the file's identity, all known before any GPU work (nothing of the run: a
    resumed file must equal an uninterrupted one); creating the object creates (or reopens)
    the partial file, so every limit of the format is checked before the model is loaded.
    """

    def __init__(
        self,
        output: str | os.PathLike[str],
        ids: Sequence[str],
        meta: dict[str, Any],
        checkpoint_seconds: float,
    ) -> None:
        self.output = Path(output)
        self.partial = self.output.with_name(f".{self.output.name}.partial")
        self.record_path = self.output.with_name(f".{self.output.name}.partial.json")
        self.checkpoint_seconds = checkpoint_seconds
        self.meta = dict(meta)
        self.fingerprint = _digest({"meta": meta, "ids": _digest(list(ids))})
        record = self._record()
        resume = record.get("fingerprint") == self.fingerprint and self.partial.is_file()
        if not resume:
            self.record_path.unlink(missing_ok=True)
            record = {}
        self.writer = EmbeddingWriter(self.partial, ids, meta, resume=resume)
        if not self.writer.resumed:  # a missing or different partial: start over
            self.record_path.unlink(missing_ok=True)
            record = {}
        self._resumed = record
        self.plan = ""
        self._last = time.monotonic()
        self._syncing: threading.Thread | None = None
        self._sync_error: BaseException | None = None

    def _record(self) -> dict[str, Any]:
        try:
            return json.loads(self.record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def first_batch(self, batches: Sequence[Sequence[int]]) -> int:
        """Batches already done by a killed run of the same plan (0 for a fresh start)."""
        self.plan = _digest([list(b) for b in batches])
        if self._resumed.get("plan") != self.plan:
            return 0
        done = int(self._resumed.get("batches_done", 0))
        if done:
            log.info("%s: resuming at batch %d of %d", self.output, done + 1, len(batches))
        return done

    def write_rows(self, index: torch.Tensor | Sequence[int], vectors: torch.Tensor) -> None:
        self.writer.write_rows(index, vectors)

    def batch_done(self, batches_done: int, force: bool = False) -> None:
        """Record a resume point when ``checkpoint_seconds`` of work have passed since the last.

        The fsync of the rows and the record that vouches for them run on a background thread,
        so the extraction loop (and the GPU it feeds) does not wait for the disk: every row
        of the first ``batches_done`` batches was written before this call, so the fsync
        that follows covers them. One resume point is in flight at a time (a due one is
        skipped while the last is still syncing); ``force`` waits for it and records
        synchronously (the last batch, before the file is published), as does a
        ``checkpoint_seconds`` of 0 (a resume point after every batch, exactly).
        """
        if not force and time.monotonic() - self._last < self.checkpoint_seconds:
            return
        if not force and self._syncing is not None and self._syncing.is_alive():
            return
        self._wait()
        self._last = time.monotonic()
        if force or self.checkpoint_seconds <= 0:
            self._resume_point(batches_done)
            self._wait()
            return
        self._syncing = threading.Thread(
            target=self._resume_point, args=(batches_done,), name="resume-point", daemon=True
        )
        self._syncing.start()

    def _resume_point(self, batches_done: int) -> None:
        try:
            self.writer.sync()  # the rows first, then the record that vouches for them
            record = {
                "fingerprint": self.fingerprint,
                "plan": self.plan,
                "batches_done": batches_done,
            }
            write_text_atomic(self.record_path, json.dumps(record) + "\n")
        except BaseException as exc:  # raised on the loop thread by the next _wait()
            self._sync_error = exc

    def _wait(self) -> None:
        if self._syncing is not None:
            self._syncing.join()
            self._syncing = None
        if self._sync_error is not None:
            error, self._sync_error = self._sync_error, None
            raise error

    def publish(self) -> None:
        """Write the final metadata (the identity given at creation, nothing of the run) and
        rename the partial onto the output."""
        self._wait()
        self.writer.finish(self.meta)
        publish(self.partial, self.output)
        self.record_path.unlink(missing_ok=True)  # stale once published: no partial to match

    def close(self) -> None:
        if self._syncing is not None:  # never close the file under a running fsync
            self._syncing.join()
        self.writer.close()
