"""Exactly one reader and one writer per table: the formats layer.

Every table the pipeline passes on is declared once under ``virnucpro_smk/formats/`` (its
columns, typed row, reader and writer). The scan below reads the source of the package and
the rule scripts (and the rule files) outside ``formats/`` and flags each hand-made table
parser or line writer: the ``csv`` module, ``.split("\\t")``, ``"\\t".join(...)``, an
f-string with a tab between its values, ``read_csv``/``loadtxt``. A new hand-written reader
fails here, by file, line and function; a non-table use of a tab goes in ``ALLOWED`` with
its reason.
"""

from __future__ import annotations

import ast

import pytest

from conftest import ROOT

SCRIPTS = ROOT / "workflow" / "scripts"
# Tabs that are not table cells, with the reason.
ALLOWED = {
    ("virnucpro_smk/preprocess/genome_clusters.py", "_named_sequences"): (
        "a record's name in skani's sketch database (<dataset>TAB<record>), not a table line"
    ),
}
_TABLE_LOADERS = {"read_csv", "read_table", "loadtxt", "genfromtxt"}


def _is_tab(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value == "\t"


def _hand_parsing(node: ast.AST) -> str | None:
    """What makes ``node`` a hand-made table reader or line writer, or None."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
        return "imports csv" if "csv" in names else None
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"csv.{node.attr}" if node.value.id == "csv" else None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        name = node.func.attr
        if name in ("split", "rsplit") and node.args and _is_tab(node.args[0]):
            return f'.{name}("\\t")'
        if name == "join" and _is_tab(node.func.value):
            return '"\\t".join'
        if name in _TABLE_LOADERS:
            return name
    if isinstance(node, ast.JoinedStr):
        texts = [v.value for v in node.values if isinstance(v, ast.Constant)]
        values = [v for v in node.values if isinstance(v, ast.FormattedValue)]
        if values and any("\t" in str(t) for t in texts):
            return "an f-string with tab-separated values"
    return None


def hand_parsers(source: str, where: str) -> list[str]:
    """``where:line function: what`` of every hand-made table reader or writer in ``source``."""
    tree = ast.parse(source)
    owner: dict[int, str] = {}
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    for function in sorted(functions, key=lambda f: f.lineno):  # outer before inner
        for node in ast.walk(function):  # so the innermost function owns its nodes
            owner[id(node)] = function.name
    found = []
    for node in ast.walk(tree):
        what = _hand_parsing(node)
        name = owner.get(id(node), "<module>")
        if what and (where, name) not in ALLOWED:
            found.append(f"{where}:{node.lineno} {name}: {what}")
    return found


def test_no_table_is_parsed_or_written_outside_the_formats_layer():
    files = [*SCRIPTS.glob("*.py"), *(SCRIPTS / "virnucpro_smk").rglob("*.py")]
    assert len(files) > 40
    found = []
    for path in sorted(files):
        where = path.relative_to(SCRIPTS).as_posix()
        if not where.startswith("virnucpro_smk/formats/"):
            found += hand_parsers(path.read_text(encoding="utf-8"), where)
    for path in sorted([ROOT / "Snakefile", *(ROOT / "workflow" / "rules").rglob("*.smk")]):
        text = path.read_text(encoding="utf-8")
        found += [f"{path.name}: {p}" for p in ("csv.", 'split("\\t")', '"\\t".join') if p in text]
    assert found == [], "tables read or written by hand (declare them in formats/ and use that)"
    used = {where for where, _ in ALLOWED}
    assert all((SCRIPTS / where).is_file() for where in used), "a stale ALLOWED entry"


@pytest.mark.parametrize(
    "code",
    [
        "import csv\n",
        "def r(h):\n    return list(csv.DictReader(h, delimiter='\\t'))\n",
        "def r(line):\n    return line.rstrip('\\n').split('\\t')\n",
        "def w(cells):\n    return '\\t'.join(cells) + '\\n'\n",
        "def w(a, b):\n    return f'{a}\\t{b}\\n'\n",
        "def r(p):\n    return pandas.read_csv(p, sep='\\t')\n",
        "def r(p):\n    return np.loadtxt(p, delimiter='\\t')\n",
    ],
)
def test_the_scan_finds_hand_made_readers_and_writers(code):
    assert hand_parsers(code, "x.py") != []


@pytest.mark.parametrize(
    "code",
    [
        "def r(p):\n    return list(PER_CHUNK.read(p))\n",
        "def r(text):\n    return text.split()\n",
        "def r(key):\n    return key.partition('\\t')\n",
        "def w(a):\n    return f'{a} x'\n",
        "SKIP = b' \\t\\r\\n'\n",
    ],
)
def test_the_scan_accepts_what_is_not_a_table(code):
    assert hand_parsers(code, "x.py") == []
