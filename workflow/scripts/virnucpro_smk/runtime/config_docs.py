"""``config/README.md``, rendered from the config schema so that the two cannot drift apart.

Every config key is described once, in ``workflow/schemas/config.schema.yaml``, the file that
also validates configs and fills their defaults at start-up. A hand-written key reference
next to it would go stale with the first new key; instead this module renders the reference:
a fixed introduction (how to configure, the sample sheet, the training table, the stand-in
config), then one table per section listing every key at every level (dotted paths, ``<name>``
for the keys of a mapping such as the model registry) with its type, default (the shipped
``config/config.yaml``'s value, else the schema's), allowed values and description.
``tests/test_config_docs.py`` fails when the committed file differs from what this renders
(a schema or config.yaml edit without regenerating), or when a key has no description.

Regenerate from the project root (``--check`` only reports whether the file is up to date)::

    python -m virnucpro_smk.runtime.config_docs
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..formats.training_table import LABELS
from ..io.atomic import write_text_atomic
from .config_checks import (
    SAMPLE_COLUMNS,
    SAMPLE_NAME_PATTERN,
    check_config,
    load_schema,
    resolve_ref,
)

SCHEMA_PATH = Path("workflow/schemas/config.schema.yaml")
CONFIG_PATH = Path("config/config.yaml")
README_PATH = Path("config/README.md")
REGENERATE = "python -m virnucpro_smk.runtime.config_docs"

#: Stands for the keys of a mapping whose keys the user chooses (``models.<name>.width``).
PLACEHOLDER = "<name>"


def _column_table(rows: Sequence[tuple[str, str]]) -> str:
    """A Markdown table of a TSV file's columns (one line per column, as Markdown needs)."""
    lines = ["| Column | Content |", "|---|---|"]
    lines += [f"| `{column}` | {content} |" for column, content in rows]
    return "\n".join(lines)


def _words(values: Sequence[str]) -> str:
    return ", ".join(f"`{v}`" for v in values[:-1]) + f" or `{values[-1]}`"


#: Columns of the sample sheet (``samples``); names and rules are the checker's own.
SAMPLE_SHEET_COLUMNS = (
    (
        SAMPLE_COLUMNS[0],
        f"sample name matching `{SAMPLE_NAME_PATTERN}`, unique even ignoring case; outputs go "
        "to `<outdir>/samples/<sample>/`",
    ),
    (
        SAMPLE_COLUMNS[1],
        "the sample's sequences: plain or gzip FASTA (detected by content), a path relative to "
        "the project root or absolute",
    ),
)
#: Columns of the training table (``train.datasets``), as the workflow reads them.
TRAINING_COLUMNS = (
    ("dataset", "dataset name: unique; letters, digits, `_` and `-`"),
    (
        "label",
        f"viral: {_words([k for k, v in LABELS.items() if v == 1])}; non-viral: "
        f"{_words([k for k, v in LABELS.items() if v == 0])} (any case)",
    ),
    (
        "group",
        "host group for the balanced draw and the per-group metrics; a group holds one label "
        "only; empty = the dataset name",
    ),
    (
        "fasta",
        "plain or gzip FASTA: every stop-free frame of its chunks is used (prediction-mode "
        "selection)",
    ),
    (
        "gbff",
        "plain or gzip GenBank file: the original's training-mode selection (only frames "
        "inside annotated CDS translations); a `fasta` given as well supplies the sequences "
        "(its records pair with the GenBank records in order), else the GenBank ORIGIN does",
    ),
)

INTRO = f"""\
<!-- Generated from {SCHEMA_PATH}
     by `{REGENERATE}`: edit the descriptions in the schema
     (or the introduction in workflow/scripts/virnucpro_smk/runtime/config_docs.py),
     then regenerate. -->

# Configuration

## How to configure

The workflow always reads `config/config.yaml` first (the Snakefile's `configfile:`). Edit it,
or keep it as shipped and override keys on the command line:

* `--configfile my.yaml` is merged over `config/config.yaml`, nested mappings key by key, so
  your file needs only the keys you change (`--replace-workflow-config` drops
  `config/config.yaml` instead);
* `--config key=value ...` sets single keys, values read as YAML, e.g.
  `snakemake preprocess --config outdir=/tmp/o chunk_length=500` or, for a nested key,
  `snakemake -n preprocess --config 'predict={{min_viral_fraction: 0.6}}'` (Snakemake passes
  nested values as text; where the schema wants a number or `true`/`false`, the text is read
  as one).

The merged configuration is checked against `{SCHEMA_PATH}` at start-up,
before any job runs. An unknown key at any level is an error naming the closest valid key
(`config: unknown key 'chunks_per_gpu_jbo' (did you mean 'chunks_per_gpu_job'?)`); a bad value
is one line naming the key, the value and what is allowed. Then the schema's defaults are
filled in where a key is absent.

`--configfile config/standin.yaml` switches every model to a tiny random-weight stand-in of
the same architecture (built by the workflow when missing), runs on the CPU and trains the
classifier on the synthetic `config/example_training.tsv`: the whole workflow runs offline,
with biologically meaningless results, e.g.
`snakemake predict --configfile config/standin.yaml`.

## Sample sheet

`samples` names a tab-separated sheet (`config/samples.tsv` as shipped) with a header line and
one row per sample:

{_column_table(SAMPLE_SHEET_COLUMNS)}

Other columns are ignored, as are blank lines and lines starting with `#`; a byte-order mark
and Windows line endings are fine.

## Training data

`train.datasets` names a tab-separated table of labelled datasets, one row each (empty: no
training; `predict` then needs a classifier under `predict.checkpoints`).
`config/training.tsv` lists RefSeq viral genomes against seven host groups, as the original
VirNucPro was trained (fetch the files with `snakemake download_refseq_all`);
`config/example_training.tsv` is the synthetic demo set of `config/standin.yaml`.

{_column_table(TRAINING_COLUMNS)}

A row needs a `fasta` or a `gbff` file; paths are relative to the project root, and files
under `refseq_dir` may be missing until `download_refseq` fetches them.

## Keys

*Default* is the value the workflow runs with when you set nothing: `config/config.yaml`'s
value, or the schema's default where `config/config.yaml` leaves the key out. In a mapping
whose keys you choose (`{PLACEHOLDER}`), it is the schema's default for each entry.
"""

_MISSING = object()
_TYPE_NAMES = {
    "integer": "integer",
    "number": "number",
    "string": "string",
    "boolean": "boolean",
    "null": "null",
    "array": "list",
    "object": "mapping",
}
_BOUNDS = (
    ("minimum", ">="),
    ("exclusiveMinimum", ">"),
    ("maximum", "<="),
    ("exclusiveMaximum", "<"),
)
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)


@dataclass(frozen=True)
class ConfigKey:
    """One documented key: its path from the top of the config and its (resolved) schema."""

    path: tuple[str, ...]
    schema: Mapping[str, Any]
    required: bool

    @property
    def dotted(self) -> str:
        return ".".join(self.path)

    @property
    def user_named(self) -> bool:
        """Inside a user-keyed mapping or a list: there is no single shipped value to show."""
        return any(part == PLACEHOLDER or part.endswith("[]") for part in self.path)


def _branches(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [*node.get("oneOf", ()), *node.get("anyOf", ())]


def iter_keys(schema: Mapping[str, Any]) -> Iterator[ConfigKey]:
    """Every key the schema allows, at every level, in schema order (so output is stable).

    Nested ``properties`` give dotted paths (``train.recipe.lr``); an ``additionalProperties``
    schema (a mapping whose keys the user chooses) gives a ``<name>`` entry and its own keys
    (``models.<name>.dtype.cuda``); object items of a list give ``key[].child``.
    """
    yield from _properties(schema, schema, ())


def _properties(
    node: Mapping[str, Any], root: Mapping[str, Any], prefix: tuple[str, ...]
) -> Iterator[ConfigKey]:
    node = resolve_ref(node, root)
    required = set(node.get("required", ()))
    for name, sub in node.get("properties", {}).items():
        key = ConfigKey((*prefix, name), resolve_ref(sub, root), name in required)
        yield key
        yield from _nested(key.schema, root, key.path)


def _nested(
    node: Mapping[str, Any], root: Mapping[str, Any], path: tuple[str, ...]
) -> Iterator[ConfigKey]:
    for branch in _branches(node):
        yield from _nested(resolve_ref(branch, root), root, path)
    if "properties" in node:
        yield from _properties(node, root, path)
    extra = node.get("additionalProperties")
    if isinstance(extra, Mapping):
        key = ConfigKey((*path, PLACEHOLDER), resolve_ref(extra, root), False)
        yield key
        yield from _nested(key.schema, root, key.path)
    items = node.get("items")
    if isinstance(items, Mapping):
        yield from _nested(resolve_ref(items, root), root, (*path[:-1], f"{path[-1]}[]"))


def _plural(text: str) -> str:
    head, _, rest = text.partition(" ")
    return f"{head}s {rest}".rstrip()


def type_text(node: Mapping[str, Any], root: Mapping[str, Any]) -> str:
    """The YAML type of a value, in words (``integer or list of integers``)."""
    node = resolve_ref(node, root)
    branches = _branches(node)
    if branches:
        return " or ".join(type_text(branch, root) for branch in branches)
    kind = node.get("type")
    if isinstance(kind, list):
        return " or ".join(_TYPE_NAMES.get(k, str(k)) for k in kind)
    if kind == "array" and isinstance(node.get("items"), Mapping):
        return f"list of {_plural(type_text(node['items'], root))}"
    extra = node.get("additionalProperties")
    if kind == "object" and isinstance(extra, Mapping) and not node.get("properties"):
        return f"mapping of names to {_plural(type_text(extra, root))}"
    if kind is None:
        return "any" if "enum" not in node else "one of the values listed"
    return _TYPE_NAMES.get(kind, str(kind))


def _code(text: str) -> str:
    """``text`` as a Markdown code span (longer fences when it holds backticks itself)."""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _yaml_value(value: Any) -> str:
    """A value as it would be written in config.yaml (flow style, one line)."""
    if isinstance(value, str):
        try:
            plain = value != "" and yaml.safe_load(value) == value
        except yaml.YAMLError:
            plain = False
        return value if plain else json.dumps(value)
    return json.dumps(value, separators=(", ", ": "), default=str)


def _count(n: int, noun: str, nouns: str) -> str:
    return f"{n} {noun if n == 1 else nouns}"


def allowed_text(node: Mapping[str, Any], root: Mapping[str, Any]) -> str:
    """What values a key accepts beyond its type: enums, ranges, lengths, patterns."""
    node = resolve_ref(node, root)
    branches = _branches(node)
    if branches:
        parts = []
        for branch in branches:
            allowed = allowed_text(branch, root)
            if allowed:
                parts.append(f"{type_text(branch, root)}: {allowed}")
        return "; ".join(parts)
    parts = []
    if "enum" in node:
        values = ", ".join(_code(_yaml_value(v)) for v in node["enum"])
        parts.append(f"one of {values}" if len(node["enum"]) > 1 else f"only {values}")
    if "const" in node:
        parts.append("exactly " + _code(_yaml_value(node["const"])))
    bounds = [_code(f"{sign} {node[word]}") for word, sign in _BOUNDS if word in node]
    if bounds:
        parts.append(" and ".join(bounds))
    for word, noun, nouns in (
        ("minLength", "character", "characters"),
        ("minItems", "item", "items"),
        ("minProperties", "entry", "entries"),
    ):
        least = node.get(word, 0)
        if least == 1:
            parts.append("non-empty" if word != "minProperties" else "at least one entry")
        elif least > 1:
            parts.append(f"at least {_count(least, noun, nouns)}")
    for word, noun, nouns in (
        ("maxLength", "character", "characters"),
        ("maxItems", "item", "items"),
        ("maxProperties", "entry", "entries"),
    ):
        if word in node:
            parts.append(f"at most {_count(node[word], noun, nouns)}")
    if "pattern" in node:
        parts.append(f"matching {_code(node['pattern'])}")
    items = node.get("items")
    if isinstance(items, Mapping):
        each = allowed_text(items, root)
        if each:
            parts.append(f"each {each}")
    return ", ".join(parts)


def _lookup(config: Any, path: Sequence[str]) -> Any:
    for part in path:
        if not isinstance(config, Mapping) or part not in config:
            return _MISSING
        config = config[part]
    return config


def default_text(key: ConfigKey, config: Mapping[str, Any] | None) -> str:
    """The value used when nobody sets ``key`` (see the introduction), or "" when none.

    A mapping with fixed keys shows nothing (its keys have their own rows); a mapping whose
    keys the user chooses shows the names it holds.
    """
    value = _MISSING
    if config is not None and not key.user_named:
        value = _lookup(config, key.path)
    if value is _MISSING:
        value = key.schema.get("default", _MISSING)
    if value is _MISSING:
        return ""
    if isinstance(value, Mapping):
        if key.schema.get("properties"):
            return ""
        return ", ".join(_code(str(name)) for name in value) if value else _code("{}")
    return _code(_yaml_value(value))


def _markdown(text: str) -> str:
    """Description text for a table cell: ``<`` and ``>`` escaped outside code spans.

    Markdown would take ``<L>`` or ``<width>`` for HTML tags and drop them.
    """
    out, last = [], 0
    for match in _CODE_SPAN.finditer(text):
        out.append(text[last : match.start()].replace("<", "&lt;").replace(">", "&gt;"))
        out.append(match.group(0))
        last = match.end()
    out.append(text[last:].replace("<", "&lt;").replace(">", "&gt;"))
    return "".join(out)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _table(keys: Sequence[ConfigKey], root: Mapping[str, Any], config: Any) -> list[str]:
    lines = ["| Key | Type | Default | Allowed | Description |", "|---|---|---|---|---|"]
    for key in keys:
        allowed = allowed_text(key.schema, root)
        if key.required:
            allowed = f"required, {allowed}" if allowed else "required"
        cells = (
            _code(key.dotted),
            type_text(key.schema, root),
            default_text(key, config),
            allowed,
            _markdown(str(key.schema.get("description", ""))),
        )
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def render_config_docs(schema: Mapping[str, Any], config: Mapping[str, Any] | None = None) -> str:
    """The Markdown of ``config/README.md``: the introduction, then one table per section.

    ``schema`` is the config schema; ``config`` the configuration the workflow runs with when
    nothing is overridden (``config/config.yaml`` with the schema's defaults filled in), for
    the *Default* column; without it that column shows the schema's defaults only. Top-level
    scalars share the first table; every top-level mapping (``models``, ``train``, ...) gets
    its own section. The same inputs always give the same text.
    """
    keys = list(iter_keys(schema))
    sections = [
        k
        for k in keys
        if len(k.path) == 1 and resolve_ref(k.schema, schema).get("type") == "object"
    ]
    section_names = {k.path[0] for k in sections}
    lines = [INTRO.rstrip("\n"), "", "### Top-level keys", ""]
    lines += _table([k for k in keys if k.path[0] not in section_names], schema, config)
    for section in sections:
        lines += ["", f"### {_code(section.dotted)}", ""]
        lines += _table([k for k in keys if k.path[0] == section.path[0]], schema, config)
    return "\n".join(lines) + "\n"


def shipped_config(root: Path) -> dict[str, Any]:
    """``config/config.yaml`` as the workflow sees it when nothing is overridden.

    Validated and completed with the schema's defaults by the same ``check_config`` the
    Snakefile runs, so the documented defaults are the values jobs actually get.
    """
    with open(root / CONFIG_PATH, encoding="utf-8") as handle:
        config = yaml.safe_load(handle) or {}
    check_config(config, root / SCHEMA_PATH)
    return config


def render_project_docs(root: Path) -> str:
    """``config/README.md`` as it should read for the project at ``root``."""
    return render_config_docs(load_schema(str(root / SCHEMA_PATH)), shipped_config(root))


def main(argv: Sequence[str] | None = None) -> int:
    """Write ``config/README.md`` (or, with ``--check``, report whether it is up to date)."""
    parser = argparse.ArgumentParser(
        description="Render config/README.md from workflow/schemas/config.schema.yaml."
    )
    parser.add_argument(
        "--root", type=Path, default=Path.cwd(), help="project root (default: this directory)"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when config/README.md is not what the schema renders",
    )
    args = parser.parse_args(argv)
    if not (args.root / SCHEMA_PATH).is_file():
        parser.error(f"{args.root / SCHEMA_PATH} not found: run from the project root or --root")
    text = render_project_docs(args.root)
    target = args.root / README_PATH
    current = target.read_text(encoding="utf-8") if target.is_file() else None
    if args.check:
        if current == text:
            return 0
        print(f"{target} is out of date with {SCHEMA_PATH}: run `{REGENERATE}`", file=sys.stderr)
        return 1
    if current != text:
        write_text_atomic(target, text)
        print(f"wrote {target}")
    else:
        print(f"{target} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
