"""The workflow on a real (localhost) SLURM cluster through profiles/slurm.

Needs Debian's slurm-wlm and munge and root (CI installs them; see .ci/run). The daemons
are started by tests/slurm/start_slurm.sh and stopped at the end.
"""

import os
import shutil
import subprocess

import pytest

from conftest import ROOT, run_snakemake

pytestmark = pytest.mark.slow
SLURM = ROOT / "tests" / "slurm"


@pytest.fixture(scope="module")
def cluster():
    if not shutil.which("slurmctld") or os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("CI must provide slurm-wlm and root (see .ci/run)")
        pytest.skip("needs slurm-wlm, munge and root")
    subprocess.run(["bash", str(SLURM / "start_slurm.sh")], check=True, timeout=120)
    yield
    subprocess.run(["bash", str(SLURM / "stop_slurm.sh")], check=False, timeout=60)


def test_predict_through_sbatch_matches_a_local_run(cluster, standin_run, tmp_path):
    local, _ = standin_run
    out = tmp_path / "results"
    proc = run_snakemake(
        "predict",
        "--profile",
        "profiles/slurm",
        "--configfile",
        "config/standin.yaml",
        "--config",
        f"outdir={out}",
        f"models_dir={tmp_path / 'models'}",
        # no slurmdbd here: poll with squeue (sacct would hang), and poll fast
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        "2",
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
    )
    text = proc.stdout + proc.stderr
    submitted = [line for line in text.splitlines() if "submitted with SLURM jobid" in line]
    assert len(submitted) >= 10, "jobs must go through sbatch"
    states = subprocess.run(
        ["squeue", "--states=all", "-h", "-o", "%i %T %P"], capture_output=True, text=True
    ).stdout
    assert "COMPLETED" in states
    # the extraction jobs asked for a GPU: SLURM assigned one and said which
    logs = list((out / "logs" / "extract_embeddings").rglob("*.log"))
    assert logs and all("SLURM_JOB_ID=" in p.read_text() for p in logs)
    assert all("CUDA_VISIBLE_DEVICES=0" in p.read_text() for p in logs)
    for pair in ("standin_dnabert_48d+standin_esm2_64d", "standin_dnabert_48d+standin_fastesm_32d"):
        for name in ("predictions.tsv", "per_chunk.tsv", "per_sequence.tsv", "viral.fna"):
            mine = out / "samples" / "example" / "chunk300" / pair / name
            ref = local / "samples" / "example" / "chunk300" / pair / name
            assert mine.read_bytes() == ref.read_bytes(), f"{pair}/{name} differs from local"
