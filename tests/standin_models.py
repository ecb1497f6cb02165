"""Helpers to build the stand-in models of config/standin.yaml once per test session."""

from __future__ import annotations

from pathlib import Path

import yaml

from conftest import ROOT
from virnucpro_smk.models.registry import ModelSpec, parse_registry
from virnucpro_smk.models.standin import build_standin


def standin_specs() -> dict[str, ModelSpec]:
    cfg = yaml.safe_load((ROOT / "config" / "standin.yaml").read_text())
    return parse_registry(cfg["models"])


def build_all(directory: Path) -> dict[str, tuple[ModelSpec, Path]]:
    out = {}
    for name, spec in standin_specs().items():
        build_standin(spec, directory / name)
        out[name] = (spec, directory / name)
    return out
