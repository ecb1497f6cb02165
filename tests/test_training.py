"""Training from the manifest and the training shards' DNA and protein embeddings."""

import csv
import json
from dataclasses import replace

import pytest
import torch

from conftest import default_recipe, default_split
from virnucpro_smk.classify.train import TrainingOutputs, open_manifest_frames, train_from_manifest
from virnucpro_smk.errors import InputError, ModelMismatchError
from virnucpro_smk.formats.manifest import MANIFEST
from virnucpro_smk.io.embedding_files import write_embeddings
from virnucpro_smk.preprocess.genome_splits import (
    DatasetFrames,
    draw_manifest,
    write_manifest,
)


def _frames(name, label, n_records):
    ids = [f"{name}{r}_chunk_{c}F1" for r in range(n_records) for c in range(1, 6)]
    return DatasetFrames(name, name, label, ids)


def _shards(tmp_path, rows, n_shards, dna_model="d_6d", protein_model="p_4d", shift=0):
    """Embedding shards of the manifest rows; viral frames are shifted so they are learnable."""
    gen = torch.Generator().manual_seed(0)
    bounds = [(i * len(rows) // n_shards, (i + 1) * len(rows) // n_shards) for i in range(n_shards)]
    paths = {"dna": [], "protein": []}
    for shard, (lo, hi) in enumerate(bounds):
        part = rows[lo:hi]
        labels = torch.tensor([[float(r.label)] for r in part])
        for kind, model, width in (("dna", dna_model, 6), ("protein", protein_model, 4)):
            x = torch.randn(len(part), width, generator=gen) + 3 * labels
            path = tmp_path / kind / model / f"shard_{shard:04d}.safetensors"
            ids = [r.id for r in part][shift:] + [r.id for r in part][:shift]
            meta = {"model": model, "kind": kind, "width": width, "chunk_length": 300}
            write_embeddings(path, ids, x, meta)
            paths[kind].append(path)
    return paths


@pytest.fixture
def manifest(tmp_path):
    rows, _ = draw_manifest([_frames("vir", 1, 30), _frames("host", 0, 30)], default_split(seed=1))
    rows = [replace(r, shard=0 if i < len(rows) // 2 else 1) for i, r in enumerate(rows)]
    path = tmp_path / "manifest.tsv"
    write_manifest(rows, path)
    return path, MANIFEST.read_all(path)


def test_train_writes_record_level_test_predictions(tmp_path, manifest):
    path, rows = manifest
    shards = _shards(tmp_path, rows, 2)
    metrics = train_from_manifest(
        path,
        shards["dna"],
        shards["protein"],
        "d_6d",
        "p_4d",
        TrainingOutputs.in_directory(tmp_path / "model"),
        default_recipe(max_epochs=20, seed=3),
    )
    assert metrics["accuracy"] > 0.9
    with open(tmp_path / "model/test_predictions.tsv") as handle:
        test = list(csv.DictReader(handle, delimiter="\t"))
    assert {r["record"] for r in test} == {r.record for r in rows if r.split == "test"}
    train_records = {r.record for r in rows if r.split == "train"}
    assert not train_records & {r["record"] for r in test}


def load_features(rows, dna, protein, dna_model, protein_model, tmp_path):
    """The manifest's feature matrix as training reads it: every split's rows, in order."""
    path = tmp_path / f"manifest_{len(rows)}.tsv"
    write_manifest(rows, path)
    data = open_manifest_frames(path, dna, protein, dna_model, protein_model)
    try:
        parts = [
            data.rows.rows(*run) for s in ("train", "val", "test") for run in data.splits[s].runs
        ]
        labels = torch.cat([data.splits[s].labels for s in ("train", "val", "test")])
        assert labels.tolist() == [r.label for r in rows]
        return torch.cat(parts), data.identity
    finally:
        data.close()


def test_features_follow_the_manifest_or_are_refused(tmp_path, manifest):
    _, rows = manifest
    good = _shards(tmp_path / "good", rows, 2)
    x, identity = load_features(rows, good["dna"], good["protein"], "d_6d", "p_4d", tmp_path)
    assert x.shape == (len(rows), 10) and identity.input_width == 10
    shifted = _shards(tmp_path / "shifted", rows, 2, shift=1)
    mixed = shifted["dna"][:1] + good["dna"][1:]
    with pytest.raises(ModelMismatchError, match="same ids in the same order"):
        load_features(rows, mixed, good["protein"], "d_6d", "p_4d", tmp_path)
    with pytest.raises(InputError, match="another manifest"):
        load_features(rows, shifted["dna"], shifted["protein"], "d_6d", "p_4d", tmp_path)
    with pytest.raises(ModelMismatchError, match="expected p_4d"):
        other = _shards(tmp_path / "other", rows, 2, protein_model="q_4d")
        load_features(rows, good["dna"], other["protein"], "d_6d", "p_4d", tmp_path)


def _cut(tmp_path, rows, kind, model, matrix, bounds):
    paths = []
    for i, (lo, hi) in enumerate(bounds):
        path = tmp_path / kind / model / f"shard_{i:04d}.safetensors"
        meta = {"model": model, "kind": kind, "width": matrix.shape[1], "chunk_length": 300}
        write_embeddings(path, [r.id for r in rows[lo:hi]], matrix[lo:hi], meta)
        paths.append(path)
    return paths


def test_dna_and_protein_files_cut_at_different_rows_give_the_manifest_rows(tmp_path, manifest):
    """The DNA model has fewer, larger training files than a protein model (jobs sized by
    cost): the features are still the manifest's rows, in order."""
    _, rows = manifest
    n = len(rows)
    dna, protein = torch.randn(n, 6), torch.randn(n, 4)
    dna_files = _cut(tmp_path, rows, "dna", "d_6d", dna, [(0, n)])
    cuts = [(0, 7), (7, 7), (7, n // 2 + 1), (n // 2 + 1, n)]
    protein_files = _cut(tmp_path, rows, "protein", "p_4d", protein, cuts)
    x, identity = load_features(rows, dna_files, protein_files, "d_6d", "p_4d", tmp_path)
    assert torch.equal(x, torch.cat([dna, protein], dim=1)) and identity.input_width == 10
    with pytest.raises(InputError, match="another manifest"):
        load_features(rows[:-1], dna_files, protein_files, "d_6d", "p_4d", tmp_path)
    with pytest.raises(InputError, match="another manifest"):
        load_features([*rows, rows[0]], dna_files, protein_files, "d_6d", "p_4d", tmp_path)


def test_every_training_seed_is_tested_on_the_same_frames(tmp_path, manifest):
    """n_seeds classifiers on one split: the checkpoint is the first seed's, the test table
    holds every seed's scores (with the genome of each frame) and the seeds differ."""
    from virnucpro_smk.report.level_metrics import read_seed_predictions

    path, rows = manifest
    shards = _shards(tmp_path, rows, 2)
    out = TrainingOutputs.in_directory(tmp_path / "model")
    train_from_manifest(
        path,
        shards["dna"],
        shards["protein"],
        "d_6d",
        "p_4d",
        out,
        default_recipe(max_epochs=3, seed=3),
        n_seeds=3,
    )
    seeds = read_seed_predictions(out.test_predictions)
    assert list(seeds) == [3, 4, 5]
    test_rows = [r for r in rows if r.split == "test"]
    for pred in seeds.values():
        assert pred.ids == [r.id for r in test_rows]
        assert pred.genomes == [r.genome for r in test_rows]
    assert not all((seeds[3].scores == s.scores).all() for s in (seeds[4], seeds[5]))
    meta = json.loads((tmp_path / "model/metadata.json").read_text())
    assert meta["training_seeds"] == [3, 4, 5] and meta["split_by"] == "genome"
