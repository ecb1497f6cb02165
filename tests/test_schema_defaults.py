"""The config schema is the one home of every configured default.

``workflow/schemas/config.schema.yaml`` states each default once; ``check_config`` fills
them in, and the package is handed the filled values as typed settings (``from_config``).
The scan below walks every leaf ``default:`` of the schema (the model registry's entries
too) and reads the source of the package and the rule scripts for a literal of that value
next to the key's name: an assignment or annotated field (``min_viral_fraction = 0.5``,
``seed: int = 42``, ``MIN_VIRAL_FRACTION = 0.5``, ``DEFAULT_SENSITIVITY = 0.85``), a
parameter default (``def f(seed=42)``), a keyword argument (``f(seed=42)``), a dict entry
(``{"seed": 42}``), a ``.get("seed", 42)``/``getattr(x, "seed", 42)`` fallback and an
argparse option (``add_argument("--seed", default=42)``). A hit that is not a default goes
in ``ALLOWED`` with its reason.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from conftest import ROOT

SCRIPTS = ROOT / "workflow" / "scripts"
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"

# (file, name as written, repr of the value) of hits that are not the configured default the
# name matches, with the reason.
ALLOWED: dict[tuple[str, str, str], str] = {
    ("virnucpro_smk/cli.py", "--dna-model", "'dnaberts_768d'"): (
        "convert-legacy: the DNA model the original's published classifiers were trained on "
        "(beside --dna-width 768 and --protein-model esm2_3b_2560d), a fact of the file "
        "converted, not the run's dna_model"
    ),
    ("virnucpro_smk/formats/test_predictions.py", "seed", "0"): (
        "the training seed of a test_predictions.tsv written before the column existed "
        "(one seed), not compare.seed"
    ),
    ("virnucpro_smk/models/verify.py", "cpu", "'float32'"): (
        "verify_models' float32 pass pins both device types to float32 (the reference "
        "comparison), whatever models.<name>.dtype says"
    ),
    ("virnucpro_smk/models/precision.py", "chunk_length", "300"): (
        "the precision check's fixed sample (64 coding-like 300-bp chunks): decided once per "
        "model for every chunk length of the run, not the run's chunk_length"
    ),
    ("virnucpro_smk/models/precision.py", "seed", "0"): (
        "the seed of that fixed sample (the same sample every run), not compare.seed"
    ),
    ("virnucpro_smk/models/standin.py", "seed", "0"): (
        "models.<name>.standin.seed, which the schema leaves without a default (a stand-in's "
        "weight seed), not compare.seed"
    ),
}


def schema_defaults(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted key, default)`` of every leaf default of the schema (not of objects)."""
    if not isinstance(node, dict):
        return
    if "default" in node and not isinstance(node["default"], dict):
        yield path, node["default"]
    for key, child in node.get("properties", {}).items():
        yield from schema_defaults(child, f"{path}.{key}" if path else key)
    for name, child in node.get("$defs", {}).items():
        yield from schema_defaults(child, f"models.<{name}>")


def _normal(name: str) -> str:
    """An identifier or option as a key would be spelt: lower case, ``-`` as ``_``, without
    the leading ``_``/``--`` and a ``default_`` prefix."""
    name = name.lower().replace("-", "_").lstrip("_")
    return name.removeprefix("default_")


def names_key(name: str, key: str) -> bool:
    """``name`` stands for the config key ``key`` (its last part): the same words, or one
    ends with the other on a word boundary (``sensitivity`` for ``region_sensitivity``,
    ``train_seed`` for ``seed``)."""
    name, key = _normal(name), key.rsplit(".", 1)[-1]
    return bool(name) and (name == key or key.endswith("_" + name) or name.endswith("_" + key))


def _literal(node: ast.AST | None) -> tuple[bool, Any]:
    if node is None:
        return False, None
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def same_value(code: Any, default: Any) -> bool:
    """Equal as configured values: a bool only equals a bool, numbers by value (``1e-3`` is
    ``0.001``), lists and tuples by their items."""
    if isinstance(default, bool) or isinstance(code, bool):
        return type(code) is type(default) and code == default
    if isinstance(default, (int, float)):
        return isinstance(code, (int, float)) and code == default
    if isinstance(default, list):
        return (
            isinstance(code, (list, tuple))
            and len(code) == len(default)
            and all(same_value(c, d) for c, d in zip(code, default, strict=True))
        )
    return type(code) is type(default) and code == default


def named_literals(tree: ast.AST) -> Iterator[tuple[int, str, ast.AST]]:
    """``(line, name, value node)`` of every place a name is given a value in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, (ast.Name, ast.Attribute)):
                    name = target.id if isinstance(target, ast.Name) else target.attr
                    yield node.lineno, name, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target = node.target
            if isinstance(target, (ast.Name, ast.Attribute)):
                name = target.id if isinstance(target, ast.Name) else target.attr
                yield node.lineno, name, node.value
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            positional = [*node.args.posonlyargs, *node.args.args]
            for arg, default in zip(
                positional[len(positional) - len(node.args.defaults) :],
                node.args.defaults,
                strict=True,
            ):
                yield default.lineno, arg.arg, default
            for arg, default in zip(node.args.kwonlyargs, node.args.kw_defaults, strict=True):
                if default is not None:
                    yield default.lineno, arg.arg, default
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    yield value.lineno, key.value, value
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            for keyword in node.keywords:
                if keyword.arg is not None:
                    yield keyword.value.lineno, keyword.arg, keyword.value
            strings = [
                a.value
                for a in node.args
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
            if called == "get" and len(node.args) == 2 and strings:
                yield node.lineno, strings[0], node.args[1]
            if called == "getattr" and len(node.args) == 3 and strings:
                yield node.lineno, strings[0], node.args[2]
            if called == "add_argument":
                default = next((k.value for k in node.keywords if k.arg == "default"), None)
                for option in strings:
                    if default is not None and option.startswith("-"):
                        yield node.lineno, option, default


def defaults_in_code(source: str, where: str, defaults: list[tuple[str, Any]]) -> list[str]:
    """``where:line name = value (schema key)`` of each schema default written in ``source``."""
    found = []
    for line, name, node in named_literals(ast.parse(source)):
        ok, value = _literal(node)
        if not ok:
            continue
        for key, default in defaults:
            if default in ("", []) and _normal(name) != key.rsplit(".", 1)[-1]:
                continue  # an empty default is only looked for under the key's own name
            if (
                names_key(name, key)
                and same_value(value, default)
                and (where, name, repr(value)) not in ALLOWED
            ):
                found.append(f"{where}:{line} {name} = {value!r} (schema: {key})")
    return found


def package_files():
    return [*SCRIPTS.glob("*.py"), *(SCRIPTS / "virnucpro_smk").rglob("*.py")]


def test_the_schema_states_the_defaults_the_scan_looks_for():
    defaults = dict(schema_defaults(yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))))
    assert defaults["predict.min_viral_fraction"] == 0.5
    assert defaults["predict.region_switch_probability"] == 0.001
    assert defaults["extraction.checkpoint_seconds"] == 180
    assert defaults["compare.margins.sensitivity"] == 0.02
    assert defaults["models.<model>.trust_remote_code"] is False
    assert "compare" not in defaults  # an object's {} is not a leaf default
    assert len(defaults) > 40


@pytest.mark.parametrize(
    "source, hit",
    [
        ("MIN_VIRAL_FRACTION = 0.5", "MIN_VIRAL_FRACTION = 0.5"),
        ("DEFAULT_SWITCH_PROBABILITY = 1e-3", "DEFAULT_SWITCH_PROBABILITY = 0.001"),
        ("class C:\n    checkpoint_seconds: float = 180.0", "checkpoint_seconds = 180.0"),
        ("def f(*, min_scored_fraction=0.15): pass", "min_scored_fraction = 0.15"),
        ("def f(a, seed: int = 42): pass", "seed = 42"),
        ("f(val_fraction=0.1)", "val_fraction = 0.1"),
        ("x = {'sensitivity': 0.02}", "sensitivity = 0.02"),
        ("s.get('prevalences', (0.01, 0.1))", "prevalences = (0.01, 0.1)"),
        ("getattr(s, 'balance', True)", "balance = True"),
        ("p.add_argument('--min-viral-fraction', type=float, default=0.5)", "0.5"),
        ("self.progress_seconds = 30", "progress_seconds = 30"),
        ("def f(checkpoint=''): pass", "checkpoint = ''"),
    ],
)
def test_the_scan_finds_a_default_written_in_code(source, hit):
    defaults = list(schema_defaults(yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))))
    found = defaults_in_code(source, "x.py", defaults)
    assert found and hit in found[0], found


@pytest.mark.parametrize(
    "source",
    [
        "min_viral_fraction = settings.min_viral_fraction",  # not a literal
        "min_viral_fraction = 0.6",  # another value
        "viral_share = 0.5",  # another name
        "standin_models = ()",  # an empty default (verify.models: []) under another name
        "balance = 1",  # an int is not the boolean true
        "seed = 7",
        "f(seed=seed)",
    ],
)
def test_the_scan_leaves_other_values_and_names_alone(source):
    defaults = list(schema_defaults(yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))))
    assert defaults_in_code(source, "x.py", defaults) == []


def test_no_schema_default_is_written_in_the_package():
    defaults = list(schema_defaults(yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))))
    files = package_files()
    assert len(files) > 40
    found = []
    for path in sorted(files):
        where = path.relative_to(SCRIPTS).as_posix()
        found += defaults_in_code(path.read_text(encoding="utf-8"), where, defaults)
    assert not found, "defaults the schema states, written again in code:\n" + "\n".join(found)
