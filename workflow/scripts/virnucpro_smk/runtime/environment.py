"""Environment validation: the software and hardware the GPU stages rely on.

Run once per workflow (rule ``validate_environment``) before any GPU job, so that a missing
CUDA device or an old transformers without SDPA in EsmModel fails in seconds with a clear
message instead of after hours in a queue.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
from pathlib import Path
from typing import Any

from ..errors import EnvironmentCheckError

#: The same minimums as pyproject.toml (tests/test_environment.py checks they agree).
#: transformers 4.56: the first with ``from_pretrained(dtype=...)``; its per-layer ESM rotary
#: layout loads as the newest's shared one does (models/esm.py, tests/test_esm_rotary.py).
MIN_VERSIONS = {"torch": "2.5", "transformers": "4.56"}
DEVICES = ("auto", "cuda", "cpu")


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split("+")[0].split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def version_at_least(version: str, minimum: str) -> bool:
    """Compare release numbers (``2.13.0+cpu`` >= ``2.5``), ignoring local/pre-release tags."""
    return _version_tuple(version) >= _version_tuple(minimum)


def package_versions(
    names: tuple[str, ...] = (
        "torch",
        "transformers",
        "tokenizers",
        "safetensors",
        "snakemake",
        "biopython",
        "numpy",
    ),
) -> dict[str, str]:
    """Installed versions of the packages whose behaviour shapes the artifacts."""
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def nvml_devices() -> list[dict[str, Any]]:
    """Name, memory and driver of each GPU, read through NVML (nvidia-ml-py's ``pynvml``)."""
    import pynvml

    pynvml.nvmlInit()
    try:
        driver = pynvml.nvmlSystemGetDriverVersion()
        driver = driver.decode() if isinstance(driver, bytes) else driver
        devices = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = pynvml.nvmlDeviceGetName(handle)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            devices.append(
                {
                    "index": index,
                    "name": name.decode() if isinstance(name, bytes) else name,
                    "memory_total_mib": memory.total // 2**20,
                    "driver": driver,
                }
            )
        return devices
    finally:
        pynvml.nvmlShutdown()


NVIDIA_DRIVER = Path("/proc/driver/nvidia/version")
_NO_DEVICES = ("", "-1", "none", "NoDevFiles")


def host_has_gpu() -> bool:
    """Cheap (no CUDA initialisation, no torch import): does this machine offer an NVIDIA GPU?

    True when the NVIDIA kernel driver is loaded and ``CUDA_VISIBLE_DEVICES`` does not hide
    every device. Meant for decisions at DAG time (``device: auto``), where initialising CUDA
    in the Snakemake process would take seconds and grab GPU memory.
    """
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in _NO_DEVICES:
        return False
    return NVIDIA_DRIVER.exists()


def gpu_request(device: str) -> int:
    """GPUs a GPU job asks Snakemake for (``resources: gpu``), decided once at DAG time.

    ``cuda``: 1 (and the job fails if it gets no CUDA). ``cpu``: 0. ``auto``: 1 when this
    machine has an NVIDIA driver (``host_has_gpu``), else 0 so the jobs run on the CPU on
    purpose, instead of each failing for want of a GPU. On a cluster whose submit node has no
    GPU, set ``device: cuda``.
    """
    if device not in DEVICES:
        raise EnvironmentCheckError(f"device must be one of {DEVICES}, got {device!r}")
    if device == "auto":
        return 1 if host_has_gpu() else 0
    return 1 if device == "cuda" else 0


def cuda_unavailable_reason() -> str:
    """Why torch sees no CUDA device, most specific cause first (one phrase)."""
    import torch

    if torch.version.cuda is None:
        return f"this torch build ({torch.__version__}) has no CUDA support"
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in _NO_DEVICES:
        return f"CUDA_VISIBLE_DEVICES is {visible!r}: no GPU was assigned to this job"
    if not NVIDIA_DRIVER.exists():
        return f"no NVIDIA driver is loaded on this machine ({NVIDIA_DRIVER} is missing)"
    return (
        f"torch {torch.__version__} (CUDA {torch.version.cuda}) cannot initialise CUDA with "
        "this driver (driver older than the CUDA build?)"
    )


def resolve_device(requested: str, gpu_requested: int | None = None) -> str:
    """The device a process will use: ``cuda`` or ``cpu``; never silently the CPU for a GPU job.

    * ``cpu``: always the CPU.
    * ``cuda``: CUDA, or an error naming why it is not usable.
    * ``auto`` in a Snakemake job (``gpu_requested`` = the job's ``resources.gpu``): a job
      given a GPU must get CUDA, else an error naming the cause and the fix (``device: cpu``);
      a job given no GPU runs on the CPU (using one would bypass ``--resources gpu``).
    * ``auto`` outside Snakemake (``gpu_requested`` None: benchmarks, the CLI): CUDA when
      torch sees a device, else the CPU.
    """
    import torch

    if requested not in DEVICES:
        raise EnvironmentCheckError(f"device must be one of {DEVICES}, got {requested!r}")
    if requested == "cpu":
        return "cpu"
    if requested == "auto" and gpu_requested is not None and gpu_requested < 1:
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if requested == "auto" and gpu_requested is None:
        return "cpu"
    given = "device is 'cuda'" if requested == "cuda" else f"the job was given gpu={gpu_requested}"
    raise EnvironmentCheckError(
        f"{given} but CUDA is not usable: {cuda_unavailable_reason()}; "
        "set device: cpu to run on the CPU on purpose"
    )


def validate_environment(requested_device: str, gpu_requested: int | None = None) -> dict[str, Any]:
    """Check requirements; return a report or raise EnvironmentCheckError listing every problem.

    ``gpu_requested`` is the job's ``resources.gpu``: with ``device: auto`` a job given a GPU
    fails here, in seconds, when CUDA is not usable (see ``resolve_device``).
    """
    problems: list[str] = []
    versions = package_versions()
    for name, minimum in MIN_VERSIONS.items():
        found = versions.get(name, "not installed")
        if found == "not installed" or not version_at_least(found, minimum):
            problems.append(f"{name} >= {minimum} is required, found {found}")
    report: dict[str, Any] = {
        "requested_device": requested_device,
        "gpu_requested": gpu_requested,
        "versions": versions,
    }
    try:
        import torch
        import torch.nn.functional as F

        report["sdpa"] = hasattr(F, "scaled_dot_product_attention")
        if not report["sdpa"]:
            problems.append("torch.nn.functional.scaled_dot_product_attention is missing")
        device = resolve_device(requested_device, gpu_requested)
        report["device"] = device
        if device == "cuda":
            report["cuda"] = {
                "torch_cuda_version": torch.version.cuda,
                "device_count": torch.cuda.device_count(),
                "bf16_supported": torch.cuda.is_bf16_supported(),
                "torch_device_name": torch.cuda.get_device_name(0),
            }
            try:
                report["cuda"]["nvml"] = nvml_devices()
            except Exception as exc:  # NVML missing in some containers: record, don't fail
                report["cuda"]["nvml_error"] = f"{type(exc).__name__}: {exc}"
        else:
            report["note"] = "no GPU will be used: every model runs on the CPU in float32"
    except ImportError as exc:
        problems.append(f"cannot import torch: {exc}")
    except EnvironmentCheckError as exc:
        problems.append(str(exc))
    report["ok"] = not problems
    report["problems"] = problems
    if problems:
        raise EnvironmentCheckError("environment check failed:\n  - " + "\n  - ".join(problems))
    return report
