"""Preprocessing throughput (Mbp/s) on a generated coding-like input of >= 5 Mbp.

    python benchmarks/bench_preprocess.py [--mbp 5] [--chunk-length 300]

Prints a figure; it asserts nothing (speed targets live here, not in timed tests).
The original VirNucPro does about 5 Mbp/s on one core of the development machine.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from virnucpro_smk.preprocess.sample import preprocess_fasta
from virnucpro_smk.preprocess.synthetic import (
    BENCHMARK_ORF_CODONS,
    synthetic_contig,
    write_fasta_records,
)


def benchmark_fasta(path: Path, total_bp: int, contig_bp: int = 20000, seed: int = 1) -> int:
    """A large coding-like input (real data's kept-frame rate: BENCHMARK_ORF_CODONS)."""
    rng = random.Random(seed)
    n = max(1, total_bp // contig_bp)
    return write_fasta_records(
        path,
        (
            (f"bench_{i}", "bench", synthetic_contig(rng, contig_bp, 1.0, BENCHMARK_ORF_CODONS))
            for i in range(n)
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mbp", type=float, default=5.0)
    parser.add_argument("--chunk-length", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        fasta = tmpdir / "bench.fa"
        benchmark_fasta(fasta, int(args.mbp * 1e6))
        best = float("inf")
        for _ in range(args.repeats):
            start = time.perf_counter()
            stats = preprocess_fasta(
                fasta,
                args.chunk_length,
                tmpdir / "c.fa",
                tmpdir / "n.fa",
                tmpdir / "p.faa",
                tmpdir / "s.tsv",
            )
            best = min(best, time.perf_counter() - start)
        print(
            f"preprocess: {stats.bases / 1e6:.1f} Mbp, {stats.chunks} chunks of "
            f"{args.chunk_length} bp, {stats.frames} kept frames; best of {args.repeats}: "
            f"{best:.2f} s = {stats.bases / best / 1e6:.1f} Mbp/s"
        )


if __name__ == "__main__":
    main()
