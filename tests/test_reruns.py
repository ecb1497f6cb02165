"""What makes Snakemake recompute finished work: only what changes a result.

All against the one stand-in `predict` run of the session (``standin_run``): a failing run and
dry-runs with other settings, none of which may plan (or cause) recomputation unless a result
would change.
"""

from __future__ import annotations

import os
import re

import pytest

from conftest import run_snakemake
from virnucpro_smk.runtime.environment import host_has_gpu

pytestmark = pytest.mark.slow  # one stand-in workflow run (standin_run), then dry-runs


def _dry_run(results, *config: str, configfile=None):
    """``predict -n`` on the session's run; ``configfile`` (YAML text) overrides the example's."""
    extra = []
    if configfile is not None:
        path = results.parent / "override.yaml"
        path.write_text(configfile)
        extra = [str(path)]
    return run_snakemake(
        "predict",
        "-n",
        "--configfile",
        "config/standin.yaml",
        *extra,
        "--config",
        f"outdir={results}",
        f"models_dir={results.parent / 'models'}",
        *config,
    )


def planned(proc) -> dict[str, int]:
    """Jobs per rule of a dry-run (its "Job stats" table); empty when nothing is to be done."""
    text = proc.stdout + proc.stderr
    if "Nothing to be done" in text:
        return {}
    table = text.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def test_rerun_is_a_no_op(standin_run):
    results, _ = standin_run
    assert planned(_dry_run(results)) == {}


@pytest.mark.skipif(host_has_gpu(), reason="device=cuda only fails on a machine without a GPU")
def test_a_failed_cuda_run_leaves_finished_work_finished(standin_run):
    results, _ = standin_run
    before = sorted(p for p in results.rglob("*") if p.is_file())
    proc = run_snakemake(
        "predict",
        "--cores",
        "2",
        "--configfile",
        "config/standin.yaml",
        "--config",
        f"outdir={results}",
        f"models_dir={results.parent / 'models'}",
        "device=cuda",
        check=False,
    )
    assert proc.returncode != 0
    assert "CUDA is not usable" in proc.stdout + proc.stderr
    after = sorted(p for p in results.rglob("*") if p.is_file())
    assert set(before) - set(after) == set(), "the failed run deleted finished work"
    # `auto` resolves to the CPU here: the same run as `cpu`, spelled differently
    for device in ("cpu", "auto"):
        assert planned(_dry_run(results, f"device={device}")) == {}, device


def test_speed_only_settings_rerun_nothing(standin_run):
    results, _ = standin_run
    proc = _dry_run(
        results,
        configfile=(
            "extraction: {loader_workers: 1, progress_seconds: 5, compile: true}\n"
            # the cost estimate sizes jobs only (here still one job per model)
            "models: {standin_fastesm_32d: {tokens_per_batch: 512, gflop_per_token: 3.0}}\n"
        ),
    )
    assert planned(proc) == {}


def test_result_settings_rerun_what_they_change(standin_run):
    results, _ = standin_run
    # a setting of one protein model: its vectors, classifier and predictions, nothing else
    jobs = planned(
        _dry_run(results, configfile="models: {standin_fastesm_32d: {max_residues: 50}}\n")
    )
    assert jobs.get("check_precision") == 1
    assert jobs.get("extract_embeddings") == 2  # the training set's and the sample's shard
    assert jobs.get("train_classifier") == 1
    assert jobs.get("predict_sample") == 1
    assert "preprocess_sample" not in jobs
    assert "validate_environment" not in jobs
    # another chunk length: everything from the chunks on, for that length
    jobs = planned(_dry_run(results, "chunk_length=500"))
    assert jobs.get("preprocess_sample") == 1
    # 3 models x the sample's shard; the training set's shards are sized by the frames drawn
    # (build_training_set is a checkpoint), so they are planned once it has run
    assert jobs.get("extract_embeddings") == 3
    assert jobs.get("build_training_set") == 1
    assert jobs.get("train_classifier") == 2
    assert "validate_environment" not in jobs


def test_outputs_follow_the_umask_and_classifiers_are_read_only(standin_run):
    """Every result file has the mode open() gives under the run's umask (0644 under 022:
    readable by the group on a cluster); protected classifiers lose only the write bits
    (0444 under 022)."""
    results, _ = standin_run
    umask = os.umask(0)
    os.umask(umask)
    plain = 0o666 & ~umask
    modes = {p: p.stat().st_mode & 0o777 for p in results.rglob("*") if p.is_file()}
    weights = [p for p in modes if p.name == "model.safetensors" and "models" in p.parts]
    # each classifier, and each of its 3 training seeds' checkpoints
    assert len(weights) == 2 * (1 + 3)
    assert any(p.suffix == ".safetensors" for p in modes if p not in weights)
    wrong = {
        str(p.relative_to(results)): oct(mode)
        for p, mode in modes.items()
        if mode != (plain & ~0o222 if p in weights else plain)
    }
    assert not wrong


def test_training_extraction_takes_its_share_of_the_cores(standin_run, tmp_path):
    """`device=cuda --cores 16 --resources gpu=8`: the training set's extraction jobs take
    16 // 8 = 2 threads each, as a sample's do, so eight run side by side (they took every
    core: one at a time on a node of 8 GPUs). The held-out fragments' jobs are the same rule
    and function (rules/helpers/embed.smk extraction_threads), with no frame-set branch left.

    Planned on a copy of the session's run (the training checkpoint done; its CUDA
    environment report copied from the CPU one so the checkpoint stands), every extraction
    job forced."""
    import shutil

    from test_gpu_fill import extraction_threads

    results, _ = standin_run
    copy = tmp_path / "results"
    shutil.copytree(results, copy, symlinks=True)
    env = copy / "env"
    (env / "validation_cuda.json").write_bytes((env / "validation_cpu.json").read_bytes())
    proc = run_snakemake(
        "predict", "-n", "--configfile", "config/standin.yaml",
        "--config", f"outdir={copy}", f"models_dir={results.parent / 'models'}", "device=cuda",
        "--cores", "16", "--resources", "gpu=8", "--forcerun", "extract_embeddings",
    )  # fmt: skip
    jobs = proc.stdout.split("rule extract_embeddings:")[1:]
    training = [job for job in jobs if "unit=training" in job]
    assert len(training) == 3, proc.stdout[-3000:]  # the DNA model and two protein models
    assert extraction_threads("rule extract_embeddings:".join(["", *training])) == [2, 2, 2]
