"""Every relative link of README.md, docs/*.md and tests/README.md reaches a file of the
project and, with a ``#anchor``, a heading of that page (GitHub's anchor rules); every docs
page is reachable from the README. A page renamed, a heading reworded or a section moved
breaks a link silently on GitHub; here it fails the fast suite, in milliseconds.
"""

from __future__ import annotations

import re
from pathlib import Path

from doc_pages import README, ROOT, doc_pages, page_name

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
#: ``[text](target)`` or ``![alt](target "title")``; the text may hold code spans
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
EXTERNAL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*:|//)")
#: the pages whose links are checked: the docs and the test map they link to
LINKED_PAGES = [*doc_pages(), ROOT / "tests" / "README.md"]


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, code spans blanked (also those that
    wrap onto the next line): a link shown as code is no link."""
    kept, inside = [], False
    for line in text.splitlines():
        fence = bool(FENCE.match(line))
        inside ^= fence
        kept.append("" if inside or fence else line)
    prose = CODE_SPAN.sub(lambda m: re.sub(r"[^\n]", "x", m.group(0)), "\n".join(kept))
    return list(enumerate(prose.split("\n"), start=1))


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading (github-slugger): the plain text lower-cased, every
    character but letters, digits, ``_``, ``-`` and spaces dropped, each space a ``-``."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link reads as its text
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading's anchor; a repeated one gets ``-1``, ``-2``, ... as on GitHub."""
    seen: dict[str, int] = {}
    found = set()
    inside = False
    for line in text.splitlines():  # code spans kept: their text is part of the anchor
        if FENCE.match(line):
            inside = not inside
            continue
        match = None if inside else HEADING.match(line)
        if not match:
            continue
        base = github_anchor(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(page: Path) -> list[tuple[int, str]]:
    """(line number, target) of every link of the page's prose."""
    return [
        (number, match.group(1))
        for number, line in prose_lines(page.read_text(encoding="utf-8"))
        for match in LINK.finditer(line)
    ]


def broken_links(page: Path, root: Path) -> list[str]:
    """Why each relative link of ``page`` leads nowhere: a file outside ``root`` or missing,
    an anchor on a page without that heading, an anchor on something that is no page."""
    broken = []
    for number, target in links(page):
        if EXTERNAL.match(target):
            continue
        path, _, anchor = target.partition("#")
        where = f"{page.name}:{number}: {target}"
        dest = (page.parent / path).resolve() if path else page.resolve()
        if not dest.is_relative_to(root.resolve()):
            broken.append(f"{where} (outside the project)")
        elif not dest.exists():
            broken.append(f"{where} (no such file)")
        elif anchor and (dest.suffix != ".md" or not dest.is_file()):
            broken.append(f"{where} (an anchor on something that is no page)")
        elif anchor and anchor not in anchors(dest.read_text(encoding="utf-8")):
            broken.append(f"{where} (no heading with that anchor)")
    return broken


def test_every_relative_link_resolves():
    broken = [why for page in LINKED_PAGES for why in broken_links(page, ROOT)]
    checked = sum(len(links(page)) for page in LINKED_PAGES)
    assert checked > 20, "the pages' links were not found"
    assert not broken, "\n".join(broken)


def test_every_docs_page_is_linked_from_the_readme():
    linked = {
        (README.parent / target.partition("#")[0]).resolve()
        for _, target in links(README)
        if not EXTERNAL.match(target)
    }
    unlinked = [page_name(p) for p in doc_pages()[1:] if p.resolve() not in linked]
    assert len(doc_pages()) > 1, "no docs/*.md page found"
    assert not unlinked, f"README.md does not link: {unlinked}"


def test_github_anchors():
    """Anchors as GitHub renders them (headings of this project's pages, before and after)."""
    assert github_anchor("What reruns, and how to force it") == "what-reruns-and-how-to-force-it"
    assert github_anchor("Viral regions (`regions.tsv`)") == "viral-regions-regionstsv"
    assert github_anchor("Migrating ESM2 3B -> FastESM2_650") == "migrating-esm2-3b---fastesm2_650"
    assert github_anchor("torch.compile on a CPU") == "torchcompile-on-a-cpu"
    assert github_anchor("See [Models](models.md) ≥ 2×") == "see-models--2"
    assert anchors("# A\n## B\n```\n# A\n```\n### A\n## A #\n") == {"a", "b", "a-1", "a-2"}


def test_broken_links_are_found(tmp_path):
    """Each way a link can lead nowhere is reported; links in code and external ones are not
    followed."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "b.md").write_text("# Top\n## Two words (`x`)\n## Top\n")
    (tmp_path / "data.txt").write_text("")
    page = tmp_path / "README.md"
    page.write_text(
        "\n".join(
            [
                "[ok](docs/b.md) [ok](docs/b.md#two-words-x) [ok](docs/b.md#top-1) [ok](#own)",
                "[ok](data.txt) [ok](https://example.org/x.md#nothing) ![ok](docs/)",
                "`[shown as code](missing.md)`",
                "```",
                "[in a fence](missing.md)",
                "```",
                "## Own",
                "[missing](docs/c.md) [no anchor](docs/b.md#three)",
                "[not a page](data.txt#x) [outside](../elsewhere.md) [own](#nowhere)",
            ]
        )
    )
    assert broken_links(page, tmp_path) == [
        "README.md:8: docs/c.md (no such file)",
        "README.md:8: docs/b.md#three (no heading with that anchor)",
        "README.md:9: data.txt#x (an anchor on something that is no page)",
        "README.md:9: ../elsewhere.md (outside the project)",
        "README.md:9: #nowhere (no heading with that anchor)",
    ]
