"""The native DNABERT-S encoder against tiny checkpoints written by the reference code."""

import pytest
import torch
from safetensors.torch import load_file

from virnucpro_smk.models.dnabert import alibi_slopes, load_dnabert

FIXTURES = ["dnabert_s_tiny", "dnabert_s_tiny12h"]
ATOL = 1e-5


@pytest.fixture(params=FIXTURES)
def fixture(request, reference):
    folder = reference / request.param
    return load_dnabert(folder), load_file(folder / "fixture.safetensors")


def test_one_sequence_at_a_time_matches_reference(fixture):
    model, fx = fixture
    with torch.inference_mode():
        for i, n in enumerate(fx["lengths"].tolist()):
            hidden = model(fx["input_ids"][i : i + 1, :n])
            torch.testing.assert_close(hidden, fx[f"single_{i}_last_hidden"], atol=ATOL, rtol=0)
            torch.testing.assert_close(hidden.mean(1)[0], fx["single_mean"][i], atol=ATOL, rtol=0)


def test_padded_batch_matches_reference_and_zeroes_padding(fixture):
    model, fx = fixture
    with torch.inference_mode():
        hidden = model(fx["input_ids"], fx["attention_mask"])
    torch.testing.assert_close(hidden, fx["batch_last_hidden"], atol=ATOL, rtol=0)
    assert (hidden[fx["attention_mask"] == 0] == 0).all()
    mask = fx["attention_mask"].float()
    pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    torch.testing.assert_close(pooled, fx["batch_masked_mean"], atol=ATOL, rtol=0)
    torch.testing.assert_close(pooled, fx["single_mean"], atol=ATOL, rtol=0)


def test_long_input_beyond_alibi_starting_size(fixture):
    model, fx = fixture
    with torch.inference_mode():
        hidden = model(fx["long_input_ids"])
    torch.testing.assert_close(hidden, fx["long_last_hidden"], atol=ATOL, rtol=0)


def test_alibi_slopes_for_power_of_two_and_other_head_counts(fixture):
    model, fx = fixture
    torch.testing.assert_close(alibi_slopes(model.config.num_attention_heads), fx["alibi_slopes"])


def test_strict_loading_refuses_an_incomplete_checkpoint(reference, tmp_path):
    import shutil

    from safetensors.torch import save_file

    src = reference / "dnabert_s_tiny"
    shutil.copy(src / "config.json", tmp_path / "config.json")
    state = load_file(src / "model.safetensors")
    state.pop("pooler.dense.bias")
    save_file(state, tmp_path / "model.safetensors")
    with pytest.raises(RuntimeError, match=r"pooler\.dense\.bias"):
        load_dnabert(tmp_path)


def test_half_precision_runs_and_stays_close(reference):
    model, fx = load_dnabert(reference / "dnabert_s_tiny"), None
    fx = load_file(reference / "dnabert_s_tiny" / "fixture.safetensors")
    with torch.inference_mode():
        full = model(fx["input_ids"], fx["attention_mask"])
        half = model.to(torch.bfloat16)(fx["input_ids"], fx["attention_mask"]).float()
    assert torch.isfinite(half).all()
    cosine = torch.nn.functional.cosine_similarity(full.mean(1), half.mean(1), dim=1)
    assert cosine.min() > 0.99
