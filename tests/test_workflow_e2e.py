"""End-to-end runs of the workflow on the bundled example with stand-in models."""

import csv
import json

import pytest

from conftest import ROOT, run_snakemake

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def standin_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("e2e")
    proc = run_snakemake(
        "predict", "--cores", "2", "--resources", "gpu=1", "--configfile", "config/standin.yaml",
        "--config", f"outdir={out / 'results'}", f"models_dir={out / 'models'}",
    )  # fmt: skip
    return out / "results", proc


def test_predict_target_writes_every_output(standin_run):
    results, _ = standin_run
    n_input = (ROOT / "resources/example/contigs.fasta").read_text().count(">")
    for pair in ("standin_dnabert_48d+standin_esm2_64d", "standin_dnabert_48d+standin_fastesm_32d"):
        folder = results / "example" / "chunk300" / pair
        with open(folder / "per_sequence.tsv") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        assert len(rows) == n_input
        assert {r["call"] for r in rows} <= {"virus", "others", "no coding frame"}
        assert any(r["call"] == "no coding frame" for r in rows)  # the 250-bp contig
        with open(folder / "predictions.tsv") as handle:
            frames = list(csv.DictReader(handle, delimiter="\t"))
        n_frames = (
            (results / "example/chunk300/frames/identified_protein.faa").read_text().count(">")
        )
        assert len(frames) == n_frames
        assert (folder / "scores.png").stat().st_size > 1000


def test_classifiers_carry_their_identity(standin_run):
    results, _ = standin_run
    metas = {
        p.parent.name: json.loads(p.read_text())
        for p in (results / "models").glob("*/metadata.json")
    }
    assert set(metas) == {
        "300bp_standin_dnabert_48d+standin_esm2_64d_112d",
        "300bp_standin_dnabert_48d+standin_fastesm_32d_80d",
    }
    a, b = metas.values()
    assert a["manifest_sha256"] == b["manifest_sha256"], "both models train on the same records"
    assert {a["input_width"], b["input_width"]} == {112, 80}
    assert a["test_metrics"]["accuracy"] > 0.8


def test_rerun_is_a_no_op(standin_run):
    results, _ = standin_run
    proc = run_snakemake(
        "predict", "-n", "--configfile", "config/standin.yaml",
        "--config", f"outdir={results}", f"models_dir={results.parent / 'models'}",
    )  # fmt: skip
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_input_errors_surface_without_traceback(tmp_path):
    bad = tmp_path / "bad.fa"
    bad.write_text(">p1\nMKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ\n")
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(f"sample\tfasta\nbad\t{bad}\n")
    proc = run_snakemake(
        "preprocess", "--cores", "1", "--config", f"samples={sheet}", f"outdir={tmp_path / 'o'}",
        check=False,
    )  # fmt: skip
    assert proc.returncode != 0
    log = (tmp_path / "o/logs/preprocess_sample/bad_chunk300.log").read_text()
    assert "looks like a protein sequence" in log
    assert "Traceback" not in log
    assert not (tmp_path / "o/bad/chunk300/chunked.fa").exists()
