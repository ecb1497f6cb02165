"""End-to-end throughput: N synthetic 300-bp chunks -> frames -> DNABERT-S + FastESM2_650
embeddings -> merged features -> MLP scores, with full-size random-weight models.

    python benchmarks/bench_end_to_end.py --chunks 1000000            # the H100 target run
    python benchmarks/bench_end_to_end.py --chunks 2000 --layers 2    # a CPU smoke run

Prints seconds per stage and chunks/s; the issue's target is 1M chunks in <= 6 minutes on
one H100. Runs in one process (no Snakemake overhead, no model loading from disk).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import torch

from bench_embeddings import build
from virnucpro_smk.classifier import MLPClassifier, predict_scores
from virnucpro_smk.embeddings import embed_sequences
from virnucpro_smk.envcheck import resolve_device
from virnucpro_smk.fasta import read_simple_fasta
from virnucpro_smk.preprocess import preprocess_fasta
from virnucpro_smk.synthetic import synthetic_contig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--layers", type=int, default=None, help="cut models to N layers")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--budget", type=int, default=None, help="tokens per batch")
    args = parser.parse_args()
    device = resolve_device(args.device)
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    budget = args.budget or (131072 if device == "cuda" else 8192)
    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        start = time.perf_counter()
        rng = random.Random(3)
        with open(tmpdir / "in.fa", "w") as out:
            per_contig = 100
            for i in range(0, args.chunks, per_contig):
                n = min(per_contig, args.chunks - i)
                out.write(f">c{i}\n{synthetic_contig(rng, 300 * n)}\n")
        times["generate input (not counted)"] = time.perf_counter() - start

        start = time.perf_counter()
        stats = preprocess_fasta(
            tmpdir / "in.fa",
            300,
            tmpdir / "c.fa",
            tmpdir / "n.fa",
            tmpdir / "p.faa",
            tmpdir / "s.tsv",
        )
        dna = [s for _, s in read_simple_fasta(tmpdir / "n.fa")]
        prot = [s for _, s in read_simple_fasta(tmpdir / "p.faa")]
        times["preprocess"] = time.perf_counter() - start

    dna_enc = build("dnaberts_768d", args.layers, device, dtype, budget)
    prot_enc = build("fastesm650_1280d", args.layers, device, dtype, budget)
    start = time.perf_counter()
    dna_vec, _ = embed_sequences(dna_enc, dna, loader_workers=2)
    times["DNABERT-S embeddings"] = time.perf_counter() - start
    start = time.perf_counter()
    prot_vec, _ = embed_sequences(prot_enc, prot, loader_workers=2)
    times["FastESM2_650 embeddings"] = time.perf_counter() - start

    start = time.perf_counter()
    features = torch.cat([dna_vec, prot_vec], dim=1)
    mlp = MLPClassifier(features.shape[1]).to(device).eval()
    scores = predict_scores(mlp, features.to(device)).cpu()
    times["merge + MLP"] = time.perf_counter() - start

    where = torch.cuda.get_device_name() if device == "cuda" else "CPU"
    print(
        f"{args.chunks} chunks of 300 bp -> {stats.frames} kept frames on {where} "
        f"({str(dtype).removeprefix('torch.')}, layers: {args.layers or 'full'})"
    )
    for stage, seconds in times.items():
        print(f"  {stage:<30} {seconds:8.1f} s")
    total = sum(v for k, v in times.items() if "not counted" not in k)
    print(
        f"  {'total':<30} {total:8.1f} s = {args.chunks / total:,.0f} chunks/s; "
        f"1M chunks would take {1e6 / (args.chunks / total) / 60:.1f} min"
    )
    if device == "cuda":
        print(f"  peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
    assert scores.shape[0] == stats.frames


if __name__ == "__main__":
    main()
