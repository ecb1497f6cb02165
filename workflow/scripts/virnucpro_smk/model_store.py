"""Where model weights live, how they get there, and the offline guard.

Compute nodes are often offline, so weights are fetched only by the ``download_models`` rule
(meant for a login node, pinned revision, ``huggingface_hub.snapshot_download``) into
``<models_dir>/<name>/``; a ``manifest.json`` written last marks the directory complete.
Extraction jobs run with ``HF_HUB_OFFLINE=1`` and fail with a message naming that rule when
weights are missing.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from .atomic import write_text_atomic
from .errors import ModelMismatchError, ModelMissingError
from .registry import ModelSpec

MANIFEST = "manifest.json"
HUB_PATTERNS = ["*.json", "*.txt", "*.safetensors", "*.model"]


def model_dir(spec: ModelSpec, models_dir: str | os.PathLike[str]) -> Path:
    """Local directory of a model: the configured one for ``local``, else under models_dir."""
    if spec.provider == "local":
        return Path(spec.source)
    return Path(models_dir) / spec.name


def write_manifest(directory: Path, spec: ModelSpec, **extra: Any) -> Path:
    manifest = {
        **spec.identity(),
        "provider": spec.provider,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "files": sorted(p.name for p in directory.iterdir() if p.name != MANIFEST),
        **extra,
    }
    path = directory / MANIFEST
    write_text_atomic(path, json.dumps(manifest, indent=2) + "\n")
    return path


def check_model_dir(spec: ModelSpec, directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Return the manifest of a complete model directory, or explain what to run."""
    directory = Path(directory)
    hint = (
        "run `snakemake download_models` on a machine with internet access (e.g. a login node) "
        f"first, or point models.{spec.name}.source at a local directory (provider: local)"
    )
    if spec.provider == "standin":
        hint = "run `snakemake build_standin_models` (or any target: it builds them when missing)"
    if spec.provider == "local":
        if not (directory / "config.json").is_file():
            raise ModelMissingError(f"model {spec.name}: {directory} has no config.json")
        return {"model": spec.name, "provider": "local", "source": str(directory)}
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise ModelMissingError(f"model {spec.name}: weights not found in {directory}; {hint}")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("model") != spec.name or manifest.get("width") != spec.width:
        raise ModelMismatchError(
            f"{manifest_path}: holds {manifest.get('model')} ({manifest.get('width')}d), "
            f"but the registry asks for {spec.name} ({spec.width}d)"
        )
    return manifest


def download_model(spec: ModelSpec, directory: str | os.PathLike[str]) -> Path:
    """Fetch a hub model at its pinned revision into ``directory`` and write its manifest."""
    from huggingface_hub import HfApi, snapshot_download

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    info = HfApi().model_info(spec.source, revision=spec.revision)
    names = [s.rfilename for s in info.siblings or []]
    patterns = list(HUB_PATTERNS)
    if not any(n.endswith(".safetensors") for n in names):
        patterns.append("pytorch_model.bin")  # older repos ship only the pickle-free .bin
    if spec.trust_remote_code:
        patterns.append("*.py")
    snapshot_download(
        repo_id=spec.source, revision=info.sha, local_dir=directory, allow_patterns=patterns
    )
    return write_manifest(directory, spec, resolved_revision=info.sha)


def set_offline() -> None:
    """Forbid hub access in this process (extraction jobs)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
