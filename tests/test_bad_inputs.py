"""The bad-input corpus (tests/data/bad_inputs): each case gives a one-line error or the right
result. FASTA inputs, the cheap DAG-time length scan, sample sheets and configs are checked
through the library (fast); three real dry-runs prove Snakemake prints those errors as one
line, without a traceback."""

from __future__ import annotations

import copy
import csv
import random
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ROOT, run_snakemake
from virnucpro_smk.errors import InputError
from virnucpro_smk.io.fasta import read_nucleotide_fasta, record_lengths
from virnucpro_smk.models.registry import parse_registry, select_models
from virnucpro_smk.models.store import check_downloaded_revision
from virnucpro_smk.preprocess.sample import preprocess_fasta
from virnucpro_smk.runtime.config_checks import check_config, load_sample_sheet

CORPUS = Path(__file__).parent / "data" / "bad_inputs"
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
with open(CORPUS / "expected.tsv", encoding="utf-8") as _handle:
    CASES = list(csv.DictReader(_handle, delimiter="\t"))


def _pairs(text: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in text.split(";"))


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Recursive update, as Snakemake merges a --configfile onto config/config.yaml."""
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def _start_up(config: dict[str, Any]) -> None:
    """What common.smk checks before building the DAG: schema, registry, downloaded revisions."""
    check_config(config, SCHEMA)
    registry = parse_registry(config["models"])
    dna, proteins = select_models(registry, config["dna_model"], list(config["protein_models"]))
    for spec in [dna, *proteins]:
        check_downloaded_revision(spec, config["models_dir"])


def _lookup(config: dict[str, Any], dotted: str) -> Any:
    value: Any = config
    for key in dotted.split("."):
        value = value[key]
    return value


def _run_case(case: dict[str, str], path: Path, tmp_path: Path) -> Any:
    kind = case["kind"]
    if kind == "fasta":
        outputs = [tmp_path / n for n in ("c.fa", "n.fa", "p.faa", "s.tsv")]
        try:
            return preprocess_fasta(path, 300, *outputs)
        finally:
            if case["outcome"] == "error":
                assert not any(p.exists() for p in outputs), "a failed run must leave no output"
    if kind == "scan":
        return list(record_lengths(path))
    if kind == "sheet":
        return load_sample_sheet(path, root=ROOT)
    if kind == "config":
        config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
        config = _merge(config, yaml.safe_load(path.read_text()))
        _start_up(config)
        return config
    raise AssertionError(f"unknown kind {kind!r} in expected.tsv")


@pytest.mark.parametrize("case", CASES, ids=[f"{c['kind']}:{c['file']}" for c in CASES])
def test_corpus_case(case, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # sheet and config paths are relative to the project root
    path = CORPUS / case["file"]
    if case["outcome"] == "error":
        with pytest.raises(InputError) as info:
            _run_case(case, path, tmp_path)
        message = str(info.value)
        assert case["expect"] in message
        assert "\n" not in message, "errors are one line"
        if case["kind"] in ("fasta", "scan", "sheet"):
            assert str(path) in message, "the message must name the file"
        return
    result = _run_case(case, path, tmp_path)
    expected = _pairs(case["expect"])
    if case["kind"] == "fasta":
        assert {r.id: r.seq for r in read_nucleotide_fasta(path)} == expected
        assert result.sequences == len(expected)
        assert (tmp_path / "s.tsv").read_text().count("\n") == len(expected) + 1
    elif case["kind"] == "sheet":
        assert list(result.items()) == list(expected.items())
    else:
        assert {k: str(_lookup(result, k)) for k in expected} == expected


def test_corpus_covers_every_file():
    listed = {c["file"] for c in CASES}
    on_disk = {p.name for p in CORPUS.iterdir() if p.is_file()} - {"expected.tsv", "README.md"}
    assert on_disk <= listed, f"files without an expected outcome: {sorted(on_disk - listed)}"
    assert len(CASES) >= 25


def test_config_defaults_are_filled_like_snakemake_validate():
    config = {"samples": "config/samples.tsv", "models": copy.deepcopy(_models())}
    check_config(config, SCHEMA)
    assert config["outdir"] == "results"
    assert config["chunks_per_gpu_job"] == 500000
    assert config["extraction"] == {
        "loader_workers": 2,
        "progress_seconds": 30,
        "checkpoint_seconds": 180,
        "compile": "auto",
    }
    assert (config["min_chunks_per_gpu_job"], config["gpus"]) == (800000, 0)
    assert config["models"]["dnaberts_768d"]["revision"] == "main"
    assert config["models"]["dnaberts_768d"]["trust_remote_code"] is False
    # the schema is the one place for defaults: the rule files read these sections as filled
    assert config["train"] == {
        "datasets": "",
        "seed": 42,
        "seeds": 5,
        "val_fraction": 0.1,
        "test_fraction": 0.1,
        "balance": True,
        "species_clusters": True,
        "builder_threads": 4,
        "recipe": {  # the original VirNucPro's numbers, stated in the schema only
            "hidden": 512,
            "dropout": 0.5,
            "lr": 2e-4,
            "momentum": 0.9,
            "step_size": 10,
            "gamma": 0.85,
            "batch_size": 32,
            "max_epochs": 200,
            "patience": 5,
            "block_frames": 256,
            "buffer_frames": 32768,
        },
    }
    assert config["predict"] == {
        "checkpoints": {},
        "min_viral_fraction": 0.5,
        "min_scored_fraction": 0.15,
        "plot_tracks": 8,
        "region_sensitivity": 0.85,
        "region_false_positive_rate": 0.03,
        "region_switch_probability": 0.001,
    }
    assert config["compare"] == {
        "baseline": "esm2_3b_2560d",
        "candidate": "fastesm650_1280d",
        "margins": {"sensitivity": 0.02, "false_positive_rate_ratio": 1.5},
        "fpr_floor": 0.001,
        "min_test_genomes": 20,
        "min_seeds": 5,
        "prevalences": [0.01, 0.1],
        "provirus_trials": 200,
        "min_speedup": 2.0,
        "speed_repeats": 3,
        "max_outside_load": 0.5,
        "bootstrap": 2000,
        "seed": 0,
        "fragment_lengths": [1000, 3000, 10000, 30000],
        "gated_lengths": [1000, 3000, 10000],
        "fragments_per_genome": 4,
    }
    assert config["verify"] == {
        "models": [],
        "reference_dir": "tests/data/reference_vectors",
        "checkpoint": "",
        "end_to_end_dir": "tests/data/end_to_end",
    }


def _models() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["models"]


def test_one_megabase_sequence(tmp_path):
    rng = random.Random(5)
    seq = "".join(rng.choices("ACGT", k=1_000_000))
    path = tmp_path / "big.fa"
    path.write_text(">big\n" + "\n".join(seq[i : i + 80] for i in range(0, len(seq), 80)) + "\n")
    outs = [tmp_path / n for n in ("c.fa", "n.fa", "p.faa", "s.tsv")]
    stats = preprocess_fasta(path, 300, *outs)
    assert stats.bases == 1_000_000
    assert stats.chunks == 3334
    assert outs[0].read_text().count(">") == 3334


def test_the_relative_path_hint_only_for_relative_paths(tmp_path):
    from virnucpro_smk.runtime.config_checks import load_sample_sheet

    for fasta, hinted in (("not_here.fa", True), (str(tmp_path / "not_here.fa"), False)):
        sheet = tmp_path / "sheet.tsv"
        sheet.write_text(f"sample\tfasta\ns1\t{fasta}\n")
        with pytest.raises(InputError, match="not found") as info:
            load_sample_sheet(sheet, root=tmp_path)
        assert ("relative to the project root" in str(info.value)) is hinted


def test_awkward_ids_are_reported(caplog):
    list(read_nucleotide_fasta(CORPUS / "awkward_ids.fa"))
    assert "contig/with/slashes" in caplog.text


# ---- the wiring: real dry-runs print these errors as one line -------------------------------


def _after_dag_build(text: str) -> list[str]:
    """Non-blank lines Snakemake printed after 'Building DAG of jobs...'.

    The profile notice goes to stderr before anything else; in stdout + stderr it may land
    after the DAG line, so it is left out.
    """
    lines = text.splitlines()
    start = lines.index("Building DAG of jobs...") + 1
    return [
        line
        for line in lines[start:]
        if line.strip() and not re.match(r"Using .*profile.* for setting default", line)
    ]


def _dry_run(*args: str):
    proc = run_snakemake("-n", *args, check=False, timeout=120)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, text
    assert "Traceback" not in text and 'File "' not in text, text
    return text


def test_dry_run_truncated_gzip_is_one_line(tmp_path):
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(f"sample\tfasta\nbroken\t{CORPUS / 'truncated.fa.gz'}\n")
    text = _dry_run(
        "predict",
        "--configfile",
        "config/standin.yaml",
        "--config",
        f"samples={sheet}",
        f"outdir={tmp_path / 'out'}",
        f"models_dir={tmp_path / 'models'}",
    )
    assert _after_dag_build(text) == [
        f"sample 'broken': {CORPUS / 'truncated.fa.gz'}: corrupt or truncated gzip file "
        "(Compressed file ended before the end-of-stream marker was reached)"
    ]


def test_dry_run_predict_without_classifier_is_one_line(tmp_path):
    text = _dry_run("predict", "--config", f"outdir={tmp_path}", f"models_dir={tmp_path}")
    [line] = _after_dag_build(text)
    assert line.startswith("no classifier for 300bp_dnaberts_768d+fastesm650_1280d_2048d: set ")


def test_dry_run_config_typo_is_one_line(tmp_path):
    text = _dry_run("--config", "chunks_per_gpu_jbo=5", f"outdir={tmp_path}")
    errors = [line for line in text.splitlines() if "gpu_jbo" in line or "rror" in line]
    assert errors == [
        "config: unknown key 'chunks_per_gpu_jbo' (did you mean 'chunks_per_gpu_job'?)"
    ]
    assert "Failed validating" not in text and "schema" not in text.lower()


def test_one_line_errors_stops_on_user_errors_only():
    from snakemake.exceptions import WorkflowError

    from virnucpro_smk.runtime.config_checks import one_line_errors

    for error in (InputError("x.fa: file not found"), WorkflowError("no classifier for t")):
        with pytest.raises(SystemExit) as info, one_line_errors():
            raise error
        assert info.value.code == 1
    with pytest.raises(ValueError), one_line_errors():  # a bug keeps its traceback
        raise ValueError("bug")


def test_the_sample_schema_validates_rows_as_snakemake_workflows_do():
    """workflow/schemas/samples.schema.yaml is the sheet's schema the way Snakemake workflows
    use one (``snakemake.utils.validate`` on the rows): it alone refuses the corpus's bad
    names and an empty path, and accepts the good sheets' rows with their extra columns; the
    workflow's wildcard pattern is the schema's."""
    import pandas as pd
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    from virnucpro_smk.runtime.config_checks import SAMPLE_NAME_PATTERN

    schema = str(ROOT / "workflow" / "schemas" / "samples.schema.yaml")
    good = ["train.x", "viral", "synthA", "S1", "a_b-c.1"]
    validate(pd.DataFrame({"sample": good, "fasta": "x.fa", "description": "d"}), schema)
    for sample, fasta in [("..", "x.fa"), (".x", "x.fa"), ("-x", "x.fa"), ("bad/name", "x.fa"),
                          ("my sample", "x.fa"), ("", "x.fa"), ("s1", "")]:  # fmt: skip
        with pytest.raises(WorkflowError):
            validate(pd.DataFrame({"sample": [sample], "fasta": [fasta]}), schema)
    assert re.fullmatch(SAMPLE_NAME_PATTERN, "a_b-c.1") and not re.fullmatch(
        SAMPLE_NAME_PATTERN, ".x"
    )
