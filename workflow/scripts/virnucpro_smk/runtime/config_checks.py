"""Start-up checks of the workflow's configuration, sample sheet and downloaded models.

Everything a user can get wrong before the first job runs (a typo in a config key, a value out
of range, a sample name that would escape its directory, a sheet saved by a spreadsheet with a
BOM, a model downloaded at another revision) is reported here as ONE line that names the file
or key, the bad value and what is allowed: never a JSON-schema dump, never a traceback.

Functions raise :class:`InputError`; the Snakefile turns it into a ``WorkflowError`` at parse
time, and :func:`one_line_errors` does the same for code that runs inside input functions
(where Snakemake would otherwise print the error with a traceback).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import yaml
from jsonschema import Draft202012Validator, ValidationError
from jsonschema.exceptions import best_match

from ..errors import InputError, VirNucProError
from ..formats.sample_sheet import SAMPLE_NAME_PATTERN as SAMPLE_NAME_PATTERN
from ..formats.sample_sheet import SAMPLE_SHEET, SampleRow
from ..formats.sample_sheet import SCHEMA as SAMPLE_SCHEMA
from .config_defaults import fill_defaults, load_schema, resolve_ref

#: The sheet's columns, and the sample-name pattern of workflow/schemas/samples.schema.yaml
#: (also the wildcard constraint of ``sample``).
SAMPLE_COLUMNS = SAMPLE_SHEET.header
_ROW_VALIDATOR = Draft202012Validator(SAMPLE_SCHEMA)
_MAX_SHOWN = 60


# ---- sample sheet --------------------------------------------------------------------------


def _read_sheet(path: Path) -> str:
    if not path.exists():
        raise InputError(f"sample sheet {path}: file not found (config key samples)")
    if path.is_dir():
        raise InputError(f"sample sheet {path}: is a directory, expected a TSV file")
    try:
        # utf-8-sig drops the byte-order mark spreadsheets put in front of the first header.
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"sample sheet {path}: not UTF-8 text (byte {exc.start}); save it as UTF-8 TSV"
        ) from None


def sample_row_problem(row: SampleRow) -> str | None:
    """Why a sheet row breaks ``samples.schema.yaml`` (its first column that does, in words
    the schema gives: each column's ``title`` and ``description``), or None."""
    values = dataclasses.asdict(row)
    by_column = {e.absolute_path[0]: e for e in _ROW_VALIDATOR.iter_errors(values) if e.path}
    for column in SAMPLE_COLUMNS:
        if column in by_column:
            rules = SAMPLE_SCHEMA["properties"][column]
            value = values[column]
            if not value and column != SAMPLE_COLUMNS[0]:
                return f"sample {row.sample!r} has no {rules['title']}"
            return f"{rules['title']} {value!r} is not allowed: {rules['description']}"
    return None


def load_sample_sheet(
    path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None
) -> dict[str, str]:
    """Samples of a TSV sheet (``formats.sample_sheet``) as ``{name: fasta path}``.

    Each row is validated against ``workflow/schemas/samples.schema.yaml`` (the name's
    pattern, a non-empty path), then checked for what a schema cannot express: names unique
    even ignoring case, the FASTA file present. FASTA paths are relative to the project root
    (Snakemake's working directory; ``root`` when given) and are returned as written. Every
    problem is an :class:`InputError` naming the sheet, the line and the value.
    """
    path = Path(path)
    base = Path(root) if root is not None else Path.cwd()
    lines = _read_sheet(path).splitlines()
    samples: dict[str, str] = {}
    first_seen: dict[str, tuple[str, int]] = {}
    for number, row in SAMPLE_SHEET.numbered_rows_of(lines, f"sample sheet {path}"):
        where = f"sample sheet {path}, line {number}"
        problem = sample_row_problem(row)
        if problem:
            raise InputError(f"{where}: {problem}")
        name, fasta = row.sample, row.fasta
        folded = name.casefold()
        if folded in first_seen:
            other, other_line = first_seen[folded]
            why = (
                "is listed twice"
                if other == name
                else f"differs from {other!r} only in case (their directories collide on "
                "case-insensitive file systems)"
            )
            raise InputError(f"{where}: sample {name!r} {why} (line {other_line})")
        first_seen[folded] = (name, number)
        relative = not Path(fasta).is_absolute()
        target = base / fasta if relative else Path(fasta)
        if not target.is_file():
            what = "is a directory" if target.is_dir() else "not found"
            hint = " (paths are relative to the project root)" if relative else ""
            raise InputError(f"{where}: sample {name!r}: FASTA {fasta!r} {what}{hint}")
        samples[name] = fasta
    if not samples:
        raise InputError(f"sample sheet {path}: lists no samples (only a header)")
    return samples


def shared_fasta_warnings(
    samples: Mapping[str, str], root: str | os.PathLike[str] | None = None
) -> list[str]:
    """One warning per FASTA file that several samples name (by its resolved path).

    Allowed (e.g. one file under two names on purpose), but each sample is processed on its
    own: the work is done twice, so the user should hear of it.
    """
    base = Path(root) if root is not None else Path.cwd()
    names: dict[Path, list[str]] = {}
    for name, fasta in samples.items():
        target = Path(fasta) if Path(fasta).is_absolute() else base / fasta
        names.setdefault(target.resolve(), []).append(name)
    return [
        f"samples {', '.join(map(repr, shared))} name the same FASTA file {str(path)!r}: "
        "each is processed on its own (the work is done {} times)".format(len(shared))
        for path, shared in names.items()
        if len(shared) > 1
    ]


# ---- config against the JSON schema --------------------------------------------------------


def _child(
    schema: Mapping[str, Any], root: Mapping[str, Any], key: str | int, instance: Any
) -> Mapping[str, Any] | None:
    """The sub-schema that governs ``instance[key]``, or None when there is none."""
    schema = resolve_ref(schema, root)
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:  # descend through the branch of the instance's container type
            wanted = "array" if isinstance(instance, list) else "object"
            for branch in schema[combinator]:
                branch = resolve_ref(branch, root)
                if branch.get("type") == wanted:
                    return _child(branch, root, key, instance)
            return None
    if isinstance(key, int):
        items = schema.get("items")
        return items if isinstance(items, Mapping) else None
    if key in schema.get("properties", {}):
        return schema["properties"][key]
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, Mapping) else None


def _subschema(root: Mapping[str, Any], config: Any, path: Sequence[str | int]) -> Any:
    schema: Mapping[str, Any] | None = root
    instance = config
    for key in path:
        if schema is None:
            return None
        schema = _child(schema, root, key, instance)
        instance = instance[key]
    return resolve_ref(schema, root) if schema is not None else None


def _bounds(schema: Mapping[str, Any]) -> str:
    parts = []
    for key, sign in (
        ("minimum", ">="),
        ("exclusiveMinimum", ">"),
        ("maximum", "<="),
        ("exclusiveMaximum", "<"),
    ):
        if key in schema:
            parts.append(f"{sign} {schema[key]}")
    return " and ".join(parts)


def describe(schema: Mapping[str, Any] | None, root: Mapping[str, Any]) -> str:
    """What a schema allows, in words (``an integer >= 1 or a non-empty list of ...``)."""
    if not schema:
        return "anything"
    schema = resolve_ref(schema, root)
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:
            return " or ".join(describe(branch, root) for branch in schema[combinator])
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type")
    if kind in ("integer", "number"):
        bounds = _bounds(schema)
        noun = "an integer" if kind == "integer" else "a number"
        return f"{noun} {bounds}" if bounds else noun
    if kind == "string":
        text = "a non-empty string" if schema.get("minLength", 0) > 0 else "a string"
        return f"{text} matching {schema['pattern']}" if "pattern" in schema else text
    if kind == "boolean":
        return "true or false"
    if kind == "array":
        text = "a non-empty list" if schema.get("minItems", 0) > 0 else "a list"
        items = schema.get("items")
        return f"{text}, each item {describe(items, root)}" if items else text
    if kind == "object":
        keys = sorted(schema.get("properties", {}))
        if schema.get("minProperties", 0) > 0:
            return "a non-empty mapping"
        return f"a mapping with keys {', '.join(keys)}" if keys else "a mapping"
    return "a value of the documented type"


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _dotted(path: Sequence[str | int]) -> str:
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


def _suggest(key: str, valid: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"valid keys: {', '.join(sorted(valid))}" if valid else "no keys are allowed here"


def _unknown_key_message(error: ValidationError, path: list[str | int]) -> str:
    schema = error.schema
    known = list(schema.get("properties", {}))
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    unknown = sorted(
        str(k)
        for k in error.instance
        if k not in known and not any(p.search(str(k)) for p in patterns)
    )
    key = unknown[0] if unknown else "?"
    hint = _suggest(key, known)
    if not path:
        return f"config: unknown key {key!r} ({hint})"
    return f"config: {_dotted([*path, key])}: unknown key ({hint})"


def format_error(error: ValidationError, config: Any, root: Mapping[str, Any]) -> str:
    """One line for a schema violation: key path, bad value, what is allowed."""
    path = list(error.absolute_path)
    where = _dotted(path)
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        return _unknown_key_message(error, path)
    if error.validator == "required" and isinstance(error.instance, Mapping):
        missing = [k for k in error.validator_value if k not in error.instance]
        name = missing[0] if missing else "?"
        return f"config: {where + ': ' if where else ''}missing required key {name!r}"
    allowed = describe(_subschema(root, config, path), root)
    return f"config: {where}: {_show(error.instance)} is not allowed; expected {allowed}"


def _scalar_types(schema: Mapping[str, Any] | None, root: Mapping[str, Any]) -> set[str]:
    """The JSON types a schema allows for a value (through ``$ref`` and ``oneOf``/``anyOf``)."""
    if not schema:
        return set()
    schema = resolve_ref(schema, root)
    kinds = schema.get("type", ())
    types = {kinds} if isinstance(kinds, str) else set(kinds)
    for combinator in ("oneOf", "anyOf"):
        for branch in schema.get(combinator, ()):
            types |= _scalar_types(branch, root)
    return types


def _yaml_scalar(text: str) -> Any:
    """``text`` read as one YAML scalar, or ``text`` itself when it is not valid YAML."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _typed(text: str, types: set[str]) -> Any:
    """``text`` read as the YAML scalar the schema wants (number, integer or boolean), or
    ``text`` unchanged when it reads as none of them. ``1e-3`` counts as a number too (YAML
    1.1 wants ``1.0e-3``)."""
    value = _yaml_scalar(text)
    if isinstance(value, bool):
        return value if "boolean" in types else text
    if isinstance(value, int) and types & {"integer", "number"}:
        return value
    if "number" in types:
        if isinstance(value, float):
            return value
        try:
            return float(text)
        except ValueError:
            return text
    return text


def read_typed_strings(instance: Any, schema: Mapping[str, Any], root: Mapping[str, Any]) -> Any:
    """Strings where the schema wants a number, an integer or a boolean, read as YAML scalars.

    Snakemake parses a top-level ``--config key=value`` into a number, but a nested value
    (``--config 'predict={min_viral_fraction: 0.6}'``) reaches the workflow as the string
    ``'0.6'``, so no nested number or boolean could be set on the command line. A key whose
    schema also allows a string keeps the string. Returns ``instance``, changed in place.
    """
    schema = resolve_ref(schema, root)
    if isinstance(instance, str) and "enum" in schema:
        # an enum of mixed members (`compile: [auto, true, false]`): a string that is not a
        # member but reads as one (the string 'true' for true) is that member
        if instance in schema["enum"]:
            return instance
        value = _yaml_scalar(instance)
        return value if value in schema["enum"] and not isinstance(value, str) else instance
    if isinstance(instance, str):
        types = _scalar_types(schema, root)
        if "string" in types or not types & {"number", "integer", "boolean"}:
            return instance
        return _typed(instance, types)
    keys = (
        list(instance)
        if isinstance(instance, dict)
        else range(len(instance))
        if isinstance(instance, list)
        else []
    )
    for key in keys:
        child = _child(schema, root, key, instance)
        if child is not None:
            instance[key] = read_typed_strings(instance[key], child, root)
    return instance


def check_config(config: dict[str, Any], schema_path: str | os.PathLike[str]) -> None:
    """Validate ``config`` against the schema, then fill in the schema's defaults in place.

    Strings where the schema wants a number or a boolean are read as YAML first
    (:func:`read_typed_strings`: nested ``--config`` values arrive as strings). Raises
    :class:`InputError` with one line for the most relevant violation: an unknown key (at any
    level: typos are errors, with the closest valid key suggested) or a value that is not
    allowed (naming the key path, the value and what the schema allows).
    """
    schema = load_schema(str(schema_path))
    read_typed_strings(config, schema, schema)
    errors = list(Draft202012Validator(schema).iter_errors(config))
    if errors:
        unknown = [e for e in errors if e.validator == "additionalProperties"]
        # A misspelt key explains most follow-up errors (e.g. a now-missing required key).
        error = best_match(unknown or errors)
        raise InputError(format_error(error, config, schema))
    fill_defaults(config, schema, schema)


# ---- errors raised while Snakemake evaluates input functions --------------------------------


def stop(message: str) -> NoReturn:
    """Print ``message`` as Snakemake's one-line error and end the run (exit status 1).

    Snakemake wraps every Exception raised in an input function into an
    InputFunctionException printed with a traceback. SystemExit is not an Exception: it
    leaves input-function evaluation untouched, Snakemake's API context still cleans up (the
    DAG is built before any lock is taken) and the process exits 1 with this line only.
    """
    try:
        from snakemake.logging import logger

        logger.error(message)
    except Exception:  # outside Snakemake: stderr will do
        print(message, file=sys.stderr)
    raise SystemExit(1)


def _is_user_error(exc: BaseException) -> bool:
    if isinstance(exc, VirNucProError):
        return True
    try:
        from snakemake.exceptions import WorkflowError
    except ImportError:  # pragma: no cover - the package works without snakemake
        return False
    return type(exc) is WorkflowError


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Turn user errors (InputError & co., plain WorkflowError) into a one-line stop.

    For code that runs inside Snakemake input functions at DAG-build time (shard counts read
    from input files, "no classifier for ..."). Usable as a decorator too. Other exceptions
    (bugs) keep their traceback.
    """
    try:
        yield
    except Exception as exc:
        if _is_user_error(exc):
            stop(str(exc))
        raise
