"""Kill the workflow with SIGKILL at random points; --rerun-incomplete must finish identically."""

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import ROOT, run_snakemake, snakemake_cmd

pytestmark = pytest.mark.slow

ARGS = ["predict", "--cores", "2", "--nolock", "--configfile", "config/standin.yaml"]


def _config(out: Path, models: Path) -> list[str]:
    return ["--config", f"outdir={out}", f"models_dir={models}"]


def _comparable(root: Path) -> dict[str, Path]:
    skip = {"logs", "benchmarks", "env"}
    return {
        str(p.relative_to(root)): p
        for p in root.rglob("*")
        if p.is_file() and not (set(p.relative_to(root).parts) & skip)
    }


def _same(a: Path, b: Path) -> bool:
    if a.suffix == ".safetensors":
        ta, tb = load_file(a), load_file(b)
        return ta.keys() == tb.keys() and all(torch.equal(ta[k], tb[k]) for k in ta)
    if a.name in {"training_log.tsv", "metadata.json"} or a.suffix == ".png":
        return b.stat().st_size > 0  # timings and dates differ by design
    if a.parent.name == "precision":  # the decision must agree; its date differs by design
        keep = ("model_commit", "dtype", "allow_tf32", "check")
        ja, jb = json.loads(a.read_text()), json.loads(b.read_text())
        return all(ja[k] == jb[k] for k in keep)
    return a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("trial", range(3))
def test_sigkill_then_rerun_incomplete_gives_identical_outputs(standin_run, tmp_path, trial):
    reference, _ = standin_run  # an uninterrupted run of the same target and config
    models = reference.parent / "models"
    rng = random.Random(1000 + trial)
    out = tmp_path / "results"
    # extraction, training and prediction jobs run between ~2 s and ~25 s into a run
    delay = rng.uniform(2.0, 18.0)
    proc = subprocess.Popen(
        [*snakemake_cmd(), *ARGS, *_config(out, models)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(delay)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)  # snakemake and every job it started
    proc.wait()
    run_snakemake(*ARGS, "--rerun-incomplete", *_config(out, models))
    ref, got = _comparable(reference), _comparable(out)
    assert sorted(ref) == sorted(got), "a rerun must produce the same set of files"
    different = [name for name in ref if not _same(ref[name], got[name])]
    assert different == [], f"killed after {delay:.1f} s; differs: {different}"
    assert not [p for p in out.rglob(".*.tmp")], "temporary files must not survive a rerun"
