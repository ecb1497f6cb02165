"""config/README.md is rendered from the config schema and must match it; every key is described.

The schema is the one place a config key is described; these tests make a schema edit without
regenerating the README, or a new key without a description, fail in CI.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from virnucpro_smk.models.registry import parse_model
from virnucpro_smk.runtime.config_checks import load_schema
from virnucpro_smk.runtime.config_docs import (
    README_PATH,
    REGENERATE,
    SCHEMA_PATH,
    iter_keys,
    main,
    render_config_docs,
    render_project_docs,
    shipped_config,
)

SCHEMA = load_schema(str(ROOT / SCHEMA_PATH))
KEYS = list(iter_keys(SCHEMA))


def test_config_readme_is_up_to_date():
    committed = (ROOT / README_PATH).read_text(encoding="utf-8")
    assert committed == render_project_docs(ROOT), (
        f"{README_PATH} is out of date with {SCHEMA_PATH} (or config/config.yaml): "
        f"run `{REGENERATE}` from the project root and commit the result"
    )


def test_every_key_has_a_description():
    missing = [k.dotted for k in KEYS if not str(k.schema.get("description") or "").strip()]
    assert not missing, f"config keys without a description in {SCHEMA_PATH}: {missing}"


def test_every_key_is_documented():
    text = render_project_docs(ROOT)
    absent = [k.dotted for k in KEYS if f"`{k.dotted}`" not in text]
    assert not absent, f"config keys missing from the rendered {README_PATH}: {absent}"


def test_walk_reaches_every_level():
    """Nested objects, the model registry's entries and the checkpoints map are all walked."""
    dotted = {k.dotted for k in KEYS}
    for key in (
        "samples",
        "chunk_length",
        "train.seed",
        "train.recipe.patience",
        "models.<name>",
        "models.<name>.dtype.cuda",
        "models.<name>.standin.style",
        "predict.checkpoints.<name>",
        "verify.reference_dir",
    ):
        assert key in dotted, key
    assert len(dotted) == len(KEYS), "a key is listed twice"


def test_new_key_without_description_is_caught():
    """The description check sees keys at any depth, not only the top level."""
    schema = copy.deepcopy(SCHEMA)
    schema["properties"]["train"]["properties"]["recipe"]["properties"]["warmup"] = {
        "type": "integer"
    }
    schema["$defs"]["model"]["properties"]["pooling"] = {"type": "string", "description": " "}
    undescribed = {
        k.dotted for k in iter_keys(schema) if not str(k.schema.get("description") or "").strip()
    }
    assert undescribed == {"train.recipe.warmup", "models.<name>.pooling"}


def test_changed_description_makes_readme_stale():
    """What the up-to-date test relies on: any description edit changes the rendered text."""
    schema = copy.deepcopy(SCHEMA)
    schema["properties"]["predict"]["properties"]["plot_tracks"]["description"] = "changed"
    config = shipped_config(ROOT)
    assert render_config_docs(schema, config) != render_config_docs(SCHEMA, config)
    assert render_config_docs(SCHEMA, config) == render_project_docs(ROOT)


def test_rendering_is_deterministic_and_describes_constraints():
    text = render_project_docs(ROOT)
    assert text == render_project_docs(ROOT)
    rows = {line.split(" | ")[0].strip("| `"): line for line in text.splitlines()}
    assert "integer or list of integers" in rows["chunk_length"]
    assert "one of `auto`, `cuda`, `cpu`" in rows["device"]
    assert "`> 0` and `< 1`" in rows["train.val_fraction"]
    assert "required" in rows["models.<name>.kind"]
    assert "`dnaberts_768d`, `esm2_3b_2560d`, `fastesm650_1280d`" in rows["models"]
    # <L> and <width> would be swallowed as HTML tags outside code spans
    assert "<L>" not in text.replace("`<L>bp_<dna>+<protein>_<width>d`", "")


@pytest.mark.parametrize("kind", ["dna", "protein"])
def test_a_bare_registry_entry_gets_the_schemas_defaults(kind):
    """Model-entry defaults live in the schema only: a minimal entry's ModelSpec holds them."""
    architecture = {"dna": "dnabert2", "protein": "esm2"}[kind]
    spec = parse_model(
        "x_8d",
        {
            "kind": kind,
            "architecture": architecture,
            "provider": "local",
            "source": "x",
            "width": 8,
        },
    )
    model = SCHEMA["$defs"]["model"]["properties"]
    defaults = {k: v["default"] for k, v in model.items() if "default" in v and k != "dtype"}
    assert defaults.keys() >= {"tokens_per_batch", "max_residues", "token_dropout", "revision"}
    assert {k: getattr(spec, k) for k in defaults} == defaults
    dtypes = model["dtype"]["properties"]
    assert spec.dtype == {k: v["default"] for k, v in dtypes.items()}
    assert spec.dtype_for("cpu") == "float32" and spec.dtype_for("cuda") == "bfloat16"


def test_check_mode_reports_a_stale_readme(tmp_path, capsys):
    (tmp_path / SCHEMA_PATH).parent.mkdir(parents=True)
    (tmp_path / "config").mkdir()
    (tmp_path / SCHEMA_PATH).write_text((ROOT / SCHEMA_PATH).read_text())
    (tmp_path / "config/config.yaml").write_text((ROOT / "config/config.yaml").read_text())
    assert main(["--root", str(tmp_path), "--check"]) == 1
    assert REGENERATE in capsys.readouterr().err
    assert main(["--root", str(tmp_path)]) == 0
    assert (tmp_path / README_PATH).read_text() == (ROOT / README_PATH).read_text()
    assert main(["--root", str(tmp_path), "--check"]) == 0


def test_module_runs_as_documented():
    proc = subprocess.run(
        [sys.executable, "-m", "virnucpro_smk.runtime.config_docs", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "workflow" / "scripts")},
    )
    assert proc.returncode == 0, proc.stderr
