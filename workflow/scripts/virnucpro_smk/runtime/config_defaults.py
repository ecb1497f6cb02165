"""The schema's defaults, for code that runs without a workflow config.

The config schema (``workflow/schemas/config.schema.yaml``) is the one home of every default:
the workflow gets them filled in by :func:`.config_checks.check_config`; a command that runs
outside the workflow (``virnucpro-smk decide``) and the tests take them from here, so that no
default is written a second time in code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config_checks import _fill_defaults, load_schema

SCHEMA = Path(__file__).resolve().parents[3] / "schemas" / "config.schema.yaml"


def schema_defaults(section: str) -> dict[str, Any]:
    """A top-level config section (e.g. ``compare``) with every default the schema states."""
    schema = load_schema(str(SCHEMA))
    values: dict[str, Any] = {}
    _fill_defaults(values, schema["properties"][section], schema)
    return values
