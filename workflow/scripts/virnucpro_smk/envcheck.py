"""Environment validation: the software and hardware the GPU stages rely on.

Run once per workflow (rule ``validate_environment``) before any GPU job, so that a missing
CUDA device or an old transformers without SDPA in EsmModel fails in seconds with a clear
message instead of after hours in a queue.
"""

from __future__ import annotations

import importlib.metadata
import platform
from typing import Any

from .errors import EnvironmentCheckError

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


def resolve_device(requested: str) -> str:
    """``auto`` becomes ``cuda`` when a CUDA device is usable, else ``cpu``."""
    import torch

    if requested not in DEVICES:
        raise EnvironmentCheckError(f"device must be one of {DEVICES}, got {requested!r}")
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


def validate_environment(requested_device: str = "auto") -> dict[str, Any]:
    """Check requirements; return a report or raise EnvironmentCheckError listing every problem."""
    problems: list[str] = []
    versions = package_versions()
    for name, minimum in MIN_VERSIONS.items():
        found = versions.get(name, "not installed")
        if found == "not installed" or not version_at_least(found, minimum):
            problems.append(f"{name} >= {minimum} is required, found {found}")
    report: dict[str, Any] = {"requested_device": requested_device, "versions": versions}
    try:
        import torch
        import torch.nn.functional as F

        report["sdpa"] = hasattr(F, "scaled_dot_product_attention")
        if not report["sdpa"]:
            problems.append("torch.nn.functional.scaled_dot_product_attention is missing")
        device = resolve_device(requested_device)
        report["device"] = device
        if device == "cuda":
            if not torch.cuda.is_available():
                problems.append(
                    "device is 'cuda' but no CUDA device is visible to torch "
                    f"(torch {torch.__version__}, CUDA build {torch.version.cuda}); "
                    "check CUDA_VISIBLE_DEVICES and the driver, or set device: cpu"
                )
            else:
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
