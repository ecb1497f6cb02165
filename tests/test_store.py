"""Downloads that cannot be half done, safetensors loading, and model provenance.

The hub is replaced by a fake snapshot directory: ``HfApi.model_info`` and
``snapshot_download`` are patched to answer from it, exactly as the hub would lay files out.
"""

from __future__ import annotations

import fnmatch
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import save_file

from virnucpro_smk.errors import ModelMissingError
from virnucpro_smk.models import store as model_store
from virnucpro_smk.models.esm import ESM_VOCAB, EsmTokenizer, load_esm
from virnucpro_smk.models.registry import parse_model
from virnucpro_smk.models.store import (
    NO_NETWORK,
    download_model,
    model_provenance,
    verify_weights,
)

SHA = "0123456789abcdef0123456789abcdef01234567"


def _spec(provider: str = "hub", source: str = "facebook/esm2_tiny", name: str = "tiny_esm_16d"):
    return parse_model(
        name,
        {
            "kind": "protein",
            "architecture": "esm2",
            "provider": provider,
            "source": source,
            "width": 16,
        },
    )


@pytest.fixture(scope="module")
def tiny_esm(tmp_path_factory):
    """A tiny EsmForMaskedLM (the class ESM2 3B is published as): config, state, reference."""
    from transformers import EsmConfig, EsmForMaskedLM

    cfg = EsmConfig(
        vocab_size=len(ESM_VOCAB),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        position_embedding_type="rotary",
        token_dropout=True,
        emb_layer_norm_before=False,
        max_position_embeddings=1026,
        pad_token_id=1,
        mask_token_id=32,
    )
    torch.manual_seed(0)
    model = EsmForMaskedLM(cfg).eval()
    folder = tmp_path_factory.mktemp("tiny_esm_config")
    model.config.save_pretrained(folder)
    ids = torch.tensor([EsmTokenizer(1024).encode("MKVLAAGIWRSTQ")])
    with torch.inference_mode():
        reference = model.esm(input_ids=ids).last_hidden_state
    return folder / "config.json", model.state_dict(), ids, reference


def _snapshot(root: Path, tiny_esm, layout: str) -> Path:
    """A hub snapshot of the tiny model in one of the layouts repositories really use."""
    config, state, _, _ = tiny_esm
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(config, root / "config.json")
    (root / "vocab.txt").write_text("\n".join(ESM_VOCAB) + "\n")
    (root / "README.md").write_text("model card\n")
    names = sorted(state)
    halves = {"1": names[: len(names) // 2], "2": names[len(names) // 2 :]}
    if layout == "single_bin":
        torch.save(state, root / "pytorch_model.bin")
    elif layout in ("sharded_bin",):
        weight_map = {}
        for i, part in halves.items():
            shard = f"pytorch_model-0000{i}-of-00002.bin"
            torch.save({k: state[k] for k in part}, root / shard)
            weight_map.update(dict.fromkeys(part, shard))
        (root / "pytorch_model.bin.index.json").write_text(json.dumps({"weight_map": weight_map}))
    elif layout in ("sharded_safetensors", "missing_shard"):
        weight_map = {}
        for i, part in halves.items():
            shard = f"model-0000{i}-of-00002.safetensors"
            tensors = {k: state[k].clone().contiguous() for k in part}
            if not (layout == "missing_shard" and i == "2"):
                save_file(tensors, root / shard, metadata={"format": "pt"})
            weight_map.update(dict.fromkeys(part, shard))
        (root / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    else:
        raise ValueError(layout)
    return root


def _fake_hub(monkeypatch, snapshot: Path, calls: list | None = None) -> None:
    import huggingface_hub

    def model_info(self, repo_id, revision=None, **_):
        files = [p.name for p in snapshot.iterdir()]
        return SimpleNamespace(sha=SHA, siblings=[SimpleNamespace(rfilename=n) for n in files])

    def snapshot_download(repo_id, revision=None, local_dir=None, allow_patterns=None, **_):
        assert revision == SHA, "the resolved commit is what gets downloaded"
        if calls is not None:
            calls.append(list(allow_patterns))
        for path in snapshot.iterdir():
            if any(fnmatch.fnmatch(path.name, p) for p in allow_patterns):
                shutil.copy(path, Path(local_dir) / path.name)
        return str(local_dir)

    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", model_info)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)


@pytest.mark.parametrize("layout", ["sharded_bin", "sharded_safetensors", "single_bin"])
def test_download_keeps_verified_safetensors_and_a_complete_manifest(
    tiny_esm, tmp_path, monkeypatch, layout
):
    snapshot = _snapshot(tmp_path / "hub", tiny_esm, layout)
    calls: list = []
    _fake_hub(monkeypatch, snapshot, calls)
    target = tmp_path / "models" / "tiny_esm_16d"
    manifest_path = download_model(_spec(), target)

    manifest = json.loads(manifest_path.read_text())
    assert manifest["resolved_revision"] == SHA
    assert "README.md" not in manifest["files"] and "*.md" not in calls[0]
    on_disk = {p.name: p.stat().st_size for p in target.glob("*.safetensors")}
    assert {w["name"]: w["bytes"] for w in manifest["weights"]} == on_disk
    assert not list(target.glob("*.bin")), "converted pickles are removed, safetensors kept"
    if layout == "single_bin":
        assert list(on_disk) == ["model.safetensors"]
        assert manifest["converted_from"] == ["pytorch_model.bin"]
    else:
        assert len(on_disk) == 2 and (target / "model.safetensors.index.json").is_file()
    # the converted weights are the model: same hidden states as the original module
    _, _, ids, reference = tiny_esm
    model = load_esm(target, token_dropout=True)
    with torch.inference_mode():
        torch.testing.assert_close(
            model(input_ids=ids).last_hidden_state, reference, atol=1e-6, rtol=0
        )
    assert model_provenance(_spec(), target) == {"model_commit": SHA, "commit_source": "hub"}
    # straight to the run dtype: no float32 parameter anywhere, rotary frequencies stay fp32
    half = load_esm(target, token_dropout=True, dtype=torch.bfloat16)
    assert {p.dtype for p in half.parameters()} == {torch.bfloat16}
    # (one shared module from transformers 5.6, one per layer before: either layout)
    rotary = [b.dtype for n, b in half.named_buffers() if n.endswith("inv_freq")]
    assert rotary and set(rotary) == {torch.float32}


def test_index_naming_a_missing_shard_fails_without_manifest(tiny_esm, tmp_path, monkeypatch):
    snapshot = _snapshot(tmp_path / "hub", tiny_esm, "missing_shard")
    _fake_hub(monkeypatch, snapshot)
    target = tmp_path / "models" / "tiny_esm_16d"
    with pytest.raises(ModelMissingError, match=r"model-00002-of-00002\.safetensors") as err:
        download_model(_spec(), target)
    assert "\n" not in str(err.value)
    assert not (target / "manifest.json").exists()


def test_a_bin_index_naming_a_missing_shard_fails_too(tiny_esm, tmp_path, monkeypatch):
    snapshot = _snapshot(tmp_path / "hub", tiny_esm, "sharded_bin")
    (snapshot / "pytorch_model-00002-of-00002.bin").unlink()
    _fake_hub(monkeypatch, snapshot)
    target = tmp_path / "m"
    with pytest.raises(ModelMissingError, match=r"pytorch_model-00002-of-00002\.bin"):
        download_model(_spec(), target)
    assert not (target / "manifest.json").exists()


def test_tensor_names_must_match_the_index(tiny_esm, tmp_path):
    folder = _snapshot(tmp_path / "m", tiny_esm, "sharded_safetensors")
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    first = next(iter(index["weight_map"]))
    index["weight_map"][first] = "model-00002-of-00002.safetensors"
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(ModelMissingError, match=r"tensors differ from model\.safetensors\.index"):
        verify_weights(folder)


def test_a_truncated_weight_file_is_refused(tiny_esm, tmp_path):
    folder = _snapshot(tmp_path / "m", tiny_esm, "sharded_safetensors")
    shard = folder / "model-00001-of-00002.safetensors"
    shard.write_bytes(shard.read_bytes()[:-100])
    with pytest.raises(
        ModelMissingError, match=r"model-00001-of-00002\.safetensors: not a readable"
    ):
        verify_weights(folder)


def test_offline_hub_gives_the_no_network_line(tmp_path, monkeypatch):
    import huggingface_hub
    from huggingface_hub.errors import OfflineModeIsEnabled

    def model_info(self, repo_id, revision=None, **_):
        raise OfflineModeIsEnabled(f"Cannot reach https://huggingface.co/api/models/{repo_id}")

    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", model_info)
    with pytest.raises(ModelMissingError) as err:
        download_model(_spec(), tmp_path / "m")
    assert str(err.value) == f"model tiny_esm_16d: {NO_NETWORK}"
    assert not (tmp_path / "m" / "manifest.json").exists()


def test_unreachable_hub_with_the_real_client(tmp_path, monkeypatch):
    """The real huggingface_hub client against a closed port: a transport error, not a hang."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setattr(
        constants,
        "HUGGINGFACE_CO_URL_TEMPLATE",
        "http://127.0.0.1:9/{repo_id}/resolve/{revision}/{filename}",
    )
    with pytest.raises(ModelMissingError, match="no network: run `snakemake download_models`"):
        download_model(_spec(), tmp_path / "m")


def test_network_errors_are_told_apart_from_others():
    class ConnectError(Exception):  # what httpx raises, by name
        pass

    try:
        try:
            raise ConnectError("refused")
        except ConnectError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert model_store.is_network_error(outer)
    assert not model_store.is_network_error(ValueError("bad revision"))


def test_local_provenance_hashes_weights_and_reuses_a_known_hash(tiny_esm, tmp_path, monkeypatch):
    folder = _snapshot(tmp_path / "local", tiny_esm, "sharded_safetensors")
    spec = _spec("local", str(folder), "mylocal_16d")
    first = model_provenance(spec, folder)
    assert first["model_commit"].startswith("sha256:") and len(first["model_commit"]) == 71
    assert model_provenance(spec, folder)["model_commit"] == first["model_commit"]
    calls = []
    monkeypatch.setattr(model_store, "files_sha256", lambda files: calls.append(files) or "x")
    assert model_provenance(spec, folder, known=first) == first and not calls
    shard = folder / "model-00001-of-00002.safetensors"
    data = bytearray(shard.read_bytes())
    data[-1] ^= 1  # one flipped bit in a weight
    shard.write_bytes(bytes(data))
    monkeypatch.undo()
    changed = model_provenance(spec, folder, known=first)
    assert changed["model_commit"] != first["model_commit"]


def test_standin_manifest_lists_weights(standins):
    spec, directory = standins["standin_fastesm_32d"]
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["weights"] == [
        {"name": "model.safetensors", "bytes": (directory / "model.safetensors").stat().st_size}
    ]
    assert model_provenance(spec, directory)["model_commit"].startswith("sha256:")


def test_dnabert_s_layout_single_bin_with_remote_code_files(reference, tmp_path, monkeypatch):
    """DNABERT-S ships pytorch_model.bin (with `bert.`/`cls.` keys) and its own .py files."""
    from safetensors.torch import load_file

    from virnucpro_smk.models.dnabert import load_dnabert

    src = reference / "dnabert_s_tiny"
    hub = tmp_path / "hub"
    hub.mkdir()
    shutil.copy(src / "config.json", hub / "config.json")
    state = {f"bert.{k}": v for k, v in load_file(src / "model.safetensors").items()}
    state["cls.predictions.bias"] = torch.zeros(4)
    torch.save(state, hub / "pytorch_model.bin")
    (hub / "bert_layers.py").write_text("raise SystemExit('remote code must not be fetched')\n")
    _fake_hub(monkeypatch, hub)
    width = json.loads((src / "config.json").read_text())["hidden_size"]
    spec = parse_model(
        f"dnabert_tiny_{width}d",
        {
            "kind": "dna",
            "architecture": "dnabert2",
            "provider": "hub",
            "source": "z/DNABERT-S",
            "width": width,
        },
    )
    target = tmp_path / "models" / spec.name
    manifest = json.loads(download_model(spec, target).read_text())
    assert manifest["converted_from"] == ["pytorch_model.bin"]
    assert not (target / "bert_layers.py").exists() and not (target / "pytorch_model.bin").exists()
    fx = load_file(src / "fixture.safetensors")
    with torch.inference_mode():
        hidden = load_dnabert(target)(fx["input_ids"], fx["attention_mask"])
    torch.testing.assert_close(hidden, fx["batch_last_hidden"], atol=1e-5, rtol=0)
