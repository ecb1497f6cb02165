"""ESM rotary embeddings load right under both transformers layouts (issue #17).

transformers keeps ESM's rotary frequencies in each attention layer up to 5.5 and in one
shared module from 5.6; ``load_esm`` builds the model on the meta device and must fill
whichever layout the installed version has. The reference here is a plain-torch ESM-2 forward
(fair-esm's arithmetic, no transformers code), so it checks the installed version; the
structure tests cover the other layout's branch, since CI installs only the newest.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from virnucpro_smk.errors import ModelMissingError
from virnucpro_smk.models.esm import (
    EsmTokenizer,
    _rebuild_buffers,
    esm_config_from_dir,
    load_esm,
    rotary_inv_freq,
    rotary_layout,
)
from virnucpro_smk.models.registry import parse_model
from virnucpro_smk.models.standin import build_esm_standin

PROTEINS = ["MKTAYIAKQRQISFVKSHFSRQ", "GSHMLEDPV", "MADEUPPROTEINSEQWENCEWITHXANDBZ" * 3]


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    """A 2-layer, 4-head, 32-wide ESM-2 stand-in saved by the installed transformers."""
    spec = parse_model(
        "rotary_standin_32d",
        {
            "kind": "protein",
            "architecture": "esm2",
            "provider": "standin",
            "source": "standin/rotary_standin_32d",
            "width": 32,
            "token_dropout": True,
            "standin": {"layers": 2, "heads": 4, "intermediate": 64, "seed": 3},
        },
    )
    folder = tmp_path_factory.mktemp("esm_rotary")
    build_esm_standin(spec, folder)
    return folder


def _rotate(x: torch.Tensor, inv_freq: torch.Tensor) -> torch.Tensor:
    """RoFormer rotation of (batch, heads, length, head_dim) by position, fair-esm's halves."""
    angles = torch.outer(torch.arange(x.shape[-2], dtype=torch.float32), inv_freq)
    cos, sin = torch.cat((angles, angles), -1).cos(), torch.cat((angles, angles), -1).sin()
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos + torch.cat((-x2, x1), -1) * sin


def reference_esm2(
    state: dict[str, torch.Tensor], ids: torch.Tensor, heads: int, rotary: bool = True
) -> torch.Tensor:
    """fair-esm's ESM-2 forward for one unpadded sequence (1, L): token-dropout scaling,
    pre-LayerNorm layers, query scaled before the rotation, erf GELU, final LayerNorm."""
    x = state["embeddings.word_embeddings.weight"][ids] * (1 - 0.15 * 0.8)
    width = x.shape[-1]
    head_dim = width // heads
    inv_freq = 1.0 / (10000.0 ** (torch.arange(0, head_dim, 2).float() / head_dim))

    def linear(h: torch.Tensor, name: str) -> torch.Tensor:
        return h @ state[f"{name}.weight"].T + state[f"{name}.bias"]

    def norm(h: torch.Tensor, name: str) -> torch.Tensor:
        return nn.functional.layer_norm(
            h, (width,), state[f"{name}.weight"], state[f"{name}.bias"], 1e-5
        )

    def split(h: torch.Tensor) -> torch.Tensor:
        return h.view(1, -1, heads, head_dim).transpose(1, 2)

    n_layers = 1 + max(int(k.split(".")[2]) for k in state if k.startswith("encoder.layer."))
    for i in range(n_layers):
        p = f"encoder.layer.{i}"
        h = norm(x, f"{p}.attention.LayerNorm")
        q = split(linear(h, f"{p}.attention.self.query")) / math.sqrt(head_dim)
        k = split(linear(h, f"{p}.attention.self.key"))
        v = split(linear(h, f"{p}.attention.self.value"))
        if rotary:
            q, k = _rotate(q, inv_freq), _rotate(k, inv_freq)
        attn = torch.softmax(q @ k.transpose(-1, -2), -1) @ v
        x = x + linear(attn.transpose(1, 2).reshape(1, -1, width), f"{p}.attention.output.dense")
        h = linear(norm(x, f"{p}.LayerNorm"), f"{p}.intermediate.dense")
        h = h * 0.5 * (1.0 + torch.erf(h / math.sqrt(2.0)))
        x = x + linear(h, f"{p}.output.dense")
    return norm(x, "encoder.emb_layer_norm_after")


def test_installed_transformers_embeds_as_the_plain_torch_reference(standin):
    """Padded batch through load_esm == the reference per sequence, pooled over residues."""
    import transformers

    model = load_esm(standin, token_dropout=True)
    state = {k: v.float() for k, v in model.state_dict().items()}
    tok = EsmTokenizer(1024)
    rows = [tok.encode(p) for p in PROTEINS]
    width = max(map(len, rows))
    ids = torch.full((len(rows), width), tok.pad_id)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)], mask[i, : len(row)] = torch.tensor(row), 1
    with torch.inference_mode():
        hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
        for i, row in enumerate(rows):
            single = torch.tensor([row])
            expected = reference_esm2(state, single, heads=4)[0, 1:-1].mean(0)
            unrotated = reference_esm2(state, single, heads=4, rotary=False)[0, 1:-1].mean(0)
            pooled = hidden[i, 1 : len(row) - 1].mean(0)
            diff = (pooled - expected).abs().max().item()
            assert diff <= 1e-6, f"transformers {transformers.__version__}: {diff:.2e}"
            assert (pooled - unrotated).abs().max() > 1e-3, "rotation must change the vectors"


def test_loaded_frequencies_are_what_from_pretrained_gives(standin):
    """The rebuilt buffers are exactly transformers' own (from_pretrained of the same files)."""
    from transformers import EsmModel

    loaded = dict(load_esm(standin, token_dropout=True).named_buffers())
    reference = dict(EsmModel.from_pretrained(standin, add_pooling_layer=False).named_buffers())
    names = [n for n in reference if n.endswith("inv_freq")]
    assert names, "the installed EsmModel has no rotary buffer"
    for name in names:
        torch.testing.assert_close(loaded[name], reference[name], atol=0, rtol=0)
        torch.testing.assert_close(loaded[name], rotary_inv_freq(8), atol=0, rtol=0)


class _PerLayerRotary(nn.Module):
    """transformers 4.56-5.5's ``RotaryEmbedding(dim)`` as loading sees it: an ``inv_freq``
    buffer made in ``__init__`` (copied from 4.56), no ``compute_default_rope_parameters``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
        self.register_buffer("inv_freq", inv_freq)


def _meta_model(standin, per_layer: bool) -> nn.Module:
    """An EsmModel on the meta device, its rotary buffers moved into the per-layer layout."""
    from transformers import EsmModel

    config = esm_config_from_dir(standin, token_dropout=True)
    with torch.device("meta"):
        model = EsmModel(config, add_pooling_layer=False)
        if per_layer:
            if hasattr(model, "rotary_embeddings"):  # transformers >= 5.6: the shared module
                model.rotary_embeddings = None
            for layer in model.encoder.layer:
                layer.attention.self.rotary_embeddings = _PerLayerRotary(8)
    return model


def test_per_layer_layout_is_detected_and_filled(standin):
    """The 4.56-5.5 branch, whatever transformers CI installs: every layer's buffer is filled
    with the frequencies 4.56's own constructor makes."""
    model = _meta_model(standin, per_layer=True)
    assert rotary_layout(model) == "per_layer"
    _rebuild_buffers(model, torch.device("cpu"))
    buffers = [m.inv_freq for m in model.modules() if isinstance(m, _PerLayerRotary)]
    assert len(buffers) == 2
    for inv_freq in buffers:
        assert inv_freq.device.type == "cpu" and inv_freq.dtype == torch.float32
        torch.testing.assert_close(inv_freq, _PerLayerRotary(8).inv_freq, atol=0, rtol=0)


def test_installed_layout_is_one_of_the_two(standin):
    import transformers

    layout = rotary_layout(_meta_model(standin, per_layer=False))
    version = tuple(int(p) for p in transformers.__version__.split(".")[:2])
    assert layout == ("shared" if version >= (5, 6) else "per_layer")


def test_a_model_without_rotary_buffers_is_refused(standin):
    model = _meta_model(standin, per_layer=True)
    for layer in model.encoder.layer:
        layer.attention.self.rotary_embeddings = None
    with pytest.raises(ModelMissingError, match="unknown transformers layout"):
        rotary_layout(model)
