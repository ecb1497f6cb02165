"""The model registry: every embedding model the workflow may run, keyed by a path-safe name.

Names carry the model and its output width (``fastesm650_1280d``), because the width decides
what can be merged with what: every artifact path contains the name, and every artifact's
metadata repeats it, so ESM2 3B and FastESM2_650 outputs can never be mixed up silently.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import InputError
from ..runtime.config_defaults import with_model_defaults

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.]*_(\d+)d$")
ARCHITECTURE_KIND = {"dnabert2": "dna", "esm2": "protein"}


#: ModelSpec fields that change how fast a model runs or how its work is cut into jobs, never
#: its vectors.
SPEED_ONLY_FIELDS = ("tokens_per_batch", "gflop_per_token")


@dataclass(frozen=True)
class ModelSpec:
    """One registry entry, with defaults filled in (the schema's by :func:`parse_model`)."""

    name: str
    kind: str
    architecture: str
    provider: str
    source: str
    width: int
    # the schema's defaults (models.<name>.*): required here, keyword-only so the fields keep
    # their order (``identity`` and ``result_settings`` follow it)
    revision: str = field(kw_only=True)
    dtype: dict[str, str] = field(kw_only=True)  # per device type: cuda, cpu
    tokens_per_batch: int = field(kw_only=True)
    max_residues: int = field(kw_only=True)
    token_dropout: bool = field(kw_only=True)
    trust_remote_code: bool = field(kw_only=True)
    standin: dict[str, Any] = field(default_factory=dict)
    # forward-pass cost (~2 x parameters): what sizes the model's jobs (runtime.job_plan)
    gflop_per_token: float = field(kw_only=True)

    @property
    def is_standin(self) -> bool:
        return self.provider == "standin"

    def dtype_for(self, device: str) -> str:
        """The configured dtype of a device type (``cpu``; anything else is a GPU)."""
        return self.dtype["cpu" if device == "cpu" else "cuda"]

    def result_settings(self) -> dict[str, Any]:
        """Every field except those that only change speed (``SPEED_ONLY_FIELDS``): what a
        rule's ``params`` hold so that changing a model's settings reruns its jobs, and
        changing its batch size does not (batched and one-at-a-time vectors agree within
        1e-5: tests/test_embeddings.py)."""
        return {k: v for k, v in asdict(self).items() if k not in SPEED_ONLY_FIELDS}

    def identity(self) -> dict[str, Any]:
        """What an artifact records about the model that made it."""
        return {
            "model": self.name,
            "kind": self.kind,
            "architecture": self.architecture,
            "source": self.source,
            "revision": self.revision,
            "width": self.width,
        }


def parse_model(name: str, entry: dict[str, Any]) -> ModelSpec:
    """Build a ModelSpec from a config entry, checking what the JSON schema cannot."""
    where = f"config key models.{name}"
    match = _NAME.match(name)
    if not match:
        raise InputError(
            f"{where}: model names must be lower-case, path-safe and end in _<width>d "
            f"(e.g. fastesm650_1280d), got {name!r}"
        )
    width = int(entry.get("width", -1))
    if int(match.group(1)) != width:
        raise InputError(f"{where}: the name says {match.group(1)}d but width is {width}")
    kind, arch = entry.get("kind"), entry.get("architecture")
    if ARCHITECTURE_KIND.get(arch) != kind:
        raise InputError(f"{where}: architecture {arch!r} is not a {kind!r} model")
    provider = entry.get("provider")
    if (provider == "standin") != ("standin" in name):
        raise InputError(
            f"{where}: stand-in models (provider: standin) and only they must have 'standin' "
            "in their name, so a random-weight model is never mistaken for a real one"
        )
    known = set(ModelSpec.__dataclass_fields__) - {"name"}
    unknown = set(entry) - known
    if unknown:
        raise InputError(f"{where}: unknown field(s) {sorted(unknown)}")
    return ModelSpec(name=name, **with_model_defaults(entry))  # the schema's defaults


def parse_registry(models: dict[str, dict[str, Any]]) -> dict[str, ModelSpec]:
    return {name: parse_model(name, entry) for name, entry in models.items()}


def configured_model(registry: dict[str, ModelSpec], name: str, kind: str, key: str) -> ModelSpec:
    """The registry entry ``name`` of ``kind``; errors name the config key that chose it."""
    if name not in registry:
        raise InputError(f"config key {key}: unknown model {name!r}; known: {sorted(registry)}")
    if registry[name].kind != kind:
        raise InputError(f"config key {key}: {name!r} is a {registry[name].kind} model")
    return registry[name]


def select_models(
    registry: dict[str, ModelSpec], dna_model: str, protein_models: list[str]
) -> tuple[ModelSpec, list[ModelSpec]]:
    """The DNA model and protein models a run uses; errors name the config key."""
    dna = configured_model(registry, dna_model, "dna", "dna_model")
    proteins = [configured_model(registry, n, "protein", "protein_models") for n in protein_models]
    if len(set(protein_models)) != len(protein_models):
        raise InputError("config key protein_models: a model is listed twice")
    return dna, proteins


def pair_tag(dna: str, protein: str) -> str:
    """Directory name of artifacts built from a DNA and a protein model."""
    return f"{dna}+{protein}"


def feature_width(dna: ModelSpec, protein: ModelSpec) -> int:
    return dna.width + protein.width


def classifier_tag(chunk_length: int, dna: ModelSpec, protein: ModelSpec) -> str:
    """``300bp_dnaberts_768d+fastesm650_1280d_2048d``: chunk length, models and input width."""
    return f"{chunk_length}bp_{pair_tag(dna.name, protein.name)}_{feature_width(dna, protein)}d"
