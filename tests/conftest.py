"""Shared fixtures: project paths, the ../shared data (read in place), snakemake runner."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VIRNUCPRO_SHARED", ROOT.parent / "shared")) / "data"
REFERENCE = SHARED / "virnucpro_reference"

sys.path.insert(0, str(ROOT / "workflow" / "scripts"))
# shared with the benchmarks: simulated inputs both draw from (benchmarks/region_tracks.py)
sys.path.insert(1, str(ROOT / "benchmarks"))

# Every snakemake start imports the SLURM executor plugin (when installed), which runs
# `scontrol show config` at import. Where slurm-wlm is installed but no controller answers,
# that waits up to 10 s per start (for a dead controller, or for a DNS SRV lookup when there
# is no slurm.conf). An empty config makes scontrol fail at once; the tests run snakemake
# locally, and the SLURM test passes its own private cluster's SLURM_CONF.
os.environ["SLURM_CONF"] = os.devnull


def build_into(files, out_dir: Path, **kwargs):
    """``build_training_set`` writing its five outputs under ``out_dir`` as m.tsv, m.json,
    n.fa, p.faa and s.tsv (the names the training-set tests read back); ``seed``,
    ``val_fraction``, ``test_fraction`` and ``balance`` go to its SplitSettings."""
    from virnucpro_smk.preprocess.genome_splits import build_training_set

    split = {
        k: kwargs.pop(k)
        for k in ("seed", "val_fraction", "test_fraction", "balance")
        if k in kwargs
    }  # the schema's unless given
    out_dir = Path(out_dir)
    return build_training_set(
        files,
        manifest=out_dir / "m.tsv",
        summary=out_dir / "m.json",
        nucleotide=out_dir / "n.fa",
        protein=out_dir / "p.faa",
        frame_index=out_dir / "s.tsv",
        settings=default_split(**split),
        **kwargs,
    )


@pytest.fixture(scope="session")
def shared_data() -> Path:
    assert SHARED.is_dir(), f"shared test data not found at {SHARED} (set VIRNUCPRO_SHARED)"
    return SHARED


@pytest.fixture(scope="session")
def reference() -> Path:
    assert REFERENCE.is_dir(), f"reference outputs not found at {REFERENCE}"
    return REFERENCE


def snakemake_cmd() -> list[str]:
    exe = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or shutil.which(
        "snakemake"
    )
    assert exe, "snakemake is not installed"
    return [exe]


def run_snakemake(
    *args: str,
    cwd: Path = ROOT,
    check: bool = True,
    timeout: int = 900,
    env: dict[str, str] | None = None,
):
    """Run snakemake from the project root; returns the CompletedProcess (text output).

    ``env``: variables set on top of this process's environment (e.g. SLURM_CONF)."""
    proc = subprocess.run(
        [*snakemake_cmd(), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({proc.returncode}):\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


@pytest.fixture(scope="session")
def standins(tmp_path_factory):
    """The three stand-in models of config/standin.yaml, built into a temporary directory."""
    from standin_models import build_all

    return build_all(tmp_path_factory.mktemp("standin_models"))


#: `make example`'s snakemake arguments (Makefile, CORES=2): what standin_run runs.
EXAMPLE_ARGS = (
    "predict",
    "--cores",
    "2",
    "--resources",
    "gpu=1",
    "--configfile",
    "config/standin.yaml",
)


@pytest.fixture(scope="session")
def standin_run(tmp_path_factory):
    """`snakemake predict` on the bundled example with stand-in models, run locally once:
    `make example` (:data:`EXAMPLE_ARGS`) with its outputs in a temporary directory."""
    out = tmp_path_factory.mktemp("e2e")
    proc = run_snakemake(
        *EXAMPLE_ARGS,
        "--config",
        f"outdir={out / 'results'}",
        f"models_dir={out / 'models'}",
    )
    return out / "results", proc


def child_peak_rss_kb(code: str, args: dict) -> int:
    """Run ``code`` in a fresh interpreter (argv: the package's folder, ``args`` as JSON) and
    return the peak resident memory it reports on its last line, ``{"vmhwm_kb": N}``: a
    memory test's figure, free of what this test process already holds."""
    import json

    proc = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "workflow" / "scripts"), json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return int(json.loads(proc.stdout.strip().splitlines()[-1])["vmhwm_kb"])


# The package's typed settings as a run gets them by default: from the config schema, the one
# place defaults live (tests change what they test through ``dataclasses.replace``).


def default_thresholds():
    """``predict.min_viral_fraction``/``min_scored_fraction`` of the schema."""
    from virnucpro_smk.classify.calls import CallThresholds
    from virnucpro_smk.runtime.config_defaults import schema_defaults

    return CallThresholds.from_config(schema_defaults("predict"))


def default_region_model():
    """``predict.region_*`` of the schema."""
    from virnucpro_smk.classify.region_model import RegionModel
    from virnucpro_smk.runtime.config_defaults import schema_defaults

    return RegionModel.from_config(schema_defaults("predict"))


def default_recipe(**changes):
    """``train.recipe`` of the schema with the seed ``train.seed``, then ``changes``."""
    from dataclasses import replace

    from virnucpro_smk.classify.recipe import TrainConfig
    from virnucpro_smk.runtime.config_defaults import schema_defaults

    train = schema_defaults("train")
    return replace(TrainConfig.from_config(train["recipe"], train["seed"]), **changes)


def default_split(**changes):
    """``train.seed``, ``val_fraction``, ``test_fraction`` and ``balance`` of the schema."""
    from virnucpro_smk.preprocess.genome_splits import SplitSettings
    from virnucpro_smk.runtime.config_defaults import schema_defaults

    return SplitSettings.from_config({**schema_defaults("train"), **changes})


def default_extraction(**changes):
    """``extraction:`` of the schema (loader workers, progress, checkpoints, compile)."""
    from virnucpro_smk.models.extraction_job import ExtractionSettings
    from virnucpro_smk.runtime.config_defaults import schema_defaults

    return ExtractionSettings.from_config({**schema_defaults("extraction"), **changes})


def run_extraction(
    spec,
    model_dir,
    frames,
    index,
    shard,
    out,
    chunk_length,
    device,
    precision,
    *,
    gpu_requested=None,
    started=None,
    extra_meta=None,
    **settings,
):
    """``extract_shard`` of one job with the schema's extraction settings, ``settings``
    (e.g. ``loader_workers``, ``compile``, ``checkpoint_seconds``) changed; in-process and
    eager unless asked (the tests' speed: no DataLoader workers, no compile)."""
    from virnucpro_smk.models.embeddings import extract_shard
    from virnucpro_smk.models.extraction_job import ExtractionJob

    job = ExtractionJob(
        spec,
        model_dir,
        frames,
        index,
        shard,
        out,
        chunk_length,
        precision,
        device,
        extra_meta or {},
    )
    settings = {"loader_workers": 0, "compile": False, **settings}
    return extract_shard(
        job, default_extraction(**settings), gpu_requested=gpu_requested, started=started
    )
