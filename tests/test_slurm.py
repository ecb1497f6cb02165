"""The workflow on a real (localhost) SLURM cluster through profiles/slurm.

The test runs its own private cluster (tests/slurm/start_slurm.sh): munged, slurmctld and
slurmd with a configuration, ports, state, spool, logs and pid files in a temporary
directory, reached through SLURM_CONF. It never writes to /etc and never touches daemons it
did not start; it stops exactly the processes it started, by their ids. Needs root and
Debian's slurm-wlm and munge (`make test` installs them as root); skipped otherwise.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, run_snakemake

SLURM = ROOT / "tests" / "slurm"
SYSTEM_DIRS = (Path("/etc/slurm"), Path("/etc/munge"))
# the protein model the SLURM run takes through every stage (config/standin.yaml has two)
PROTEIN_MODEL = "standin_fastesm_32d"


def tree_digest(root: Path) -> str:
    """Hash of a directory's paths, modes and contents ("absent" when it does not exist)."""
    if not root.exists():
        return "absent"
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(f"{path.relative_to(root)} {path.lstat().st_mode:o}\n".encode())
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def started_pids(directory: Path) -> list[int]:
    """Ids of the daemons start_slurm.sh started (it records them as "pid name" lines)."""
    pids = directory / "pids"
    return [int(line.split()[0]) for line in pids.read_text().splitlines()] if pids.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _start(directory: Path) -> dict[str, str]:
    """Start a private cluster in ``directory``; skip when this machine cannot run one."""
    if os.geteuid() != 0 or not shutil.which("slurmctld"):
        if os.environ.get("CI"):
            pytest.fail("CI must provide slurm-wlm, munge and root (see .ci/run)")
        pytest.skip("needs root and Debian's slurm-wlm and munge (`make test` installs them)")
    proc = subprocess.run(
        ["bash", str(SLURM / "start_slurm.sh"), str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        _stop(directory)
        if proc.returncode == 3:
            pytest.skip(f"cannot run a private SLURM here: {proc.stderr.strip()}")
        pytest.fail(f"private SLURM did not start:\n{proc.stdout}\n{proc.stderr}")
    # DIR/bin holds an srun that finds this cluster from inside a job (see start_slurm.sh)
    return {
        "SLURM_CONF": str(directory / "slurm.conf"),
        "PATH": f"{directory / 'bin'}{os.pathsep}{os.environ['PATH']}",
    }


def _stop(directory: Path) -> None:
    subprocess.run(["bash", str(SLURM / "stop_slurm.sh"), str(directory)], timeout=60)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A private one-node cluster for the module: the environment that reaches it."""
    before = {d: tree_digest(d) for d in SYSTEM_DIRS}
    directory = tmp_path_factory.mktemp("slurm")
    env = _start(directory)
    try:
        yield env
    finally:
        _stop(directory)
        assert not [p for p in started_pids(directory) if alive(p)], "a daemon outlived the test"
        assert {d: tree_digest(d) for d in SYSTEM_DIRS} == before, "the test changed /etc"


def test_private_cluster_starts_and_stops_without_a_trace(tmp_path):
    before = {d: tree_digest(d) for d in SYSTEM_DIRS}
    env = _start(tmp_path)
    pids = started_pids(tmp_path)
    try:
        assert len(pids) == 3 and all(alive(p) for p in pids)
        info = subprocess.run(
            ["scontrol", "show", "config"],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, **env},
        ).stdout
        assert str(tmp_path / "state") in info  # our controller answers, from our config
    finally:
        _stop(tmp_path)
    assert not [p for p in pids if alive(p)], "stop_slurm.sh left a daemon running"
    assert {d: tree_digest(d) for d in SYSTEM_DIRS} == before


@pytest.mark.slow
def test_predict_through_sbatch_matches_a_local_run(cluster, standin_run, tmp_path):
    local, _ = standin_run
    out = tmp_path / "results"
    # Time: each sbatch job costs a Snakemake start inside the job and status polls, so the
    # run is cut to what SLURM can get wrong: the local run's finished work up to the
    # classifiers (environment check, precision decisions, training) is copied, mtimes kept,
    # and one protein model's prediction of the example goes through sbatch (preprocessing,
    # GPU extraction jobs, scoring, summary). Training's own rules run through SLURM nowhere
    # else; tests/test_crash_resume.py and test_reruns.py cover them locally.
    shutil.copytree(local, out, ignore=shutil.ignore_patterns("samples", "summary.tsv", "logs"))
    proc = run_snakemake(
        "predict",
        "--profile",
        "profiles/slurm",
        "--configfile",
        "config/standin.yaml",
        "--config",
        f"outdir={out}",
        f"models_dir={local.parent / 'models'}",
        f"protein_models=[{PROTEIN_MODEL}]",
        # no slurmdbd here: poll with squeue (sacct would hang), and poll fast: the plugin
        # adds 10 s to its interval after each poll that finds no job finished, so a first
        # poll after 1 s (seeing a short job still running) is followed by one at 12 s, not 14 s
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        "1",
        "--seconds-between-status-checks",
        "2",
        # a 2-core, 24 GB node: shrink the profile's memory requests
        "--default-resources",
        "mem_mb=1000",
        "runtime=30",
        "slurm_partition=cpu",
        "--set-resources",
        "extract_embeddings:mem_mb=1500",
        "extract_embeddings:gpu=1",
        "train_classifier:mem_mb=1500",
        "predict_sample:mem_mb=1000",
        "preprocess_sample:mem_mb=1000",
        timeout=900,
        env=cluster,
    )
    text = proc.stdout + proc.stderr
    submitted = [line for line in text.splitlines() if "submitted with SLURM jobid" in line]
    # preprocess_sample, extract_embeddings x2 (DNA, protein), predict_sample, summarize
    assert len(submitted) == 5, "the prediction's jobs must go through sbatch"
    states = subprocess.run(
        ["squeue", "--states=all", "-h", "-o", "%i %T %P"],
        capture_output=True,
        text=True,
        env={**os.environ, **cluster},
    ).stdout
    assert "COMPLETED" in states
    # the extraction jobs asked for a GPU: SLURM assigned one and said which
    logs = list((out / "logs" / "extract_embeddings").rglob("*.log"))
    assert logs and all("SLURM_JOB_ID=" in p.read_text() for p in logs)
    assert all("CUDA_VISIBLE_DEVICES=0" in p.read_text() for p in logs)
    # the copied work was not redone
    assert not (out / "logs" / "train_classifier").exists()
    pair = f"standin_dnabert_48d+{PROTEIN_MODEL}"
    for name in ("predictions.tsv", "per_chunk.tsv", "per_sequence.tsv", "viral.fna"):
        mine = out / "samples" / "example" / "chunk300" / pair / name
        ref = local / "samples" / "example" / "chunk300" / pair / name
        assert mine.read_bytes() == ref.read_bytes(), f"{pair}/{name} differs from local"
