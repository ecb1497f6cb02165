"""No function, class or method of the package that only tests or benchmarks reach.

Dead code costs a reader time and keeps tests green on behaviour nobody runs. Vulture scans
the package and rule scripts (workflow/scripts) with the names the Snakefile and rule files
use counted as uses; tests and benchmarks are left out on purpose, so a function only they
call is reported. Variables and attributes are not checked (dataclass fields and table
columns read by name look unused to a static scan).
"""

import keyword
import re

import vulture

from conftest import ROOT

CHECKED = {"function", "class", "method", "property"}


def _rule_names() -> str:
    """Every identifier of the Snakefile and rule files, one per line: Python that uses them."""
    rule_files = [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").rglob("*.smk"))]
    names = set()
    for path in rule_files:
        code = re.sub(r"#.*", "", path.read_text())  # a name in a comment is not a use
        names |= set(re.findall(r"[A-Za-z_]\w*", code))
    return "\n".join(sorted(names - set(keyword.kwlist)))


def test_every_package_function_is_reached_from_the_workflow_or_the_command_line():
    scan = vulture.Vulture()
    scan.scavenge([str(ROOT / "workflow" / "scripts")])
    scan.scan(_rule_names(), filename="<rule files>")
    unused = [
        f"{item.filename.relative_to(ROOT)}:{item.first_lineno} {item.typ} {item.name}"
        for item in scan.get_unused_code(min_confidence=60)
        if item.typ in CHECKED
    ]
    assert not unused, "reached only from tests or benchmarks:\n" + "\n".join(unused)
