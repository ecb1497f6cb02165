"""Every `snakemake` command in the fenced code blocks of README.md and docs/*.md works as
written (dry-run), and so does every `--config` example of those pages and config/README.md.
A command shown on several pages runs once.

Each command runs with ``-n`` added and ``--config outdir=<tmp> models_dir=<tmp>`` appended,
so nothing is written into the project tree. A marker comment says what the real command
needs (``# needs: internet``, ``# needs: slurm``, ``# needs: graphviz``); a dry-run needs
none of them, so every line runs. A line piping into ``dot`` also runs ``dot`` when graphviz
is installed (``shutil.which``), and is skipped only where it is not.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from doc_pages import README, doc_pages, fenced_lines, page_name

from conftest import ROOT, run_snakemake

CONFIG_README = ROOT / "config" / "README.md"
MARKER = re.compile(r"#\s*needs:\s*(internet|graphviz|slurm)\b")
INLINE_CODE = re.compile(r"`([^`\n]+)`")
#: Documented commands that fail as written (found by this test). Each entry is an expected
#: failure; once the page is fixed the test passes and strict xfail reports it, so the entry
#: must be deleted then.
KNOWN_BROKEN: dict[str, str] = {}


def page_commands(text: str) -> list[tuple[int, str, str | None]]:
    """(line number, command, why it is skipped or None) for every `snakemake` line: only a
    pipe into ``dot`` on a machine without graphviz is skipped."""
    found = []
    for number, line in fenced_lines(text):
        if not re.match(r"snakemake(\s|$)", line):
            continue
        piped = re.search(r"\|\s*dot\b", line)
        skip = "graphviz is not installed (no dot)" if piped and not shutil.which("dot") else None
        found.append((number, line, skip))
    return found


def config_examples(text: str) -> list[str]:
    """Every inline code span of ``text`` with a ``--config`` example, as a command: spans
    that are a whole `snakemake ...` command as they are, a bare ``--config ...`` after
    `snakemake`; the syntax template (``key=value ...``) is no example."""
    found = []
    for span in INLINE_CODE.findall(text):
        if not re.search(r"--config\s", span) or "key=value" in span:
            continue
        found.append(span if span.startswith("snakemake") else f"snakemake {span}")
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


def documented_commands(pages: list[Path]) -> list[tuple[str, int, str, str | None]]:
    """(page, line number, command, why skipped) of every page's `snakemake` lines, each
    command once (where it first appears): a dry-run of it says nothing new the second time."""
    found, seen = [], set()
    for page in pages:
        for number, command, skip in page_commands(page.read_text(encoding="utf-8")):
            bare = command.split("#")[0].strip()
            if bare not in seen:
                seen.add(bare)
                found.append((page_name(page), number, command, skip))
    return found


COMMANDS = documented_commands(doc_pages())


def _param(page: str, number: int, command: str, skip: str | None):
    bare = command.split("#")[0].strip()
    marks = []
    if skip:
        marks.append(pytest.mark.skip(reason=skip))
    elif bare in KNOWN_BROKEN:
        marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_BROKEN[bare]))
    return pytest.param(command, id=f"{page}:L{number}:{bare}", marks=marks)


@pytest.mark.parametrize("command", [_param(*c) for c in COMMANDS])
def test_documented_command_dry_runs(command, tmp_path):
    snakemake_part, _, piped = command.partition("|")
    # a graph printed for dot runs as written: it writes nothing, and a --config added
    # would put Snakemake's "Config file ... is extended" line into the graph
    args = shlex.split(snakemake_part)[1:] if piped else as_dry_run(snakemake_part, tmp_path)
    proc = run_snakemake(*args, check=False, timeout=300)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"`{command}` failed:\n{text[-3000:]}"
    assert "Traceback" not in text
    if piped:  # `| dot -Tpng > rules.png`: the picture is checked, not written
        dot = shlex.split(piped, comments=True)
        assert dot[0] == "dot" and ">" in dot, piped
        out = subprocess.run(
            dot[: dot.index(">")], input=proc.stdout.encode(), capture_output=True, check=True
        ).stdout
        assert out[:4] == b"\x89PNG"


CONFIG_EXAMPLES = sorted(
    {
        example
        for page in [*doc_pages(), CONFIG_README]
        for example in config_examples(page.read_text(encoding="utf-8"))
    }
)


@pytest.mark.parametrize("command", CONFIG_EXAMPLES)
def test_documented_config_example_dry_runs(command, tmp_path):
    """E.g. config/README.md's `snakemake -n preprocess --config 'predict={min_viral_fraction:
    0.6}'`, which failed: Snakemake passes a nested value as the string '0.6'."""
    proc = run_snakemake(*as_dry_run(command, tmp_path), check=False, timeout=300)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"`{command}` failed:\n{text[-3000:]}"
    assert "Traceback" not in text


def test_config_examples_are_found():
    assert "snakemake -n preprocess --config 'predict={min_viral_fraction: 0.6}'" in (
        CONFIG_EXAMPLES
    )
    assert config_examples("`--config x=1`, `--config key=value ...`, `--configfile a`") == [
        "snakemake --config x=1"
    ]


def test_the_set_up_says_how_to_reach_the_installed_commands():
    """After `make example` in a fresh shell, `snakemake` and `virnucpro-smk` exist only in
    .venv: the set-up block's activation line must put them first on PATH."""
    activate = [line for _, line in fenced_lines(README.read_text(encoding="utf-8"))]
    activate = [line.split("#")[0].strip() for line in activate if "bin/activate" in line]
    assert activate == [". .venv/bin/activate"], activate
    venv = ROOT / ".venv" / "bin"
    if not (venv / "activate").is_file():
        pytest.skip("no .venv here (`make install` makes it)")
    found = subprocess.run(
        ["bash", "-c", f"{activate[0]} && command -v snakemake virnucpro-smk python"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(ROOT)},
    ).stdout.split()
    assert found == [str(venv / name) for name in ("snakemake", "virnucpro-smk", "python")]


def test_the_readme_shows_the_main_targets():
    """The front page shows a dry-run and the three main targets as commands to copy."""
    shown = {
        [*command.split("#")[0].split(), ""][1]
        for _, command, _ in page_commands(README.read_text(encoding="utf-8"))
    }
    assert {"-n", "predict", "train", "compare"} <= shown, shown


def test_commands_of_every_page_are_collected(tmp_path):
    """A command on a docs page is run even when the README does not show it; a command on
    two pages runs once, under the page it appears on first."""
    (tmp_path / "a.md").write_text("```bash\nsnakemake -n   # dry-run\nsnakemake x\n```\n")
    (tmp_path / "b.md").write_text("text\n\n```\nsnakemake x\nsnakemake y --config a=1\n```\n")
    found = documented_commands([tmp_path / "a.md", tmp_path / "b.md"])
    assert [(Path(p).name, n, c.split("#")[0].strip()) for p, n, c, _ in found] == [
        ("a.md", 2, "snakemake -n"),
        ("a.md", 3, "snakemake x"),
        ("b.md", 5, "snakemake y --config a=1"),
    ]
    pages = [page_name(p) for p in doc_pages()]
    assert pages[0] == "README.md" and "docs/running.md" in pages, pages


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
    found = page_commands(text)
    no_dot = None if shutil.which("dot") else "graphviz is not installed (no dot)"
    assert [(n, c.split("#")[0].strip(), s) for n, c, s in found] == [
        (2, "snakemake -n", None),
        (3, "snakemake --rulegraph | dot -Tpng > r.png", no_dot),
        (4, "snakemake download_models", None),
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
