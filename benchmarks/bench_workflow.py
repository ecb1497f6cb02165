"""The workflow as users run it, timed: `snakemake --cores N --resources gpu=N predict`.

    python benchmarks/bench_workflow.py --chunks 4000 --layers 2            # a CPU run
    python benchmarks/bench_workflow.py --chunks 4000 --layers 2 --protein esm2_3b_2560d
    python benchmarks/bench_workflow.py --chunks 1000000                     # the H100 target

It writes N synthetic coding-like 300-bp chunks (their kept-frame rate is printed: real
inputs keep 0.87 frames per chunk), full-width random-weight DNABERT-S and the protein model
(FastESM2_650 by default, ESM2 3B with ``--protein esm2_3b_2560d``) as local model
directories (`provider: local`, built once and reused from ``--models-dir``; ``--layers K``
cuts their depth so a CPU finishes), and a random classifier checkpoint. Throughput does not
depend on weight values. Their registry names start with ``bench_random_`` so nothing they
produce can pass as a real model's output.

It then runs the real workflow through Snakemake in a fresh output directory and reads what
the jobs recorded: every extraction job's wall time (Snakemake's benchmark file: start-up,
imports, loading and writing included) and its in-job embedding seconds (the job's stats
JSON). It prints, per model, the number of extraction jobs, the summed embedding
seconds, the fixed overhead per job (wall minus embedding), the busy fraction (embedding
seconds / extraction wall time), a projection to 1M chunks, and on a GPU the protein model's
achieved TFLOP/s against the card's bf16 peak. The last line is machine-readable:

    workflow: chunks=4000 wall_s=... extraction_jobs_per_model=... embed_s=...
              overhead_s_per_job=... busy=... gpus=... sm_util_mean=... jobs_1m=...
              rounds_1m=... projection_1m_steady_min=...   (one line)

Per job it prints wall (Snakemake's benchmark), start-up, seconds from the process's start
to the first batch on the device and from the last batch to the end, load, waiting for
input, model compute, GPU busy (``gpu_util_mean_pct``: NVML's mean over the steady state,
first batch to last), peak GPU memory and the compile decision, all from the job's stats
JSON (``benchmarks/extract_embeddings/*.json``; "n/a" on CPUs); the achieved TFLOP/s are
set against the jobs' ``device_peak_tflops`` (the exact device-name table). ``--gpus N`` runs
with ``--resources gpu=N``, so the jobs fill N GPUs (see runtime/job_plan). The
steady-state projection plans 1M chunks' jobs as the workflow would (``pair_jobs``), gives
each its compute at this run's rate per frame plus the per-job overhead, and schedules them
on the GPUs longest first: a round some GPUs finish early costs its longest job.

It asserts nothing: figures, not a timed test.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

# The published dimensions, kept once in the model-only benchmark.
from bench_embeddings import FULL_SIZE  # noqa: E402
from virnucpro_smk.classify.mlp import CheckpointIdentity, MLPClassifier, save_checkpoint  # noqa: E402
from virnucpro_smk.models.registry import ModelSpec, parse_registry  # noqa: E402
from virnucpro_smk.models.standin import build_dnabert_standin, build_esm_standin  # noqa: E402
from virnucpro_smk.preprocess.synthetic import BENCHMARK_ORF_CODONS, synthetic_contig  # noqa: E402
from virnucpro_smk.runtime.config_defaults import (  # noqa: E402
    schema_defaults,
    with_model_defaults,
)

WIDTH = {name: dims["hidden"] for name, dims in FULL_SIZE.items()}
PROTEIN_MODELS = sorted(n for n in FULL_SIZE if not n.startswith("dnabert"))
DNA_VOCAB = 4096  # DNABERT-2's BPE vocabulary size: sets tokens per chunk
CHUNKS_PER_CONTIG = 100
#: the job plan's bounds per job, read from the schema (the one home of their defaults)
PLAN_BOUNDS = ("chunks_per_gpu_job", "min_chunks_per_gpu_job")


def bench_name(real: str) -> str:
    return f"bench_random_{real}"


def build_model(real: str, layers: int | None, models_dir: Path) -> tuple[Path, int]:
    """A full-width random model directory (reused when present); returns it and its params."""
    dims = {k: v for k, v in FULL_SIZE[real].items() if k != "hidden"}
    if layers:
        dims["layers"] = layers
    if real.startswith("dnabert"):
        dims["vocab"] = DNA_VOCAB
    directory = models_dir / f"{bench_name(real)}_L{dims['layers']}"
    info = directory / "bench_model.json"
    if not info.is_file():
        kind = "dna" if real.startswith("dnabert") else "protein"
        spec = ModelSpec(
            name=bench_name(real),
            kind=kind,
            architecture="dnabert2" if kind == "dna" else "esm2",
            provider="standin",
            source=str(directory),
            width=WIDTH[real],
            standin={**dims, "seed": 7},
            **with_model_defaults({}),  # the schema's defaults
        )
        directory.mkdir(parents=True, exist_ok=True)
        print(f"building random-weight {real} ({dims['layers']} layers) in {directory}", flush=True)
        (build_dnabert_standin if kind == "dna" else build_esm_standin)(spec, directory)
        from safetensors import safe_open

        params = 0
        for file in directory.glob("*.safetensors"):
            with safe_open(str(file), framework="pt") as handle:
                for key in handle.keys():  # noqa: SIM118 - safe_open is not a mapping
                    params += math.prod(handle.get_slice(key).get_shape())
        info.write_text(json.dumps({"params": params, **dims}) + "\n")
    return directory, int(json.loads(info.read_text())["params"])


def write_input(path: Path, n_chunks: int) -> None:
    """Coding-like contigs of 100 chunks of 300 bp each (the last one shorter if needed)."""
    import random

    rng = random.Random(3)
    with open(path, "w") as out:
        for i in range(0, n_chunks, CHUNKS_PER_CONTIG):
            n = min(CHUNKS_PER_CONTIG, n_chunks - i)
            seq = synthetic_contig(rng, 300 * n, 1.0, BENCHMARK_ORF_CODONS)
            out.write(f">bench_{i // CHUNKS_PER_CONTIG}\n{seq}\n")


def write_classifier(directory: Path, protein: str) -> tuple[str, Path]:
    identity = CheckpointIdentity(
        dna_model=bench_name("dnaberts_768d"),
        dna_width=768,
        protein_model=bench_name(protein),
        protein_width=WIDTH[protein],
        chunk_length=300,
    )
    torch.manual_seed(0)
    hidden = schema_defaults("train")["recipe"]["hidden"]
    model = MLPClassifier(identity.input_width, hidden).eval()
    weights = directory / "model.safetensors"
    save_checkpoint(model, weights, identity, note="random weights: benchmark only")
    return f"300bp_{identity.dna_model}+{identity.protein_model}_{identity.input_width}d", weights


def read_benchmark_seconds(path: Path) -> float:
    with open(path) as handle:
        row = next(csv.DictReader(handle, delimiter="\t"))
    return float(row["s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=4000)
    parser.add_argument("--layers", type=int, default=None, help="cut models to K layers (CPU)")
    parser.add_argument("--protein", default="fastesm650_1280d", choices=PROTEIN_MODELS)
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--chunks-per-gpu-job", type=int, default=None)
    parser.add_argument(
        "--gpus", type=int, default=1, help="--resources gpu=N: GPUs the run fills with jobs"
    )
    parser.add_argument(
        "--models-dir", type=Path, default=Path(tempfile.gettempdir()) / "vnp_bench_models"
    )
    parser.add_argument("--workdir", type=Path, default=None, help="default: a new temp dir")
    args = parser.parse_args()

    device = "cuda" if torch.cuda.is_available() else "cpu"
    work = args.workdir or Path(tempfile.mkdtemp(prefix="vnp_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    dna_dir, _ = build_model("dnaberts_768d", args.layers, args.models_dir)
    prot_dir, prot_params = build_model(args.protein, args.layers, args.models_dir)
    write_input(work / "input.fa", args.chunks)
    (work / "samples.tsv").write_text(f"sample\tfasta\nbench\t{work / 'input.fa'}\n")
    tag, weights = write_classifier(work / "classifier", args.protein)
    base = {"provider": "local", "revision": "random-weights"}
    models = {
        bench_name("dnaberts_768d"): {
            **base,
            "kind": "dna",
            "architecture": "dnabert2",
            "source": str(dna_dir),
            "width": 768,
            "tokens_per_batch": 131072,
        },
        bench_name(args.protein): {
            **base,
            "kind": "protein",
            "architecture": "esm2",
            "source": str(prot_dir),
            "width": WIDTH[args.protein],
            "tokens_per_batch": 65536 if args.protein == "fastesm650_1280d" else 32768,
            "token_dropout": True,
        },
    }
    # each bench model is sized as the real model it stands in for (the registry's cost)
    real = yaml.safe_load((ROOT / "config/config.yaml").read_text())["models"]
    for name in ("dnaberts_768d", args.protein):
        models[bench_name(name)]["gflop_per_token"] = real[name]["gflop_per_token"]
    config = {
        "samples": str(work / "samples.tsv"),
        "outdir": str(work / "results"),
        "models_dir": str(work / "models"),
        "device": device,
        "dna_model": bench_name("dnaberts_768d"),
        "protein_models": [bench_name(args.protein)],
        "models": models,
        "predict": {"checkpoints": {tag: str(weights)}},
        "train": {"datasets": ""},
    }
    if args.chunks_per_gpu_job:
        config["chunks_per_gpu_job"] = args.chunks_per_gpu_job
    (work / "bench.yaml").write_text(json.dumps(config, indent=1) + "\n")  # JSON is YAML

    command = [
        str(Path(sys.executable).with_name("snakemake")),
        "predict",
        "--cores",
        str(args.cores),
        "--resources",
        f"gpu={args.gpus}",
        "--configfile",
        str(work / "bench.yaml"),
    ]
    if device == "cpu":  # one extraction job at a time, as on one GPU (device: cpu asks none)
        command += ["--set-resources", "extract_embeddings:gpu=1"]
    print("running:", " ".join(command), flush=True)
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-5000:], sep="\n")
        raise SystemExit(f"snakemake failed ({proc.returncode}); work dir {work}")
    report(work, args, wall, device, prot_params)


def report(
    work: Path, args: argparse.Namespace, wall: float, device: str, prot_params: int
) -> None:
    results = work / "results"
    with open(results / "samples/bench/chunk300/sequences.tsv") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    chunks = sum(int(r["n_chunks"]) for r in rows)
    frames = sum(int(r["n_kept_frames"]) for r in rows)
    where = torch.cuda.get_device_name() if device == "cuda" else f"CPU ({os.cpu_count()} cores)"
    print(
        f"\n{chunks} chunks of 300 bp -> {frames} kept frames ({frames / chunks:.2f} per chunk; "
        f"real data: 0.87) on {where}, layers: {args.layers or 'full'}"
    )
    print(f"wall time of `snakemake predict`: {wall:.1f} s ({chunks / wall:,.0f} chunks/s)")
    bench_dir = results / "benchmarks/extract_embeddings/samples"
    per_model: dict[str, dict] = {}
    jobs_seen: list[str] = []
    for emb in sorted((results / "samples/bench/chunk300/embeddings").rglob("*.safetensors")):
        kind, model, shard = emb.parent.parent.name, emb.parent.name, emb.stem.split("_")[1]
        job_wall = read_benchmark_seconds(bench_dir / f"bench_chunk300_{kind}_{model}_{shard}.tsv")
        # the job's figures: its stats JSON (the embedding file holds identity only)
        job = json.loads(
            (bench_dir / f"bench_chunk300_{kind}_{model}_{shard}.json").read_text(encoding="utf-8")
        )
        embed = float(job.get("embed_seconds", job.get("seconds", 0.0)))
        entry = per_model.setdefault(
            model, {"jobs": 0, "wall": 0.0, "embed": 0.0, "load": 0.0, "tokens": 0.0}
        )
        entry["jobs"] += 1
        entry["wall"] += job_wall
        entry["embed"] += embed
        entry["load"] += float(job.get("load_seconds", 0.0))
        entry["tokens"] += float(job.get("tokens", 0.0))
        entry.setdefault("steady", []).append(
            (float(job.get("records", 0)), float(job.get("compute_seconds") or 0.0))
        )
        # GPU busy: NVML's mean over the steady state (first batch to last), not the job
        entry.setdefault("sm", []).append(job.get("gpu_util_mean_pct", "n/a"))
        timers = [
            float(job.get(k) or 0)
            for k in (
                "start_seconds",
                "seconds_to_first_batch",
                "load_seconds",
                "plan_seconds",
                "wait_seconds",
                "compute_seconds",
                "seconds_after_last_batch",
            )
        ]
        peak_mib = job.get("peak_gpu_mib")
        jobs_seen.append(
            f"{model:<34}{shard:>6}{job_wall:>8.1f}"
            + "".join(f"{t:>7.1f}" for t in timers[:5])
            + f"{timers[5]:>9.1f}{timers[6]:>7.1f}"
            + f"{job.get('gpu_util_mean_pct', 'n/a')!s:>8}"
            + f"{round(peak_mib) if peak_mib is not None else 'n/a'!s:>10}"
            + f"  {job.get('compile', 'n/a')}"
        )
        entry["peak_tflops"] = job.get("device_peak_tflops", "unknown")
    print(
        "per job: wall (Snakemake), start-up, process start to first batch, load, plan, "
        "waiting for input, compute, last batch to end, GPU busy (NVML mean, steady state), "
        "peak GPU memory (torch), compile decision"
    )
    print(
        f"{'job (model, shard)':<34}{'shard':>6}{'wall':>8}{'start':>7}{'first':>7}{'load':>7}"
        f"{'plan':>7}{'wait':>7}{'compute':>9}{'after':>7}{'busy %':>8}{'peak MiB':>10}"
    )
    print("\n".join(jobs_seen))
    print(
        f"{'model':<34}{'jobs':>5}{'job wall s':>11}{'embed s':>9}{'load s':>8}"
        f"{'overhead s/job':>16}{'busy':>6}"
    )
    for model, e in per_model.items():
        overhead = (e["wall"] - e["embed"]) / e["jobs"]
        print(
            f"{model:<34}{e['jobs']:>5}{e['wall']:>11.1f}{e['embed']:>9.1f}{e['load']:>8.1f}"
            f"{overhead:>16.1f}{e['embed'] / e['wall']:>6.2f}"
        )
    jobs = max(e["jobs"] for e in per_model.values())
    embed_s = sum(e["embed"] for e in per_model.values())
    extraction_wall = sum(e["wall"] for e in per_model.values())
    overhead_per_job = (extraction_wall - embed_s) / sum(e["jobs"] for e in per_model.values())
    busy = embed_s / extraction_wall
    from virnucpro_smk.runtime.job_plan import ModelCost, makespan, pair_jobs, relative_costs

    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    bounds = {k: schema["properties"][k]["default"] for k in PLAN_BOUNDS}
    per_job = args.chunks_per_gpu_job or bounds["chunks_per_gpu_job"]
    registry = parse_registry(json.loads((work / "bench.yaml").read_text())["models"])
    dna_name = bench_name("dnaberts_768d")
    model_costs = {n: ModelCost.of(s) for n, s in registry.items()}
    costs = relative_costs(model_costs[dna_name], model_costs.values())
    # 1M chunks' jobs per model as the workflow plans them (job_plan.pair_jobs)
    plan_1m: dict[str, int] = {}
    for model in per_model:
        if model != dna_name:
            plan_1m[dna_name], plan_1m[model] = pair_jobs(
                1_000_000, per_job, args.gpus, costs[model], bounds["min_chunks_per_gpu_job"]
            )
    jobs_1m = sum(plan_1m.values())
    scale = 1e6 / chunks
    # Only preprocessing and prediction grow with the input; the environment check, the
    # precision decisions, the summary and Snakemake's own start-up are paid once per run.
    growing = sum(
        read_benchmark_seconds(f)
        for rule in ("preprocess_sample", "predict_sample")
        for f in (results / "benchmarks" / rule).glob("*.tsv")
    )
    fixed = wall - extraction_wall - growing
    projection = fixed + growing * scale + embed_s * scale + jobs_1m * overhead_per_job
    # steady state: compute seconds per frame of each model (after the warm-up of loading and
    # the first batches, which the per-job overhead counts once per job)
    per_frame = {
        model: sum(c for _, c in e["steady"]) / sum(r for r, _ in e["steady"])
        for model, e in per_model.items()
        if sum(r for r, _ in e["steady"])
    }
    frames_per_chunk = sum(int(r["n_kept_frames"]) for r in rows) / chunks
    # each planned job's seconds, scheduled on the GPUs longest first: a round that some
    # GPUs finish early counts as the longest job in it, not as its share
    job_seconds = [
        per_frame[model] * frames_per_chunk * 1e6 / n + overhead_per_job
        for model, n in plan_1m.items()
        if model in per_frame
        for _ in range(n)
    ]
    rounds = math.ceil(jobs_1m / max(args.gpus, 1))
    steady_projection = (
        fixed + growing * scale + makespan(job_seconds, args.gpus)
        if len(per_frame) == len(plan_1m)
        else float("nan")
    )
    sm = [v for e in per_model.values() for v in e["sm"] if v != "n/a"]
    sm_mean = f"{sum(sm) / len(sm):.1f}" if sm else "n/a"
    print(
        f"1M-chunk projection: {projection / 60:.1f} min ({jobs_1m} extraction jobs; embedding, "
        f"preprocessing and prediction ({growing:.1f} s here) scaled linearly; {fixed:.1f} s "
        "of once-per-run work kept)"
    )
    print(
        f"1M chunks on {args.gpus} GPU(s): "
        + ", ".join(f"{n} {m} jobs" for m, n in plan_1m.items())
        + f" in {rounds} round(s); steady-state projection {steady_projection / 60:.1f} min "
        "(each job's compute at this run's rate plus the per-job overhead, longest first)"
    )
    prot = per_model.get(bench_name(args.protein))
    if device == "cuda" and prot and prot["tokens"] and prot["embed"]:
        tflops = 2 * prot_params * prot["tokens"] / prot["embed"] / 1e12
        peak = prot.get("peak_tflops")  # the jobs' stats: the exact device-name table
        share = (
            f" = {tflops / peak:.0%} of the {peak:.0f} TFLOP/s bf16 peak"
            if isinstance(peak, float)
            else f" (peak of {where}: {peak})"
        )
        print(
            f"{args.protein}: {prot['tokens'] / prot['embed']:,.0f} tokens/s, "
            f"{tflops:.0f} TFLOP/s{share}"
        )
    print(
        f"workflow: chunks={chunks} wall_s={wall:.1f} extraction_jobs_per_model={jobs} "
        f"embed_s={embed_s:.1f} overhead_s_per_job={overhead_per_job:.1f} busy={busy:.2f} "
        f"gpus={args.gpus} sm_util_mean={sm_mean} jobs_1m={jobs_1m} rounds_1m={rounds} "
        f"projection_1m_steady_min={steady_projection / 60:.1f}"
    )


if __name__ == "__main__":
    main()
