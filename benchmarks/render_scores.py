"""Render scores.png for real inputs with synthetic scores, and for 100,000 synthetic reads.

The figure must read well for a handful of contigs and for a read set: this script renders
both (plus the 795 ViraMiner pieces) and prints how long each rendering took. The chunks and
kept frames of the real inputs come from the real preprocessing; only the scores are drawn
at random (viral-labelled records score high, others low), since no trained classifier is
at hand here.

    python benchmarks/render_scores.py --out /tmp/scores_png
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

from virnucpro_smk.classify.calls import CallThresholds  # noqa: E402
from virnucpro_smk.classify.predict import SampleScores, read_sequence_table  # noqa: E402
from virnucpro_smk.io.fasta import read_simple_fasta  # noqa: E402
from virnucpro_smk.preprocess.chunking import record_of  # noqa: E402
from virnucpro_smk.preprocess.sample import preprocess_fasta  # noqa: E402
from virnucpro_smk.report.scores_plot import plot_scores  # noqa: E402
from virnucpro_smk.runtime.config_defaults import schema_defaults  # noqa: E402

PREDICT = schema_defaults("predict")  # a run's defaults: the config schema's
THRESHOLDS = CallThresholds.from_config(PREDICT)

SHARED = ROOT.parent / "shared" / "data"


def _labels() -> dict[str, str]:
    with open(SHARED / "labels.tsv", encoding="utf-8") as handle:
        return {r["record_id"]: r["label"] for r in csv.DictReader(handle, delimiter="\t")}


def real_input(fasta: Path, chunk_length: int, rng: np.random.Generator) -> SampleScores:
    """Real chunks and kept frames of ``fasta``; scores drawn by the record's label."""
    labels = _labels()
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        preprocess_fasta(fasta, chunk_length, t / "c.fa", t / "n.fa", t / "p.faa", t / "s.tsv")
        table = read_sequence_table(t / "s.tsv", chunk_length)
        ids = [rid for rid, _ in read_simple_fasta(t / "n.fa")]
    scores = SampleScores.empty(table, chunk_length)
    viral = np.array([labels.get(record_of(f)) == "viral" for f in ids])
    virus = np.where(viral, rng.beta(5, 2, len(ids)), rng.beta(1.5, 5, len(ids)))
    scores.add(ids, np.stack([1 - virus, virus], axis=1).astype(np.float32), str(fasta))
    return scores.finish(THRESHOLDS)


def synthetic_reads(n: int, rng: np.random.Generator, chunk_length: int = 300) -> SampleScores:
    """``n`` reads of 100-250 bp, 65 % with 1-3 kept frames, 5 % from a virus."""
    with tempfile.TemporaryDirectory() as tmp:
        lengths = rng.integers(100, 251, n)
        path = Path(tmp) / "s.tsv"
        path.write_text(
            "sequence_id\tlength_bp\tn_chunks\tn_kept_frames\n"
            + "".join(f"read{i}\t{length}\t1\t0\n" for i, length in enumerate(lengths))
        )
        table = read_sequence_table(path, chunk_length)
    kept = np.flatnonzero(rng.random(n) < 0.65)
    per_read = rng.integers(1, 4, len(kept))
    reads = np.repeat(kept, per_read)
    frames = [
        f"read{i}_chunk_1{s}"
        for i, s in zip(reads, np.tile(["F1", "R2", "F3"], len(reads))[: len(reads)], strict=True)
    ]
    viral = rng.random(n) < 0.05
    virus = np.where(viral[reads], rng.beta(5, 2, len(reads)), rng.beta(1.5, 6, len(reads)))
    scores = SampleScores.empty(table, chunk_length)
    scores.add(frames, np.stack([1 - virus, virus], axis=1).astype(np.float32), "synthetic")
    return scores.finish(THRESHOLDS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--reads", type=int, default=100_000)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    cases = {
        "vibrant_10_contigs": lambda: real_input(SHARED / "vibrant_mixed_example.fasta", 300, rng),
        "viraminer_795": lambda: real_input(
            SHARED / "derived" / "viraminer_exp11_2014_G7.fasta", 300, rng
        ),
        f"synthetic_{args.reads}_reads": lambda: synthetic_reads(args.reads, rng),
    }
    for name, build in cases.items():
        scores = build()
        start = time.perf_counter()
        plot_scores(scores, args.out / f"{name}.png", PREDICT["plot_tracks"], title=name)
        print(
            f"{name}: {len(scores.table.ids):,} sequences, {scores.table.total_chunks:,} chunks, "
            f"plot {time.perf_counter() - start:.2f} s -> {args.out / f'{name}.png'}"
        )


if __name__ == "__main__":
    main()
