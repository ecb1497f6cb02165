"""Every `snakemake` command in README.md's fenced code blocks works as written (dry-run).

Each command runs with ``-n`` added and ``--config outdir=<tmp> models_dir=<tmp>`` appended,
so nothing is written into the project tree. Lines that cannot run here carry a marker
comment: ``# needs: internet``, ``# needs: graphviz`` (a pipe into ``dot`` counts as one) or
``# needs: slurm``.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from conftest import ROOT, run_snakemake

README = ROOT / "README.md"
MARKER = re.compile(r"#\s*needs:\s*(internet|graphviz|slurm)\b")
FENCE = re.compile(r"^\s*(```|~~~)")
#: Commands of the current README that fail as written (found by this test). Each entry is an
#: expected failure; once README.md is fixed the test passes and strict xfail reports it, so
#: the entry must be deleted then.
KNOWN_BROKEN: dict[str, str] = {}


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


def readme_commands(text: str) -> list[tuple[int, str, str | None]]:
    """(line number, command, why it is skipped or None) for every `snakemake` line."""
    found = []
    for number, line in fenced_lines(text):
        if not re.match(r"snakemake(\s|$)", line):
            continue
        marker = MARKER.search(line)
        if marker:
            skip = f"needs {marker.group(1)}"
        elif re.search(r"\|\s*dot\b", line):
            skip = "needs graphviz (pipes into dot)"
        else:
            skip = None
        found.append((number, line, skip))
    return found


def as_dry_run(command: str, tmp: Path) -> list[str]:
    """The command's arguments with -n added and outdir/models_dir sent into ``tmp``."""
    args = shlex.split(command, comments=True)[1:]
    if not {"-n", "--dry-run", "--dryrun"} & set(args):
        args.insert(0, "-n")
    ours = [f"outdir={tmp / 'results'}", f"models_dir={tmp / 'models'}"]
    if "--config" in args:  # a second --config would replace the line's own values
        end = args.index("--config") + 1
        while end < len(args) and not args[end].startswith("-"):
            end += 1
        return [*args[:end], *ours, *args[end:]]
    return [*args, "--config", *ours]


COMMANDS = readme_commands(README.read_text(encoding="utf-8"))


def _param(number: int, command: str, skip: str | None):
    bare = command.split("#")[0].strip()
    marks = []
    if skip:
        marks.append(pytest.mark.skip(reason=skip))
    elif bare in KNOWN_BROKEN:
        marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_BROKEN[bare]))
    return pytest.param(command, id=f"L{number}:{bare}", marks=marks)


@pytest.mark.parametrize("command", [_param(*c) for c in COMMANDS])
def test_readme_command_dry_runs(command, tmp_path):
    proc = run_snakemake(*as_dry_run(command, tmp_path), check=False, timeout=300)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"`{command}` failed:\n{text[-3000:]}"
    assert "Traceback" not in text


def test_readme_has_snakemake_commands():
    assert COMMANDS, "README.md has no `snakemake` command in a fenced code block"


def test_extraction_rules():
    text = "\n".join(
        [
            "```bash",
            "snakemake -n   # dry-run",
            "snakemake --rulegraph | dot -Tpng > r.png",
            "snakemake download_models   # needs: internet",
            "$ snakemake predict \\",
            "    --configfile config/standin.yaml",
            "make test",
            "```",
            "snakemake outside a fence",
        ]
    )
    found = readme_commands(text)
    assert [(n, c.split("#")[0].strip(), s) for n, c, s in found] == [
        (2, "snakemake -n", None),
        (3, "snakemake --rulegraph | dot -Tpng > r.png", "needs graphviz (pipes into dot)"),
        (4, "snakemake download_models", "needs internet"),
        (5, "snakemake predict  --configfile config/standin.yaml", None),
    ]
    tmp = Path("/t")
    assert as_dry_run("snakemake -c2 x --config samples=s.tsv outdir=/o -p", tmp) == [
        "-n",
        "-c2",
        "x",
        "--config",
        "samples=s.tsv",
        "outdir=/o",
        "outdir=/t/results",
        "models_dir=/t/models",
        "-p",
    ]
    assert as_dry_run("snakemake -n  # dry-run", tmp)[-3:] == [
        "--config",
        "outdir=/t/results",
        "models_dir=/t/models",
    ]
