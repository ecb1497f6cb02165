"""Memory of `virnucpro-smk train` on a large training set: the process tree's anonymous memory.

    python benchmarks/bench_train_memory.py                       # 400,000 frames x 2,048-d
    python benchmarks/bench_train_memory.py --frames 100000 --max-epochs 2

It writes a viral and a non-viral dataset of ``--frames`` frames in total (ten frames a
record), DNA rows of ``--dna-width`` and protein rows of ``--protein-width`` floats (768 +
1,280 = 2,048: DNABERT-S + FastESM2_650; 400,000 frames are 3.3 GB of features), each
dataset as a DNA file and a protein file written with the project's own writer
(``io.embedding_files.EmbeddingWriter``, block by block), and a shard table naming them. It
then runs ``virnucpro-smk train`` on that table and samples, every 0.1 s, the anonymous
resident memory (``RssAnon``) summed over the command's process tree. It prints the peak
before training (reading the files' ids, drawing and writing the manifest) and while
training (from the log's "training ... on N frames" line to the end), and the wall times.
Training used to hold every feature (the issue measured 9.6 GB here); it now streams them
(classify/batches.py), so the peak follows the recipe's block and buffer sizes.

It asserts nothing: figures, not a timed test. The files go to a temporary directory
(``--workdir`` to keep them), deleted at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

from virnucpro_smk.io.embedding_files import EmbeddingWriter  # noqa: E402

BLOCK = 16384
FRAMES_PER_RECORD = 10


def write_dataset(root: Path, name: str, frames: int, widths: dict[str, int], label: int) -> str:
    """One dataset's DNA and protein files (label-shifted rows, so training has signal)."""
    ids = [
        f"{name}{i // FRAMES_PER_RECORD}_chunk_{i % FRAMES_PER_RECORD + 1}F1" for i in range(frames)
    ]
    paths = []
    gen = torch.Generator().manual_seed(label)
    for kind, width in widths.items():
        model = f"bench_{kind}_{width}d"
        path = root / name / kind / model / "shard_0000.safetensors"
        meta = {"model": model, "kind": kind, "width": width, "chunk_length": 300}
        writer = EmbeddingWriter(path, ids, meta)
        for start in range(0, frames, BLOCK):
            end = min(start + BLOCK, frames)
            rows = torch.randn(end - start, width, generator=gen)
            rows[:, :8] += 0.5 * (2 * label - 1)
            writer.write_rows(range(start, end), rows)
        writer.finish(meta)
        paths.append(str(path))
    return "\t".join([*paths, "viral" if label else "nonviral", name])


def children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(c) for c in handle.read().split()]
    except OSError:
        pass
    return found


def tree_anon_mb(pid: int) -> float:
    """RssAnon of ``pid`` and every descendant, in MB."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/status") as handle:
                for line in handle:
                    if line.startswith("RssAnon:"):
                        total += int(line.split()[1])
        except OSError:
            continue
        todo += children(current)
    return total / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=400_000)
    parser.add_argument("--dna-width", type=int, default=768)
    parser.add_argument("--protein-width", type=int, default=1280)
    parser.add_argument("--max-epochs", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="vnp_train_mem_"))
    work.mkdir(parents=True, exist_ok=True)
    widths = {"dna": args.dna_width, "protein": args.protein_width}
    start = time.perf_counter()
    half = args.frames // 2
    table = ["dna\tprotein\tlabel\tgroup"]
    table += [
        write_dataset(work, "vir", half, widths, 1),
        write_dataset(work, "host", half, widths, 0),
    ]
    (work / "shards.tsv").write_text("\n".join(table) + "\n")
    width = args.dna_width + args.protein_width
    print(
        f"wrote {args.frames:,} frames x {width}-d ({args.frames * width * 4 / 1e9:.1f} GB of "
        f"features) in {time.perf_counter() - start:.0f} s to {work}",
        flush=True,
    )
    command = [
        str(Path(sys.executable).with_name("virnucpro-smk")),
        "train",
        "--shards", str(work / "shards.tsv"),
        "--dna-model", f"bench_dna_{args.dna_width}d",
        "--protein-model", f"bench_protein_{args.protein_width}d",
        "--out", str(work / "model"),
        "--max-epochs", str(args.max_epochs),
    ]  # fmt: skip
    print("running:", " ".join(command), flush=True)
    began = time.perf_counter()
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    training_since: list[float] = []
    log: list[str] = []

    def watch() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            log.append(line)
            if not training_since and "training " in line and " frames (" in line:
                training_since.append(time.perf_counter())

    reader = threading.Thread(target=watch, daemon=True)
    reader.start()
    before = during = 0.0
    while proc.poll() is None:
        anon = tree_anon_mb(proc.pid)
        if training_since:
            during = max(during, anon)
        else:
            before = max(before, anon)
        time.sleep(0.1)
    reader.join()
    wall = time.perf_counter() - began
    if proc.returncode != 0:
        print("".join(log[-30:]))
        raise SystemExit(f"virnucpro-smk train failed ({proc.returncode})")
    trained = time.perf_counter() - training_since[0] if training_since else float("nan")
    print("".join(line for line in log if "training " in line or "epoch " in line), end="")
    print(
        f"process-tree anonymous memory: peak {before:,.0f} MB before training (ids, manifest), "
        f"{during:,.0f} MB while training; wall {wall:.0f} s ({trained:.0f} s training)"
    )
    print(
        f"train_memory: frames={args.frames} width={width} epochs={args.max_epochs} "
        f"peak_anon_before_mb={before:.0f} peak_anon_training_mb={during:.0f} wall_s={wall:.0f}"
    )
    if not (args.keep or args.workdir):
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
