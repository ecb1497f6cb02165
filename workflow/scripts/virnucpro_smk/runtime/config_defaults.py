"""The config schema and its defaults: the one place a configured default is written.

The config schema (``workflow/schemas/config.schema.yaml``) is the one home of every default:
the workflow gets them filled in by :func:`.config_checks.check_config`; code that runs
without a workflow config (``virnucpro-smk regions``/``decide``/``train``, a registry entry
read from a YAML file, the tests) takes them from here, so that no default is written a
second time in code (``tests/test_schema_defaults.py`` scans the package for one).

Kept free of the package's other modules, so that any of them may ask it.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SCHEMA = Path(__file__).resolve().parents[3] / "schemas" / "config.schema.yaml"


@cache
def load_schema(schema_path: str | os.PathLike[str]) -> dict[str, Any]:
    """The YAML schema as a dict (cached: the Snakefile and tests read it many times)."""
    with open(schema_path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def resolve_ref(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow local ``$ref``s (``#/$defs/...``), the only kind this project's schemas use."""
    while "$ref" in schema:
        node: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def fill_defaults(instance: Any, schema: Mapping[str, Any] | None, root: Mapping[str, Any]):
    """Set the schema's ``default`` values where a key is absent (as snakemake's validate did)."""
    if schema is None:
        return
    schema = resolve_ref(schema, root)
    if isinstance(instance, dict) and schema.get("type") == "object":
        properties = schema.get("properties", {})
        for key, sub in properties.items():
            sub = resolve_ref(sub, root)
            if key not in instance and "default" in sub:
                instance[key] = copy.deepcopy(sub["default"])
        extra = schema.get("additionalProperties")
        for key, value in instance.items():
            child = properties.get(key, extra if isinstance(extra, Mapping) else None)
            fill_defaults(value, child, root)
    elif isinstance(instance, list) and isinstance(schema.get("items"), Mapping):
        for value in instance:
            fill_defaults(value, schema["items"], root)


def schema_defaults(section: str) -> dict[str, Any]:
    """A top-level config section (e.g. ``compare``) with every default the schema states."""
    schema = load_schema(str(SCHEMA))
    values: dict[str, Any] = {}
    fill_defaults(values, schema["properties"][section], schema)
    return values


def with_model_defaults(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A model registry entry (``models.<name>``) with the schema's defaults filled in."""
    schema = load_schema(str(SCHEMA))
    values = copy.deepcopy(dict(entry))
    fill_defaults(values, schema["$defs"]["model"], schema)
    return values
