"""One GPU per job on a multi-GPU node.

``snakemake --resources gpu=N`` only counts GPU jobs; it never tells a job which device to
use, so concurrent jobs would all land on GPU 0. Each GPU job therefore takes a slot from a
node-local pool of lock files, one per visible device, with ``fcntl.flock``: the kernel drops
the lock when the process exits for any reason (SIGKILL and out-of-memory kills included), so
a dead job never keeps its GPU. The job then addresses its device as ``cuda:<index>``
(``index`` counts within the visible devices), which works whether or not CUDA was
initialised before the slot was taken.

When a scheduler already assigned devices (SLURM sets ``CUDA_VISIBLE_DEVICES``), the pool is
made of those devices only, so the allocator never steps outside the job's allocation.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ENV = "CUDA_VISIBLE_DEVICES"


@dataclass(frozen=True)
class GpuSlot:
    device: str  # the id as the node knows it (what CUDA_VISIBLE_DEVICES lists)
    index: int  # its position among the visible devices: use torch.device(f"cuda:{index}")

    @property
    def torch_device(self) -> str:
        return f"cuda:{self.index}"


def default_lock_dir() -> Path:
    return Path(os.environ.get("TMPDIR", "/tmp")) / f"virnucpro-gpu-slots-{os.getuid()}"


def visible_devices(n_devices: int | None = None) -> list[str]:
    """Devices this job may use: the scheduler's list if set, else every device on the node."""
    assigned = os.environ.get(ENV)
    if assigned is not None and assigned.strip() != "":
        return [d.strip() for d in assigned.split(",") if d.strip()]
    if n_devices is None:
        n_devices = _count_devices()
    return [str(i) for i in range(n_devices)]


def _count_devices() -> int:
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            return int(pynvml.nvmlDeviceGetCount())
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # no NVML (CPU machine, container without driver): ask torch
        import torch

        return torch.cuda.device_count()


@contextlib.contextmanager
def gpu_slot(
    lock_dir: str | os.PathLike[str] | None = None,
    n_devices: int | None = None,
    timeout: float = 24 * 3600.0,
    poll: float = 0.5,
    set_env: bool = False,
) -> Iterator[GpuSlot]:
    """Hold one device of the pool for the duration of the block; yield it.

    ``set_env`` also narrows CUDA_VISIBLE_DEVICES to the device (for child processes that
    start CUDA afresh).

    Waits (polling) while every device is taken, up to ``timeout`` seconds.
    """
    devices = visible_devices(n_devices)
    if not devices:
        raise RuntimeError("no GPU visible to this job (CUDA_VISIBLE_DEVICES / NVML)")
    directory = Path(lock_dir) if lock_dir else default_lock_dir()
    directory.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    waited = False
    while True:
        for index, device in enumerate(devices):
            handle = open(directory / f"gpu{device}.lock", "a+")  # noqa: SIM115 - held open
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            previous = os.environ.get(ENV)
            if set_env:
                os.environ[ENV] = device
            log.info("GPU slot: using device %s of %s", device, ",".join(devices))
            try:
                yield GpuSlot(device, index)
            finally:
                if set_env:
                    if previous is None:
                        os.environ.pop(ENV, None)
                    else:
                        os.environ[ENV] = previous
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"no free GPU among {devices} after {timeout:.0f} s")
        if not waited:
            log.info("all GPUs (%s) busy: waiting for a free slot", ",".join(devices))
            waited = True
        time.sleep(poll)


def granted_gpus(resources: Any) -> int:
    """GPUs Snakemake granted a job: its ``resources.gpu`` (0 when the rule asks for none)."""
    return int(getattr(resources, "gpu", 0) or 0)


@contextlib.contextmanager
def job_device(
    requested: str,
    gpu_requested: int | None = None,
    lock_dir: str | os.PathLike[str] | None = None,
) -> Iterator[str]:
    """The torch device a job runs on, held for the block: ``cpu`` or a GPU slot's ``cuda:<i>``.

    ``requested`` is the config's ``device``, ``gpu_requested`` the job's ``resources.gpu``;
    see ``environment.resolve_device`` for the rule (a job given a GPU never falls back to the CPU).
    """
    from .environment import resolve_device

    if resolve_device(requested, gpu_requested) != "cuda":
        yield "cpu"
        return
    with gpu_slot(lock_dir) as slot:
        import torch

        # the slot's device becomes the process's current one: work that names no device
        # (the DataLoader's pin-memory thread, torch.cuda calls without an index) would
        # otherwise open a context on cuda:0, a GPU another job holds
        torch.cuda.set_device(slot.index)
        yield slot.torch_device
