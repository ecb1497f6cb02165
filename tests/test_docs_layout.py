"""The layout tree of docs/development.md: every file it names exists, and every module of
the package and every rule file is named, so a newcomer can trust it as a map."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "workflow/scripts/virnucpro_smk"
#: the page that holds the tree, under its "## Layout" heading
LAYOUT_PAGE = ROOT / "docs" / "development.md"


def layout_paths() -> list[str]:
    """Paths of the layout block, nested entries joined to their folder by indentation."""
    text = LAYOUT_PAGE.read_text(encoding="utf-8")
    section = text.split("## Layout\n", 1)[1]
    block = section.split("```\n", 2)[1]
    paths: list[str] = []
    folders: list[tuple[int, str]] = []  # (indent, folder path) of the open folders
    for line in block.splitlines():
        match = re.match(r"( *)(\S+)", line)
        if not match or line[: len(match.group(1))].strip() or len(match.group(1)) > 8:
            continue  # a continuation line of a description
        indent, name = len(match.group(1)), match.group(2)
        folders = [(i, f) for i, f in folders if i < indent]
        full = (folders[-1][1] if folders else "") + name
        paths.append(full)
        if name.endswith("/"):
            folders.append((indent, full))
    return paths


def test_every_named_path_exists():
    paths = layout_paths()
    assert len(paths) > 40, "the layout block was not found or not parsed"
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert not missing, f"{LAYOUT_PAGE.name} layout names paths that do not exist: {missing}"


def test_every_module_and_rule_file_is_named():
    named = set(layout_paths())
    modules = {
        p.relative_to(ROOT).as_posix()
        for p in PACKAGE.rglob("*.py")
        if p.name != "__init__.py" and "__pycache__" not in p.parts
    }
    rules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "workflow/rules").rglob("*.smk")}
    unnamed = sorted((modules | rules) - named)
    assert not unnamed, f"{LAYOUT_PAGE.name} layout does not name: {unnamed}"
