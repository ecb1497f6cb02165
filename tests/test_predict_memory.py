"""Peak memory of predict_sample does not grow with the number of shards.

predict_sample runs on N frames in one shard and on 10N frames in ten shards (stand-in
widths 48 + 64), each in a fresh child process that reports its peak RSS (VmHWM). The
frame counts are large enough that holding the sample's features, as the old predictor
did, would dominate torch's import (~230 MB): N frames read and joined take ~110 MB, 10N
over a gigabyte, which fails the 1.5x bound.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import torch

from conftest import child_peak_rss_kb
from virnucpro_smk.classify.mlp import CheckpointIdentity, MLPClassifier, save_checkpoint
from virnucpro_smk.io.embedding_files import write_embeddings

DNA, PROT = "standin_dnabert_48d", "standin_esm2_64d"
L = 30  # short chunks keep the FASTA small: 10 chunks of 30 bp per 300-bp sequence
FRAMES_PER_SHARD = 120_000
SUFFIXES = ("F1", "F2", "F3", "R1", "R2", "R3")
CHUNKS_PER_SEQ = 10
SEQ_LEN = CHUNKS_PER_SEQ * L

CHILD = textwrap.dedent(
    """
    import json, sys
    import torch
    torch.set_num_threads(1)  # the test machine is shared: spinning threads only slow it
    sys.path.insert(0, sys.argv[1])
    from virnucpro_smk.classify.calls import CallThresholds
    from virnucpro_smk.classify.predict import FeatureFiles, PredictionFiles, predict_sample
    from virnucpro_smk.classify.region_model import RegionModel
    from virnucpro_smk.runtime.config_defaults import schema_defaults
    args = json.loads(sys.argv[2])
    dna, protein, weights, sequences, fasta, chunk_length, dna_model, protein_model = args[
        "positional"
    ]
    predict = schema_defaults("predict")
    predict_sample(
        FeatureFiles(dna, protein, dna_model, protein_model, chunk_length),
        weights, sequences, fasta, PredictionFiles(**args["outputs"]),
        CallThresholds.from_config(predict), RegionModel.from_config(predict),
    )
    status = open("/proc/self/status").read()
    print(json.dumps({"vmhwm_kb": int(status.split("VmHWM:")[1].split()[0])}))
    """
)


def _make_sample(root: Path, n_shards: int, weights: Path) -> dict:
    """``n_shards`` shards of FRAMES_PER_SHARD frames (all six frames of every chunk)."""
    seqs_per_shard = FRAMES_PER_SHARD // (len(SUFFIXES) * CHUNKS_PER_SEQ)
    gen = torch.Generator().manual_seed(n_shards)
    dna_paths, prot_paths, names = [], [], []
    for s in range(n_shards):
        shard_names = [f"s{s}_{i}" for i in range(seqs_per_shard)]
        ids = [
            f"{name}_chunk_{k}{suffix}"
            for name in shard_names
            for k in range(1, CHUNKS_PER_SEQ + 1)
            for suffix in SUFFIXES
        ]
        for model, kind, width, paths in (
            (DNA, "dna", 48, dna_paths),
            (PROT, "protein", 64, prot_paths),
        ):
            path = root / kind / model / f"shard_{s:04d}.safetensors"
            meta = {"model": model, "kind": kind, "width": width, "chunk_length": L}
            write_embeddings(path, ids, torch.randn(len(ids), width, generator=gen), meta)
            paths.append(str(path))
        names += shard_names
    (root / "sequences.tsv").write_text(
        "sequence_id\tlength_bp\tn_chunks\tn_kept_frames\n"
        + "".join(f"{n}\t{SEQ_LEN}\t{CHUNKS_PER_SEQ}\t60\n" for n in names)
    )
    rng = np.random.default_rng(0)
    body = "".join(rng.choice(list("ACGT"), SEQ_LEN))
    (root / "in.fa").write_text("".join(f">{n}\n{body}\n" for n in names))
    out = root / "out"
    return {
        "positional": [
            dna_paths,
            prot_paths,
            str(weights),
            str(root / "sequences.tsv"),
            str(root / "in.fa"),
            L,
            DNA,
            PROT,
        ],
        "outputs": {
            "predictions": str(out / "predictions.tsv"),
            "per_chunk": str(out / "per_chunk.tsv"),
            "per_sequence": str(out / "per_sequence.tsv"),
            "viral_fasta": str(out / "viral.fna"),
        },
    }


def _peak_kb(args: dict) -> int:
    return child_peak_rss_kb(CHILD, args)


def test_peak_memory_does_not_grow_with_shards(tmp_path):
    torch.manual_seed(0)
    model = MLPClassifier(48 + 64, hidden_dim=16).eval()  # small: time goes to the I/O path
    weights = tmp_path / "clf" / "model.safetensors"
    save_checkpoint(model, weights, CheckpointIdentity(DNA, 48, PROT, 64, L))
    one = _make_sample(tmp_path / "one", 1, weights)
    ten = _make_sample(tmp_path / "ten", 10, weights)
    peak_one, peak_ten = _peak_kb(one), _peak_kb(ten)
    rows = sum(1 for _ in open(ten["outputs"]["predictions"], encoding="utf-8"))
    assert rows == 10 * FRAMES_PER_SHARD + 1
    chunks = sum(1 for _ in open(ten["outputs"]["per_chunk"], encoding="utf-8"))
    assert chunks == 10 * FRAMES_PER_SHARD // len(SUFFIXES) + 1
    print(f"peak RSS: 1 shard {peak_one / 1024:.0f} MiB, 10 shards {peak_ten / 1024:.0f} MiB")
    assert peak_ten < 1.5 * peak_one, (peak_one, peak_ten)
