"""The pages a user reads: README.md and docs/*.md, and the fenced code in them.

The README is the front page; each topic has its page under docs/. Tests that follow a
documented fact (a command that must run, a job count, the layout tree, a link) read the
pages through here, so a fact moved from one page to another stays checked.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
FENCE = re.compile(r"^\s*(```|~~~)")


def doc_pages() -> list[Path]:
    """README.md first, then every page of docs/ in name order."""
    return [README, *sorted(DOCS.glob("*.md"))]


def page_name(page: Path) -> str:
    """The page's path from the project root (its name when outside), as a test id shows it."""
    return page.relative_to(ROOT).as_posix() if page.is_relative_to(ROOT) else page.name


def fenced_lines(text: str) -> list[tuple[int, str]]:
    """(line number, logical line) inside fenced code blocks; backslash continuations joined."""
    lines: list[tuple[int, str]] = []
    inside = False
    pending: tuple[int, str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            inside = not inside
            continue
        if not inside:
            continue
        if pending is not None:
            number, line = pending[0], pending[1] + " " + line.strip()
            pending = None
        if line.rstrip().endswith("\\"):
            pending = (number, line.rstrip()[:-1])
            continue
        lines.append((number, line.strip().removeprefix("$ ")))
    return lines
