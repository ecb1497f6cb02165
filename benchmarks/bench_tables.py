"""Table throughput: writing and reading 1M rows of the largest tables through formats/.

python benchmarks/bench_tables.py [--rows 1000000]

Per-chunk scores, frame predictions and the training manifest reach 10M rows a sample or a
training set. Each is declared once (``virnucpro_smk.formats``) and read and written only
through its ``Table``, whose row-to-line and cells-to-row functions are compiled once; this
prints the microseconds per row of each, for comparing a change of ``formats/table.py``
against its parent commit on the same machine.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from virnucpro_smk.formats.manifest import MANIFEST, ManifestRow
from virnucpro_smk.formats.predictions import PER_CHUNK, PREDICTIONS, ChunkScore


def timed(label: str, rows: int, work) -> None:
    start = time.perf_counter()
    work()
    seconds = time.perf_counter() - start
    print(f"{label:<44} {seconds:6.2f} s  {seconds / rows * 1e6:5.2f} us/row")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    n = parser.parse_args().rows
    rng = np.random.default_rng(0)
    scores = rng.random((n, 2)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        chunks = [
            ChunkScore(f"seq{i // 1000}", i % 1000 + 1, 300 * (i % 1000) + 1, 300 * (i % 1000 + 1),
                       2, float(scores[i, 1]), float(scores[i, 0]), "viral")
            for i in range(n)
        ]  # fmt: skip
        timed("per_chunk.tsv: write (rows)", n, lambda: PER_CHUNK.write(folder / "c.tsv", chunks))
        timed("per_chunk.tsv: read", n, lambda: sum(1 for _ in PER_CHUNK.read(folder / "c.tsv")))
        ids = [f"seq{i // 1000}_chunk_{i % 1000 + 1}F1" for i in range(n)]
        calls = np.where(scores[:, 1] > scores[:, 0], "virus", "others").tolist()

        def predictions() -> None:
            with PREDICTIONS.writer(folder / "p.tsv") as write:
                write.columns(ids, calls, scores[:, 0], scores[:, 1])

        timed("predictions.tsv: write (columns, float32)", n, predictions)
        timed(
            "predictions.tsv: read", n, lambda: sum(1 for _ in PREDICTIONS.read(folder / "p.tsv"))
        )
        manifest = [
            ManifestRow(f"r{i // 10}_chunk_1F{i % 3 + 1}", "ds", "g", f"r{i // 10}", f"r{i // 10}",
                        i % 2, "train", i // 1000)
            for i in range(n)
        ]  # fmt: skip
        timed("training manifest: write", n, lambda: MANIFEST.write(folder / "m.tsv", manifest))
        timed("training manifest: read", n, lambda: sum(1 for _ in MANIFEST.read(folder / "m.tsv")))


if __name__ == "__main__":
    main()
