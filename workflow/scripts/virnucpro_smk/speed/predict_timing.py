"""The speed runs: `predict` end to end for both protein models, alternating, with conditions.

Rule ``time_predict`` calls :func:`time_predict` once per comparison, as one job that holds
every core and the run's GPUs, so no other job of the workflow runs meanwhile. It runs the
baseline's and the candidate's `predict` on one fixed input (the held-out fragments)
``repeats`` times each, alternating (B C B C ...), each run as four fresh processes (the
stages of :mod:`.predict_stage`, as the workflow's jobs would be), and records per run the
wall seconds per stage, the load average before and after, the CPU time other processes
used meanwhile (from ``/proc/stat`` minus the run's own processes), and on a GPU the other
processes NVML lists on the visible devices before and after. :mod:`..report.speed_runs`
judges them.

Before the first run every file the runs read (weights, classifiers, the input) is read once,
so that the first run does not alone pay for a cold page cache.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import VirNucProError
from ..formats.job_stats import gpu_figures, read_job_stats
from ..formats.speed_runs import STAGES, SpeedRun
from ..io.atomic import write_text_atomic
from ..models.extraction_job import ExtractionSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimingPlan:
    """What the speed runs run: the input, the models (baseline first) and predict's settings.

    ``registry`` holds the raw registry entries of the DNA and both protein models (each
    stage process parses its own), ``precision`` each model's check_precision JSON and
    ``dtypes`` the run dtype it records, ``checkpoints`` each protein model's classifier.
    """

    fasta: str
    chunk_length: int
    dna_model: str
    baseline: str
    candidate: str
    registry: Mapping[str, Mapping[str, Any]]
    model_dirs: Mapping[str, str]
    precision: Mapping[str, str]
    checkpoints: Mapping[str, str]
    device: str
    ambiguous: str
    predict: Mapping[str, Any]  # min_viral_fraction, min_scored_fraction, region_model, plot_tracks
    extraction: ExtractionSettings  # speed knobs of the runs' extraction stages
    repeats: int


def busy_cpu_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (``/proc/stat``); None where
    there is no such file."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = handle.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    values = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
    busy = sum(values) - values[3] - values[4]
    return busy / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (the stage processes)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def gpu_processes(device: str) -> tuple[str, ...]:
    """Processes NVML lists on the visible GPUs (``gpuI:pidP``); () on a CPU run. NVML being
    unavailable on a GPU run is reported as such (the runs then cannot be checked)."""
    if device != "cuda":
        return ()
    try:
        import pynvml

        from ..runtime.gpu_slots import visible_devices

        pynvml.nvmlInit()
        out = []
        for index, node_id in enumerate(visible_devices()):
            if node_id.startswith(("GPU-", "MIG-")):
                handle = pynvml.nvmlDeviceGetHandleByUUID(node_id)
            else:
                handle = pynvml.nvmlDeviceGetHandleByIndex(int(node_id))
            procs = [
                *pynvml.nvmlDeviceGetComputeRunningProcesses(handle),
                *pynvml.nvmlDeviceGetGraphicsRunningProcesses(handle),
            ]
            out += [f"gpu{index}:pid{p.pid}" for p in procs if p.pid != os.getpid()]
        return tuple(sorted(set(out)))
    except Exception as exc:  # no NVML: say so, the verdict cannot rely on the GPU being free
        return (f"NVML unavailable ({type(exc).__name__})",)


def warm_page_cache(paths: Sequence[str | os.PathLike[str]]) -> int:
    """Read every file (directories: every file below) once; the bytes read."""
    total = 0
    for path in paths:
        p = Path(path)
        for f in sorted(p.rglob("*")) if p.is_dir() else [p]:
            if f.is_file():
                with open(f, "rb") as handle:
                    while chunk := handle.read(1 << 24):
                        total += len(chunk)
    return total


def stage_command(stage: str, spec_path: Path) -> list[str]:
    return [sys.executable, "-m", "virnucpro_smk.speed.predict_stage", stage, str(spec_path)]


def _stage_env() -> dict[str, str]:
    """The stage processes import this very package, wherever it was imported from."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def _gpu_figures(run_dir: Path) -> dict[str, dict[str, float]]:
    """The extraction stages' GPU figures (stats JSON keys in GPU_FIGURES), when present."""
    out: dict[str, dict[str, float]] = {}
    for kind in ("dna", "protein"):
        path = run_dir / f"stats_{kind}.json"
        if not path.is_file():
            continue
        figures = gpu_figures(read_job_stats(path))
        if figures:
            out[kind] = figures
    return out


def one_run(
    plan: TimingPlan,
    model: str,
    repeat: int,
    position: int,
    run_dir: Path,
    dtypes: Mapping[str, str],
) -> SpeedRun:
    """One end-to-end predict run of ``model``, each stage a fresh process."""
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    spec = {
        "fasta": plan.fasta,
        "chunk_length": plan.chunk_length,
        "run_dir": str(run_dir),
        "dna_model": plan.dna_model,
        "protein_model": model,
        "registry": {n: dict(plan.registry[n]) for n in (plan.dna_model, model)},
        "model_dirs": {n: plan.model_dirs[n] for n in (plan.dna_model, model)},
        "precision": {n: plan.precision[n] for n in (plan.dna_model, model)},
        "checkpoint": plan.checkpoints[model],
        "device": plan.device,
        "ambiguous": plan.ambiguous,
        "extraction": asdict(plan.extraction),
        **plan.predict,
    }
    spec_path = run_dir / "spec.json"
    write_text_atomic(spec_path, json.dumps(spec))
    env = _stage_env()
    gpu_before = gpu_processes(plan.device)
    load_before = os.getloadavg()
    busy_before, own_before = busy_cpu_seconds(), own_cpu_seconds()
    started = time.perf_counter()
    stage_seconds: dict[str, float] = {}
    for stage in STAGES:
        t0 = time.perf_counter()
        done = subprocess.run(
            stage_command(stage, spec_path), env=env, capture_output=True, text=True, check=False
        )
        stage_seconds[stage] = round(time.perf_counter() - t0, 3)
        write_text_atomic(run_dir / f"{stage}.log", done.stdout + done.stderr)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise VirNucProError(
                f"speed run of {model} (repeat {repeat + 1}): stage {stage} failed: {tail[0]} "
                f"(log: {run_dir / f'{stage}.log'})"
            )
    seconds = time.perf_counter() - started
    busy_after, own_after = busy_cpu_seconds(), own_cpu_seconds()
    load_after = os.getloadavg()
    gpu_after = gpu_processes(plan.device)
    outside = None
    if busy_before is not None and busy_after is not None and seconds > 0:
        other = (busy_after - busy_before) - (own_after - own_before)
        outside = round(max(0.0, other) / seconds, 3)
    return SpeedRun(
        model,
        repeat,
        position,
        round(seconds, 3),
        stage_seconds,
        plan.device,
        {plan.dna_model: dtypes[plan.dna_model], model: dtypes[model]},
        tuple(round(v, 2) for v in load_before),  # type: ignore[arg-type]
        tuple(round(v, 2) for v in load_after),  # type: ignore[arg-type]
        outside,
        gpu_before,
        gpu_after,
        _gpu_figures(run_dir),
    )


def run_dtypes(plan: TimingPlan) -> dict[str, str]:
    """Each model's run dtype, as its precision decision (check_precision) records it."""
    out = {}
    for name, path in plan.precision.items():
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        out[name] = str(record.get("dtype", "?"))
    return out


def time_predict(
    plan: TimingPlan, output: str | os.PathLike[str], workdir: str | os.PathLike[str]
) -> list[SpeedRun]:
    """Run the alternating speed runs and write them (JSON) to ``output``; ``workdir`` holds
    the runs' files and is removed afterwards."""
    work = Path(workdir)
    dtypes = run_dtypes(plan)
    warmed = warm_page_cache([plan.fasta, *plan.model_dirs.values(), *plan.checkpoints.values()])
    log.info("page cache warmed: %.1f MB read before the first run", warmed / 1e6)
    order = [plan.baseline, plan.candidate]
    runs: list[SpeedRun] = []
    total = plan.repeats * len(order)
    for repeat in range(plan.repeats):
        for model in order:
            run = one_run(plan, model, repeat, len(runs), work / f"run{len(runs):02d}", dtypes)
            runs.append(run)
            log.info(
                "speed run %d/%d: %s %.2f s (%s); outside load %s cores; load average %s -> %s",
                len(runs),
                total,
                model,
                run.seconds,
                ", ".join(f"{k} {v:.2f}" for k, v in run.stage_seconds.items()),
                "n/a" if run.outside_load is None else f"{run.outside_load:.2f}",
                run.loadavg_before[0],
                run.loadavg_after[0],
            )
    shutil.rmtree(work, ignore_errors=True)
    document = {
        "baseline": plan.baseline,
        "candidate": plan.candidate,
        "dna_model": plan.dna_model,
        "input": plan.fasta,
        "repeats": plan.repeats,
        "cpu_count": os.cpu_count(),
        "runs": [asdict(r) for r in runs],
    }
    write_text_atomic(output, json.dumps(document, indent=1) + "\n")
    return runs
