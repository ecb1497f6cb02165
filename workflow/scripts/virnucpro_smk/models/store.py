"""Where model weights live, how they get there, what they are, and the offline guard.

Compute nodes are often offline, so weights are fetched only by the ``download_models`` rule
(meant for a login node, pinned revision, ``huggingface_hub.snapshot_download``) into
``<models_dir>/<name>/``. A download cannot be half done: weights that the hub ships only as
pickled ``.bin`` files (ESM2 3B: two shards and an index) are converted once to safetensors
(``torch.load(weights_only=True)``, so no code runs), every file the index names is opened and
its tensor names checked, and only then is ``manifest.json`` written: its presence marks the
directory complete, and it records the resolved commit and every weight file with its size.
Loaders read safetensors straight onto the target device (``load_state``).

Extraction jobs run with ``HF_HUB_OFFLINE=1`` and fail with a message naming that rule when
weights are missing.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported where weights are touched, not at DAG build
    import torch

from ..errors import InputError, ModelMismatchError, ModelMissingError
from ..io.atomic import atomic_path, write_text_atomic
from ..io.hashing import files_sha256
from .registry import ModelSpec

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
SAFETENSORS = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
BIN = "pytorch_model.bin"
BIN_INDEX = "pytorch_model.bin.index.json"
#: Everything but weights: configs, tokenizers, vocabularies.
HUB_PATTERNS = ["*.json", "*.txt", "*.model"]
NO_NETWORK = (
    "no network: run `snakemake download_models` on a machine with internet access, "
    "or use provider: local"
)
#: Exception class names (anywhere in the class hierarchy or the cause chain) that mean the
#: hub could not be reached: httpx/requests transport errors, huggingface_hub's offline mode.
_NETWORK_ERRORS = {
    "ConnectError",
    "ConnectTimeout",
    "ConnectionError",
    "NetworkError",
    "TimeoutException",
    "TransportError",
    "OfflineModeIsEnabled",
    "LocalEntryNotFoundError",
}


def model_dir(spec: ModelSpec, models_dir: str | os.PathLike[str]) -> Path:
    """Local directory of a model: the configured one for ``local``, else under models_dir."""
    if spec.provider == "local":
        return Path(spec.source)
    return Path(models_dir) / spec.name


# --------------------------------------------------------------------------- weight files


def _read_index(path: Path) -> dict[str, str]:
    try:
        weight_map = json.loads(path.read_text())["weight_map"]
    except (OSError, ValueError, KeyError) as exc:
        raise ModelMissingError(f"{path}: unreadable weight index ({exc})") from None
    return {str(k): str(v) for k, v in weight_map.items()}


def weight_files(directory: str | os.PathLike[str]) -> list[Path]:
    """The safetensors files that hold a model's weights (index order), empty if none."""
    directory = Path(directory)
    index = directory / SAFETENSORS_INDEX
    if index.is_file():
        return [directory / name for name in sorted(set(_read_index(index).values()))]
    single = directory / SAFETENSORS
    return [single] if single.is_file() else []


def verify_weights(directory: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Check that every weight file is there and readable; return ``[{name, bytes}]``.

    With an index, each file it names must exist, have a readable safetensors header and hold
    exactly the tensors the index assigns to it. Errors are one line naming the file.
    """
    from safetensors import safe_open

    directory = Path(directory)
    index_path = directory / SAFETENSORS_INDEX
    expected: dict[str, set[str]] | None = None
    if index_path.is_file():
        expected = {}
        for tensor, name in _read_index(index_path).items():
            expected.setdefault(name, set()).add(tensor)
    files = weight_files(directory)
    if not files:
        raise ModelMissingError(f"{directory}: no {SAFETENSORS} or {SAFETENSORS_INDEX}")
    out = []
    for path in files:
        if not path.is_file():
            raise ModelMissingError(f"{path}: missing (named by {SAFETENSORS_INDEX})")
        try:
            with safe_open(str(path), framework="pt") as handle:
                names = set(handle.keys())
        except Exception as exc:  # safetensors raises its own error types for bad headers
            raise ModelMissingError(f"{path}: not a readable safetensors file ({exc})") from None
        if expected is not None and names != expected[path.name]:
            diff = sorted(names ^ expected[path.name])
            raise ModelMissingError(
                f"{path}: tensors differ from {SAFETENSORS_INDEX} ({len(diff)}, e.g. {diff[:3]})"
            )
        out.append({"name": path.name, "bytes": path.stat().st_size})
    return out


def _bin_shards(directory: Path) -> tuple[list[Path], bool]:
    """The pickled weight files a directory holds (index order) and whether an index names them."""
    index = directory / BIN_INDEX
    if index.is_file():
        return [directory / n for n in sorted(set(_read_index(index).values()))], True
    single = directory / BIN
    return ([single] if single.is_file() else []), False


def _torch_load(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a pickled checkpoint, never running pickled code (``weights_only``)."""
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError:  # legacy (non-zip) format cannot be memory-mapped
        return torch.load(path, map_location="cpu", weights_only=True)


def _unshare(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """safetensors refuses tensors that share memory (tied weights): give each its own copy."""
    seen: set[tuple[int, int]] = set()
    out = {}
    for name, tensor in state.items():
        key = (tensor.untyped_storage().data_ptr(), tensor.storage_offset())
        out[name] = tensor.clone().contiguous() if key in seen else tensor.contiguous()
        seen.add(key)
    return out


def _save_safetensors(state: dict[str, torch.Tensor], path: Path) -> None:
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file(_unshare(state), str(tmp), metadata={"format": "pt"})


def convert_bin_weights(directory: str | os.PathLike[str]) -> list[Path]:
    """Convert a directory's ``.bin`` weights to safetensors once; return the .bin files.

    A sharded checkpoint becomes as many safetensors shards plus ``model.safetensors.index.json``
    (the hub's own sharding keeps each file a manageable size); a single ``pytorch_model.bin``
    becomes ``model.safetensors``. The ``.bin`` files are left in place for the caller to remove
    once the result is verified.
    """
    directory = Path(directory)
    shards, indexed = _bin_shards(directory)
    for path in shards:
        if not path.is_file():
            raise ModelMissingError(f"{path}: missing (named by {BIN_INDEX})")
    if not indexed:
        if shards:
            log.info("converting %s to %s", shards[0].name, SAFETENSORS)
            _save_safetensors(_torch_load(shards[0]), directory / SAFETENSORS)
        return shards
    weight_map: dict[str, str] = {}
    total = 0
    for i, path in enumerate(shards, start=1):
        name = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        log.info("converting %s to %s", path.name, name)
        state = _torch_load(path)
        _save_safetensors(state, directory / name)
        for tensor_name, tensor in state.items():
            weight_map[tensor_name] = name
            total += tensor.numel() * tensor.element_size()
        del state
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    write_text_atomic(directory / SAFETENSORS_INDEX, json.dumps(index, indent=2) + "\n")
    return [*shards, directory / BIN_INDEX]


def load_state(
    directory: str | os.PathLike[str],
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
) -> dict[str, torch.Tensor]:
    """All weights of a model directory, read from safetensors straight onto ``device``.

    Floating tensors are cast to ``dtype`` one at a time as they are read, so the device
    never holds the stored-precision model: the peak is the run-dtype model plus one stored
    tensor (ESM2 3B in bf16: ~5.7 GB, not the ~17 GB of the whole fp32 set plus its cast).
    A directory without safetensors (a ``provider: local`` model kept as ``.bin``) is read
    with ``torch.load(weights_only=True)``.
    """
    from safetensors import safe_open

    directory = Path(directory)
    files = weight_files(directory)
    if files:
        state: dict[str, torch.Tensor] = {}
        for path in files:
            if not path.is_file():
                raise ModelMissingError(f"{path}: missing (named by {SAFETENSORS_INDEX})")
            with safe_open(str(path), framework="pt", device=str(device)) as handle:
                for key in handle.keys():  # noqa: SIM118 - safe_open is not a mapping
                    tensor = handle.get_tensor(key)
                    if dtype is not None and tensor.is_floating_point():
                        tensor = tensor.to(dtype)
                    state[key] = tensor
                    del tensor  # the stored-precision copy goes before the next is read
        return state
    else:
        shards, _ = _bin_shards(directory)
        if not shards:
            raise ModelMissingError(f"{directory}: no weights ({SAFETENSORS} or {BIN})")
        log.warning("%s: no safetensors; reading pickled weights with weights_only", directory)
        state = {}
        for path in shards:
            state.update({k: v.to(device) for k, v in _torch_load(path).items()})
    if dtype is not None:
        state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}
    return state


def stored_dtype(directory: str | os.PathLike[str]) -> str | None:
    """The floating dtype the weights are stored in (from the safetensors header only)."""
    from safetensors import safe_open

    for path in weight_files(directory)[:1]:
        with safe_open(str(path), framework="pt") as handle:
            for name in handle.keys():  # noqa: SIM118 - not a dict
                dtype = handle.get_slice(name).get_dtype()
                if dtype in ("F32", "F16", "BF16", "F64"):
                    return {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}.get(
                        dtype, "float64"
                    )
    return None


# --------------------------------------------------------------------------- manifest


def write_manifest(directory: Path, spec: ModelSpec, **extra: Any) -> Path:
    """Write ``manifest.json`` (last: it marks the directory complete) after verifying weights."""
    weights = verify_weights(directory)
    manifest = {
        **spec.identity(),
        "provider": spec.provider,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "files": sorted(
            p.name for p in directory.iterdir() if p.name != MANIFEST and not p.name.startswith(".")
        ),
        "weights": weights,
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


# --------------------------------------------------------------------------- download


def is_network_error(exc: BaseException) -> bool:
    """Whether an exception (or its cause) says the hub could not be reached."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if any(cls.__name__ in _NETWORK_ERRORS for cls in type(current).__mro__):
            return True
        current = current.__cause__ or current.__context__
    return False


def _hub_patterns(spec: ModelSpec, names: Iterable[str]) -> list[str]:
    """Files to fetch: configs and tokenizers, plus safetensors weights, else the .bin ones."""
    names = list(names)
    patterns = list(HUB_PATTERNS)
    if any(n.endswith(".safetensors") for n in names):
        patterns.append("*.safetensors")
    elif BIN_INDEX in names:
        patterns.extend(n for n in names if n.startswith("pytorch_model") and n.endswith(".bin"))
    else:
        patterns.append(BIN)
    if spec.trust_remote_code:
        patterns.append("*.py")
    return patterns


def download_model(spec: ModelSpec, directory: str | os.PathLike[str]) -> Path:
    """Fetch a hub model at its pinned revision into ``directory``; return its manifest.

    Pickled ``.bin`` weights are converted to safetensors and removed once the safetensors
    are verified (nothing else is deleted). The manifest is written only when every weight
    file loads, so a failed or interrupted download never looks finished.
    """
    import huggingface_hub

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MANIFEST).unlink(missing_ok=True)
    try:
        info = huggingface_hub.HfApi().model_info(spec.source, revision=spec.revision)
        names = [s.rfilename for s in info.siblings or []]
        huggingface_hub.snapshot_download(
            repo_id=spec.source,
            revision=info.sha,
            local_dir=directory,
            allow_patterns=_hub_patterns(spec, names),
        )
    except Exception as exc:
        if is_network_error(exc):
            raise ModelMissingError(f"model {spec.name}: {NO_NETWORK}") from None
        raise
    converted = [] if weight_files(directory) else convert_bin_weights(directory)
    weights = verify_weights(directory)
    for path in converted:
        path.unlink()
    log.info("%s @ %s: %d weight file(s) verified", spec.source, info.sha, len(weights))
    extra: dict[str, Any] = {"resolved_revision": info.sha}
    if converted:
        extra["converted_from"] = [p.name for p in converted]
    return write_manifest(directory, spec, **extra)


def set_offline() -> None:
    """Forbid hub access in this process (extraction jobs)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


# --------------------------------------------------------------------------- provenance


def _file_fingerprint(paths: list[Path]) -> list[list[Any]]:
    return [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in paths]


def model_provenance(
    spec: ModelSpec,
    model_dir: str | os.PathLike[str],
    known: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What exactly was run: ``model_commit`` plus how it was obtained.

    Hub models: the commit ``download_models`` resolved (from manifest.json). ``local`` and
    stand-in models: ``sha256:<hex>`` over their weight files (sorted names + contents).
    ``known`` is an earlier result (e.g. from the precision decision): when its files still
    have the same names, sizes and mtimes, the hash is reused instead of re-reading gigabytes.
    """
    directory = Path(model_dir)
    if spec.provider == "hub":
        manifest = check_model_dir(spec, directory)
        commit = manifest.get("resolved_revision")
        if not commit:
            raise ModelMissingError(
                f"{directory / MANIFEST}: no resolved_revision; rerun `snakemake download_models`"
            )
        return {"model_commit": commit, "commit_source": "hub"}
    files = weight_files(directory) or _bin_shards(directory)[0]
    if not files:
        raise ModelMissingError(f"model {spec.name}: no weight files in {directory}")
    fingerprint = _file_fingerprint(files)
    if known and known.get("fingerprint") == fingerprint and known.get("model_commit"):
        return dict(known)
    return {
        "model_commit": f"sha256:{files_sha256(files)}",
        "commit_source": "sha256 of weight files",
        "fingerprint": fingerprint,
    }


def check_downloaded_revision(spec: ModelSpec, models_dir: str | os.PathLike[str]) -> None:
    """Refuse a hub model whose downloaded weights are not the configured ``revision``.

    ``download_models`` records the configured revision and the commit it resolved in
    ``models/<name>/manifest.json``. A config naming another revision (a branch, a tag or a
    commit, full or abbreviated) would otherwise run silently on the old weights. Models not
    downloaded yet, stand-ins and local directories are not checked.
    """
    if spec.provider != "hub":
        return
    manifest_path = Path(models_dir) / spec.name / "manifest.json"
    if not manifest_path.is_file():
        return
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{manifest_path}: unreadable manifest ({exc}); delete it") from None
    recorded = str(manifest.get("revision") or "")
    resolved = str(manifest.get("resolved_revision") or "")
    wanted = spec.revision
    if wanted in (recorded, resolved) or (len(wanted) >= 7 and resolved.startswith(wanted)):
        return
    raise InputError(
        f"config key models.{spec.name}.revision: {wanted!r} is configured but "
        f"{manifest_path.parent} holds revision {recorded!r} (commit {resolved or '?'}); "
        f"delete {manifest_path.parent} and rerun `snakemake download_models`"
    )
