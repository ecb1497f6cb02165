"""torch.compile vs eager on the encoders: compile time, throughput, equality of the vectors.

    python benchmarks/bench_compile.py [--device auto] [--full-size] [--chunks N] [--layers N]

For each model architecture (DNABERT-S, ESM2 3B, FastESM2_650) it builds the encoder with
random weights (throughput does not depend on weight values): by default at the stand-in
sizes of config/standin.yaml, with ``--full-size`` at the published sizes (``--layers`` cuts
the depth). It embeds the kept frames of synthetic coding-like contigs (bench_workflow's ORF
lengths, real data's kept-frame rate) of 1-30 kb cut into 300-bp chunks as the workflow cuts
them (it prints the lengths; batches differ in rows, DNA batches in tokens too), with this
project's batched path, eager and then through
``virnucpro_smk.models.compile.compile_encoder`` (``extraction.compile: true``), and prints:
compile seconds (with an empty and with a warm inductor cache), graphs compiled after
``compile_encoder``'s warm-up (0 = no recompilation for the job's batch shapes), eager and
compiled tokens/s (best of ``--repeats`` passes after warm-up), the speed-up, the tokens a
job must embed before the compile time is paid back, and the max |difference| of the pooled
vectors. The equality criterion (<= 1e-5) is
the float32 one; on CUDA the run dtype bfloat16 is measured too. Each model and dtype runs
in a process of its own, as extraction jobs do (a kernel compiled for one is not reused by
the next). It prints figures and asserts nothing. On a GPU, the figure is:

    python benchmarks/bench_compile.py --device cuda --full-size
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import replace

import torch
from torch._inductor.runtime.cache_dir_utils import temporary_cache_dir

from bench_embeddings import FULL_SIZE, build, device_or_exit
from virnucpro_smk.models.compile import compile_encoder, compiled_graphs
from virnucpro_smk.models.embeddings import DTYPES, embed_sequences
from virnucpro_smk.models.encoder import Encoder
from virnucpro_smk.preprocess.frames import translate_record
from virnucpro_smk.preprocess.synthetic import BENCHMARK_ORF_CODONS, synthetic_contig

#: The stand-in sizes of config/standin.yaml, by the architecture each stands in for.
STANDIN_SIZE = {
    "dnaberts_768d": dict(hidden=48, layers=2, heads=4, intermediate=192),
    "esm2_3b_2560d": dict(hidden=64, layers=4, heads=4, intermediate=256),
    "fastesm650_1280d": dict(hidden=32, layers=2, heads=4, intermediate=128),
}


def coding_frames(n_chunks: int, seed: int = 5) -> tuple[list[str], list[str], int]:
    """Kept frames (DNA, protein) of coding-like contigs 1-30 kb long, chunked and translated
    as the workflow does, until at least ``n_chunks`` 300-bp chunks; and the chunks made."""
    rng = random.Random(seed)
    dna, prot = [], []
    done = 0
    while done < n_chunks:
        length = rng.randint(1000, 30000)
        seq = synthetic_contig(rng, min(length, 300 * (n_chunks - done)), 1.0, BENCHMARK_ORF_CODONS)
        for _cid, _chunk, frames in translate_record(f"bench{done}", seq, 300):
            dna.extend(f.nucleotide for f in frames)
            prot.extend(f.protein for f in frames)
        done += -(-len(seq) // 300)
    return dna, prot, done


def timed(encoder: Encoder, seqs: list[str], repeats: int) -> tuple[torch.Tensor, float, int]:
    """Vectors, best tokens/s of ``repeats`` passes, and the batches a pass makes."""
    best, vectors, batches = 0.0, None, 0
    for _ in range(repeats):
        if encoder.device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        vectors, stats = embed_sequences(encoder, seqs)
        best = max(best, stats.tokens / (time.perf_counter() - start))
        batches = stats.batches
    return vectors, best, batches


def compare(name: str, dims: dict, args: argparse.Namespace, device: str, dtype, seqs) -> None:
    torch.manual_seed(0)
    budget = args.budget or (65536 if device == "cuda" else 2048)
    eager = build(name, args.layers, device, dtype, budget, dims)
    embed_sequences(eager, seqs[:8])  # warm-up (allocator, kernels)
    reference, eager_tps, batches = timed(eager, seqs, args.repeats)
    # cold: an empty inductor cache, what a node's first job pays; warm: its later jobs
    with tempfile.TemporaryDirectory() as cache, temporary_cache_dir(cache):
        compiled, compile_s, _ = compile_encoder(replace(eager), True)  # layers: in place
        graphs = compiled_graphs()
        embed_sequences(compiled, seqs)  # first pass: a shape the warm-up missed compiles
        vectors, compiled_tps, _ = timed(compiled, seqs, args.repeats)
        recompiles = compiled_graphs() - graphs
        torch._dynamo.reset()
        _, warm_s, _ = compile_encoder(replace(eager), True)
    diff = (vectors - reference).abs().max().item()
    gain = 1 / eager_tps - 1 / compiled_tps  # seconds saved per token
    payback = f"{compile_s / gain:,.0f} tokens" if gain > 0 else "never"
    label = str(dtype).removeprefix("torch.")
    layers = args.layers or dims["layers"]
    print(
        f"{name} ({dims['hidden']}d x {layers} layers, {label}, {batches} batches of <= "
        f"{budget} tokens)\n"
        f"  compile_s {compile_s:.1f} (empty cache; {warm_s:.1f} with the on-disk cache)  "
        f"graphs compiled after it {recompiles}\n"
        f"  eager {eager_tps:,.0f} tokens/s  compiled {compiled_tps:,.0f} tokens/s  "
        f"speed-up {compiled_tps / eager_tps:.2f}x  pays back after {payback}\n"
        f"  max |compiled - eager| of pooled vectors: {diff:.2e}"
        + ("  (fp32 criterion <= 1e-5: " + ("met)" if diff <= 1e-5 else "NOT met)"))
        * (dtype == torch.float32)
    )
    del eager, compiled
    if device == "cuda":
        torch.cuda.empty_cache()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--full-size", action="store_true", help="published model sizes")
    parser.add_argument("--chunks", type=int, default=None, help="300-bp chunks (200; 2000 full)")
    parser.add_argument("--layers", type=int, default=None, help="cut models to N layers")
    parser.add_argument("--models", nargs="+", default=list(FULL_SIZE))
    parser.add_argument("--budget", type=int, default=None, help="tokens per batch")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes (best kept)")
    parser.add_argument(
        "--dtypes", nargs="+", choices=list(DTYPES), default=None, help="float32 (+bf16 on CUDA)"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    device = device_or_exit(args.device)
    dtypes = args.dtypes or (["float32", "bfloat16"] if device == "cuda" else ["float32"])
    chunks = args.chunks or (2000 if args.full_size else 200)
    dna, prot, chunks = coding_frames(chunks)
    where = (
        torch.cuda.get_device_name()
        if device == "cuda"
        else f"CPU ({torch.get_num_threads()} threads)"
    )
    sizes = "published sizes" if args.full_size else "stand-in sizes"
    if not args.child:
        print(
            f"device: {where}; torch {torch.__version__}; {sizes}; "
            f"layers: {args.layers or 'all'}\n"
            f"frames: {len(dna)} kept frames of {chunks} coding-like 300-bp chunks "
            f"({len(dna) / chunks:.1f} per chunk); DNA {min(map(len, dna))}-"
            f"{max(map(len, dna))} nt, protein {min(map(len, prot))}-{max(map(len, prot))} aa",
            flush=True,
        )
    combos = [(name, dtype) for name in args.models for dtype in dtypes]
    if len(combos) > 1:  # one process each, as jobs are: no kernel compiled for another
        for name, dtype in combos:
            one = ["--child", "--models", name, "--dtypes", dtype]
            subprocess.run(
                [sys.executable, __file__, *sys.argv[1:], *one],
                check=True,
            )
        return
    name, dtype = combos[0]
    dims = FULL_SIZE[name] if args.full_size else STANDIN_SIZE[name]
    seqs = dna if name.startswith("dnabert") else prot
    compare(name, dims, args, device, DTYPES[dtype], seqs)


if __name__ == "__main__":
    main()
