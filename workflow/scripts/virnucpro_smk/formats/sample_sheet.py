"""The sample sheet (config ``samples``): one sample per row, its ``sample`` name and its
``fasta`` file. Written by hand or by a spreadsheet, so ``#`` comment lines, blank lines,
other columns, a byte-order mark, Windows line ends, cells with surrounding blanks and rows
without their trailing empty cells are fine. Each row is then validated against
``workflow/schemas/samples.schema.yaml`` (``runtime.config_checks.load_sample_sheet``, with
the checks a schema cannot express)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from .table import Table

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "schemas" / "samples.schema.yaml"
with open(SCHEMA_PATH, encoding="utf-8") as _handle:
    #: the row schema (JSON Schema 2020-12), the one home of the sheet's column rules
    SCHEMA = yaml.safe_load(_handle)

#: Sample names: the schema's pattern without its anchors (a wildcard constraint, a regex).
SAMPLE_NAME_PATTERN = SCHEMA["properties"]["sample"]["pattern"].removeprefix("^").removesuffix("$")


@dataclass(frozen=True)
class SampleRow:
    sample: str
    fasta: str


SAMPLE_SHEET = Table(
    "sample sheet", SampleRow, extra_columns=True, comments=True, ragged=True, strip=True
)
