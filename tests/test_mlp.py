"""MLP training, checkpoints with identity, the guard, and legacy conversion."""

import json
import sys

import pytest
import torch
from torch import nn

from conftest import default_recipe
from tensor_splits import mean_loss, train_on_tensors
from virnucpro_smk.classify.mlp import (
    CheckpointIdentity,
    MLPClassifier,
    load_checkpoint,
    predict_scores,
    save_checkpoint,
)
from virnucpro_smk.cli import main as cli_main
from virnucpro_smk.errors import ModelMismatchError, VirNucProError


def separable(n=400, width=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, width, generator=g)
    x[:, :4] += (y[:, None].float() * 2 - 1) * 1.5
    return x, y


def test_architecture_is_the_originals():
    recipe = default_recipe()  # the schema's train.recipe: the original's numbers
    model = MLPClassifier(2048, recipe.hidden, 2, recipe.dropout)
    assert [type(m).__name__ for m in model.children()] == [
        "Linear",
        "BatchNorm1d",
        "Linear",
        "Dropout",
    ]
    assert model.hidden_layer.out_features == 512 and model.output_layer.out_features == 2
    assert model.dropout.p == 0.5


def test_training_reaches_high_accuracy_and_is_reproducible(tmp_path):
    x, y = separable()
    cfg = default_recipe(max_epochs=40, lr=0.01, seed=7)
    m1, hist1 = train_on_tensors(
        x[:300], y[:300], x[300:350], y[300:350], cfg, tmp_path / "log.tsv"
    )
    m2, hist2 = train_on_tensors(x[:300], y[:300], x[300:350], y[300:350], cfg)
    acc = (predict_scores(m1, x[350:]).argmax(1) == y[350:]).float().mean().item()
    assert acc >= 0.95
    assert hist1 == [dict(h, seconds=h1["seconds"]) for h, h1 in zip(hist2, hist1, strict=True)]
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    lines = (tmp_path / "log.tsv").read_text().splitlines()
    assert lines[0].split("\t")[:3] == ["epoch", "train_loss", "val_loss"]
    assert len(lines) == len(hist1) + 1


def test_early_stopping_keeps_the_best_weights():
    x, y = separable(200)
    cfg = default_recipe(max_epochs=200, lr=0.05, patience=3, seed=1)
    model, hist = train_on_tensors(x[:150], y[:150], x[150:], y[150:], cfg)
    best = min(h["val_loss"] for h in hist)

    assert len(hist) < 200
    assert mean_loss(model, x[150:], y[150:]) == pytest.approx(best, rel=1e-6)


def _identity(protein="esm2_3b_2560d", width=2560, chunk=300):
    return CheckpointIdentity("dnaberts_768d", 768, protein, width, chunk)


def test_checkpoint_guard(tmp_path):
    model = MLPClassifier(768 + 2560, 512)
    save_checkpoint(model, tmp_path / "model.safetensors", _identity(), manifest_sha256="abc")
    _model, meta = load_checkpoint(tmp_path / "model.safetensors", expect=_identity())
    assert meta["input_width"] == 3328 and meta["manifest_sha256"] == "abc"
    assert "torch" in meta["versions"]
    with pytest.raises(ModelMismatchError, match="protein_model: checkpoint 'esm2_3b_2560d'"):
        load_checkpoint(tmp_path / "model.safetensors", expect=_identity("fastesm650_1280d", 1280))
    with pytest.raises(ModelMismatchError, match="chunk_length"):
        load_checkpoint(tmp_path / "model.safetensors", expect=_identity(chunk=500))
    assert meta["project_version"]


def test_checkpoint_refuses_features_of_other_weights(tmp_path):
    """Same model names, another snapshot of the weights: refused when both sides know."""
    from dataclasses import replace

    trained = replace(_identity(), dna_commit="aaa111", protein_commit="bbb222")
    save_checkpoint(MLPClassifier(768 + 2560, 512), tmp_path / "model.safetensors", trained)
    load_checkpoint(tmp_path / "model.safetensors", expect=trained)
    load_checkpoint(tmp_path / "model.safetensors", expect=_identity())  # unknown: allowed
    other = replace(trained, protein_commit="ccc333")
    with pytest.raises(ModelMismatchError, match="protein_commit: checkpoint 'bbb222'"):
        load_checkpoint(tmp_path / "model.safetensors", expect=other)
    (tmp_path / "metadata.json").unlink()
    with pytest.raises(ModelMismatchError, match=r"no metadata\.json"):
        load_checkpoint(tmp_path / "model.safetensors")


def _pickle_like_the_original(path):
    """A whole MLP module pickled from a class living in __main__, as train.py does."""

    class MLPClassifier(nn.Module):  # the original's name
        def __init__(self, input_dim, hidden_dim, num_class):
            super().__init__()
            self.hidden_layer = nn.Linear(input_dim, hidden_dim)
            self.bn1 = nn.BatchNorm1d(hidden_dim)
            self.output_layer = nn.Linear(hidden_dim, num_class)
            self.dropout = nn.Dropout(0.5)

    MLPClassifier.__module__ = "__main__"
    MLPClassifier.__qualname__ = "MLPClassifier"
    main = sys.modules["__main__"]
    main.MLPClassifier = MLPClassifier
    try:
        module = MLPClassifier(3328, 512, 2)
        module.bn1.running_mean.uniform_()
        torch.save(module, path)
    finally:
        del main.MLPClassifier
    return module.state_dict()


def test_legacy_conversion(tmp_path):
    legacy = tmp_path / "300_model.pth"
    state = _pickle_like_the_original(legacy)
    out = tmp_path / "converted"
    # without the explicit flag nothing is unpickled
    assert (
        cli_main(["convert-legacy", str(legacy), "--chunk-length", "300", "--out", str(out)]) == 1
    )
    assert not out.exists()
    code = cli_main(
        [
            "convert-legacy",
            str(legacy),
            "--chunk-length",
            "300",
            "--out",
            str(out),
            "--allow-pickle",
        ]
    )
    assert code == 0
    model, meta = load_checkpoint(out / "model.safetensors", expect=_identity())
    for key, value in state.items():
        assert torch.equal(model.state_dict()[key], value)
    assert meta["legacy_sha256"] and meta["protein_model"] == "esm2_3b_2560d"
    assert json.loads((out / "metadata.json").read_text())["input_width"] == 3328
    with pytest.raises(ModelMismatchError):
        load_checkpoint(out / "model.safetensors", expect=_identity("fastesm650_1280d", 1280))


def test_legacy_loader_refuses_without_opt_in(tmp_path):
    from virnucpro_smk.io.legacy import load_legacy_classifier

    with pytest.raises(VirNucProError, match="--allow-pickle"):
        load_legacy_classifier(tmp_path / "x.pth")


def test_train_from_a_table_of_shards(tmp_path):
    """DNA and protein shards are joined with their identity checks, split by record."""
    from virnucpro_smk.io.embedding_files import write_embeddings

    x, y = separable(300, width=12, seed=3)
    table = ["dna\tprotein\tlabel\tgroup"]
    for label, name in ((1, "viral"), (0, "host")):
        rows = x[y == label]
        # ten frames per source record, so that records can be split
        ids = [f"{name}{i // 10}_chunk_{i % 10 + 1}F1" for i in range(len(rows))]
        paths = []
        for kind, model, cols in (("dna", "d_8d", slice(0, 8)), ("protein", "p_4d", slice(8, 12))):
            path = tmp_path / name / kind / model / "shard_0000.safetensors"
            meta = {"model": model, "kind": kind, "width": cols.stop - cols.start}
            write_embeddings(path, ids, rows[:, cols].contiguous(), {**meta, "chunk_length": 300})
            paths.append(str(path))
        table.append(f"{paths[0]}\t{paths[1]}\t{'viral' if label else 'nonviral'}\t{name}")
    (tmp_path / "shards.tsv").write_text("\n".join(table) + "\n")
    out = tmp_path / "model"
    code = cli_main(
        [
            "train",
            "--shards",
            str(tmp_path / "shards.tsv"),
            "--dna-model",
            "d_8d",
            "--protein-model",
            "p_4d",
            "--out",
            str(out),
            "--max-epochs",
            "30",
        ]
    )
    assert code == 0
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["input_width"] == 12 and meta["test_metrics"]["accuracy"] >= 0.9
    manifest = (out / "training_manifest.tsv").read_text().splitlines()
    assert meta["manifest_sha256"] and meta["split_by"] == "genome"
    splits = {}
    for line in manifest[1:]:
        row = dict(zip(manifest[0].split("\t"), line.split("\t"), strict=True))
        splits.setdefault(row["record"], set()).add(row["split"])
    assert all(len(s) == 1 for s in splits.values())
