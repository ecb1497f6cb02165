"""Peak memory of the workflow's training does not grow with the number of frames.

train_from_manifest (what rule train_classifier runs) trains one epoch on N and on 10N frames
of 1,024 floats, each in a fresh child process that reports its peak RSS (VmHWM). The 10N
features are 123 MB: holding them, as training did before it streamed, raises the peak by
that much; streaming holds a 1,024-frame buffer (4 MB) whatever N is. The full-size figure
(400,000 frames x 2,048 floats through `virnucpro-smk train`) is
benchmarks/bench_train_memory.py's.
"""

from __future__ import annotations

import json
import textwrap
from itertools import pairwise
from pathlib import Path

import torch

from conftest import child_peak_rss_kb, default_split
from virnucpro_smk.io.embedding_files import EmbeddingWriter
from virnucpro_smk.preprocess.genome_splits import DatasetFrames, draw_manifest, write_manifest

DNA, PROT = "d_512d", "p_512d"
RECIPE = {"max_epochs": 1, "batch_size": 1024, "block_frames": 64, "buffer_frames": 1024}

CHILD = textwrap.dedent(
    """
    import json, sys
    import torch
    torch.set_num_threads(1)  # the test machine is shared: spinning threads only slow it
    sys.path.insert(0, sys.argv[1])
    from virnucpro_smk.classify.recipe import TrainConfig
    from virnucpro_smk.classify.train import TrainingOutputs, train_from_manifest
    from virnucpro_smk.runtime.config_defaults import schema_defaults
    a = json.loads(sys.argv[2])
    train = schema_defaults("train")
    recipe = TrainConfig.from_config({**train["recipe"], **a["recipe"]}, train["seed"])
    train_from_manifest(
        a["manifest"], a["dna"], a["protein"], a["dna_model"], a["protein_model"],
        TrainingOutputs.in_directory(a["out"]), recipe,
    )
    status = open("/proc/self/status").read()
    print(json.dumps({"vmhwm_kb": int(status.split("VmHWM:")[1].split()[0])}))
    """
)


def _write(path: Path, ids: list[str], kind: str, model: str, seed: int) -> None:
    """One embedding file, written block by block (the test process stays small too)."""
    gen = torch.Generator().manual_seed(seed)
    writer = EmbeddingWriter(path, ids, {"model": model, "kind": kind, "width": 512})
    for start in range(0, len(ids), 8192):
        end = min(start + 8192, len(ids))
        writer.write_rows(range(start, end), torch.randn(end - start, 512, generator=gen))
    writer.finish({"model": model, "kind": kind, "width": 512, "chunk_length": 300})


def _training_set(root: Path, frames: int) -> dict:
    """A manifest of ``frames`` frames (half viral, ten frames a record) and its files: the
    DNA side in two files, the protein side in three, cut at other rows."""
    half = frames // 2
    sets = [
        DatasetFrames(
            name, name, label, [f"{name}{i // 10}_chunk_{i % 10 + 1}F1" for i in range(half)]
        )
        for name, label in (("vir", 1), ("host", 0))
    ]
    rows, _ = draw_manifest(sets, default_split(seed=1))
    write_manifest(rows, root / "manifest.tsv")
    ids = [r.id for r in rows]
    paths: dict[str, list[str]] = {"dna": [], "protein": []}
    for kind, model, cuts in (("dna", DNA, (0.5,)), ("protein", PROT, (0.3, 0.7))):
        bounds = [0, *(int(c * len(ids)) for c in cuts), len(ids)]
        for i, (lo, hi) in enumerate(pairwise(bounds)):
            path = root / kind / model / f"shard_{i:04d}.safetensors"
            _write(path, ids[lo:hi], kind, model, seed=i)
            paths[kind].append(str(path))
    return {
        "manifest": str(root / "manifest.tsv"),
        **paths,
        "dna_model": DNA,
        "protein_model": PROT,
        "out": str(root / "model"),
        "recipe": RECIPE,
    }


def _peak_mb(args: dict) -> float:
    return child_peak_rss_kb(CHILD, args) / 1024


def test_training_memory_does_not_grow_with_frames(tmp_path):
    small = _training_set(tmp_path / "small", 3_000)
    large = _training_set(tmp_path / "large", 30_000)
    peak_small, peak_large = _peak_mb(small), _peak_mb(large)
    meta = json.loads((Path(large["out"]) / "metadata.json").read_text())
    assert meta["n_train"] + meta["n_val"] + meta["n_test"] == 30_000
    print(f"peak RSS: 3,000 frames {peak_small:.0f} MB, 30,000 frames {peak_large:.0f} MB")
    # the 30,000 frames' features are 123 MB; holding them would add that much
    assert peak_large - peak_small < 40, (peak_small, peak_large)
