"""Imports follow the pipeline: a module imports only from its own folder or an earlier one.

The order is the diagram's (README) with the shared layers first: ``errors`` and ``io``, the
table ``formats``, the ``runtime`` (config, devices, progress), then ``preprocess`` ->
``models`` -> ``classify`` -> ``report`` -> ``speed`` (the timed runs of the whole pipeline),
and ``cli`` last. Imports inside functions count too: a late import is still a dependency.
Within a folder any order is allowed, but no two modules may import each other (directly or
around a longer loop).
"""

import ast
from graphlib import CycleError, TopologicalSorter

from conftest import ROOT

PACKAGE = ROOT / "workflow" / "scripts" / "virnucpro_smk"
ORDER = [
    "errors",
    "io",
    "formats",
    "runtime",
    "preprocess",
    "models",
    "classify",
    "report",
    "speed",
    "cli",
]


def _module_name(path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Module -> the package modules it imports (absolute names), late imports included."""
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = graph.setdefault(name, set())
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    module = ".".join([*base, node.module] if node.module else base)
                else:
                    module = node.module or ""
                if module.startswith("virnucpro_smk"):
                    for alias in node.names:  # `from . import x` names a module
                        candidate = f"{module}.{alias.name}"
                        sub = PACKAGE.parent / candidate.replace(".", "/")
                        found = sub.with_suffix(".py").is_file() or sub.is_dir()
                        targets.add(candidate if found else module)
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name.startswith("virnucpro_smk")}
        targets.discard(name)
    return graph


def _stage(module: str) -> int:
    if module == "virnucpro_smk":  # the package's __init__: the Ctrl-C hook every job needs
        return ORDER.index("runtime")
    return ORDER.index(module.split(".")[1])


def test_the_stage_order_names_every_folder_of_the_package():
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert folders | modules == set(ORDER)


def test_no_import_climbs_back_up_the_pipeline():
    climbing = sorted(
        f"{module} imports {target}"
        for module, targets in _imports().items()
        for target in targets
        if _stage(target) > _stage(module)
    )
    assert not climbing, "imports against the stage order:\n" + "\n".join(climbing)


def test_no_import_cycle():
    try:
        list(TopologicalSorter(_imports()).static_order())
    except CycleError as exc:
        raise AssertionError(f"import cycle: {' -> '.join(exc.args[1])}") from None
