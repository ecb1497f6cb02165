"""Kill the workflow with SIGKILL in named stages; --rerun-incomplete must finish identically.

One run is killed while its first extraction job works, its resumption while the first
training job works, the next while the first prediction job works; a last resumption
finishes. Each kill is triggered by the stage's first job log reaching its first line of
work (not by a delay), so every trial lands in the stage it names on any machine.
"""

import json
import os
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


# One protein model goes through the kills (both take the same rules; the run is a third
# shorter); the uninterrupted reference ran both, so its other model's files are left out.
PROTEIN_MODEL, OTHER_MODEL = "standin_fastesm_32d", "standin_esm2_64d"


def _config(out: Path, models: Path) -> list[str]:
    return [
        "--config",
        f"outdir={out}",
        f"models_dir={models}",
        f"protein_models=[{PROTEIN_MODEL}]",
    ]


def _comparable(root: Path) -> dict[str, Path]:
    """Result files by path, less logs, timings, the other model's files and the summary
    (one row per model)."""
    skip = {"logs", "benchmarks", "env", "summary.tsv"}
    return {
        str(p.relative_to(root)): p
        for p in root.rglob("*")
        if p.is_file()
        and not (set(p.relative_to(root).parts) & skip)
        and OTHER_MODEL not in str(p.relative_to(root))
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


# (stage, rule): the order in which a `predict` run reaches them
STAGES = [
    ("extraction", "extract_embeddings"),
    ("training", "train_classifier"),
    ("prediction", "predict_sample"),
]


def _working(logs: Path) -> bool:
    """A job of this rule has logged its start line and at least one line of work."""
    return logs.is_dir() and any(
        p.is_file() and len(p.read_bytes().splitlines()) >= 2 for p in logs.rglob("*.log")
    )


def _kill_in_stage(out: Path, models: Path, rule: str, rerun: bool, timeout: float = 600):
    """Start (or resume) the run and SIGKILL it once a job of ``rule`` is at work."""
    args = [*ARGS, *(["--rerun-incomplete"] if rerun else []), *_config(out, models)]
    proc = subprocess.Popen(
        [*snakemake_cmd(), *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if _working(out / "logs" / rule):
                os.killpg(proc.pid, signal.SIGKILL)  # snakemake and every job it started
                return
            time.sleep(0.05)
        raise AssertionError(f"the run ended (or timed out) before any {rule} job worked")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_sigkill_in_each_stage_then_rerun_incomplete_gives_identical_outputs(standin_run, tmp_path):
    reference, _ = standin_run  # an uninterrupted run of the same target and config
    models = reference.parent / "models"
    out = tmp_path / "results"
    for n, (stage, rule) in enumerate(STAGES):
        _kill_in_stage(out, models, rule, rerun=n > 0)
        assert not (out / "summary.tsv").exists(), f"killed in {stage}: the run had finished"
    run_snakemake(*ARGS, "--rerun-incomplete", *_config(out, models))
    ref, got = _comparable(reference), _comparable(out)
    # A temp() output of a job that finished before the kill while the training-set
    # checkpoint was pending is kept by Snakemake (it cannot know the consumers yet) and not
    # removed by the resumed run; `snakemake --delete-temp-output` removes it (README).
    kept = {name for name in got if name.endswith("/chunked.fa") and name not in ref}
    assert all(got[name].stat().st_size > 0 for name in kept)
    got = {name: path for name, path in got.items() if name not in kept}
    assert sorted(ref) == sorted(got), (
        "a rerun must produce the same set of files; only in the reference: "
        f"{sorted(set(ref) - set(got))}, only after the rerun: {sorted(set(got) - set(ref))}"
    )
    different = [name for name in ref if not _same(ref[name], got[name])]
    assert different == [], f"killed in extraction, training, prediction; differs: {different}"
    assert not [p for p in out.rglob(".*.tmp")], "temporary files must not survive a rerun"
    assert (out / "summary.tsv").is_file()
