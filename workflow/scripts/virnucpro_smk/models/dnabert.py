"""A native PyTorch DNABERT-2 / DNABERT-S encoder (MosaicBERT architecture).

The published DNABERT-S code needs ``trust_remote_code``, breaks under transformers 5,
crashes in half precision and ships a Triton kernel that fails on current Triton. This module
re-implements the same encoder so the published checkpoint loads with ``strict=True``:

* embeddings: word + token-type-0 embedding, LayerNorm (no position embeddings);
* attention: fused ``Wqkv`` projection ([q; k; v] rows, head ``h`` owns rows ``h*d:(h+1)*d``
  of each block), ALiBi bias ``-slope_h * |i - j|`` plus the padding mask, computed through
  ``torch.nn.functional.scaled_dot_product_attention``; post-LayerNorm residual;
* feed-forward: gated GLU, ``wo(gelu(gate) * linear)`` with exact (erf) GELU, post-LayerNorm.

It reproduces the reference implementation to ~1e-6 in fp32 (see tests/test_dnabert.py).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

MASK_BIAS = -10000.0  # the reference's additive value for padded keys


@dataclass
class DnaBertConfig:
    """The fields of DNABERT-S's ``config.json`` that shape the encoder."""

    vocab_size: int = 4096
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    layer_norm_eps: float = 1e-12
    type_vocab_size: int = 2
    pad_token_id: int = 0
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.0

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> DnaBertConfig:
        raw = json.loads(Path(path).read_text())
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in names})

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def alibi_slopes(n_heads: int) -> torch.Tensor:
    """ALiBi head slopes; for a non-power-of-two head count, the closest power of two's slopes
    followed by every other slope of the next power of two (as in the ALiBi paper's code)."""

    def power_of_two(n: int) -> list[float]:
        start = 2 ** (-8 / n)
        return [start ** (i + 1) for i in range(n)]

    closest = 2 ** math.floor(math.log2(n_heads))
    slopes = power_of_two(closest)
    if closest < n_heads:
        slopes += power_of_two(2 * closest)[0::2][: n_heads - closest]
    return torch.tensor(slopes, dtype=torch.float32)


class DnaBertEmbeddings(nn.Module):
    def __init__(self, cfg: DnaBertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(
            cfg.vocab_size, cfg.hidden_size, padding_idx=cfg.pad_token_id
        )
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab_size, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.dropout = nn.Dropout(cfg.hidden_dropout_prob)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        # token type 0 everywhere: row 0 of the token-type table
        x = self.word_embeddings(input_ids) + self.token_type_embeddings.weight[0]
        return self.dropout(self.LayerNorm(x))


class DnaBertSelfAttention(nn.Module):
    def __init__(self, cfg: DnaBertConfig) -> None:
        super().__init__()
        self.n_heads = cfg.num_attention_heads
        self.head_dim = cfg.hidden_size // cfg.num_attention_heads
        self.Wqkv = nn.Linear(cfg.hidden_size, 3 * cfg.hidden_size)
        self.p_dropout = cfg.attention_probs_dropout_prob

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, n, h = x.shape
        qkv = self.Wqkv(x).view(b, n, 3, self.n_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=bias, dropout_p=self.p_dropout if self.training else 0.0
        )
        return out.transpose(1, 2).reshape(b, n, h)


class DnaBertSelfOutput(nn.Module):
    def __init__(self, cfg: DnaBertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.dropout = nn.Dropout(cfg.hidden_dropout_prob)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class DnaBertAttention(nn.Module):
    def __init__(self, cfg: DnaBertConfig) -> None:
        super().__init__()
        self.self = DnaBertSelfAttention(cfg)
        self.output = DnaBertSelfOutput(cfg)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return self.output(self.self(x, bias), x)


class DnaBertGatedMLP(nn.Module):
    def __init__(self, cfg: DnaBertConfig) -> None:
        super().__init__()
        self.intermediate_size = cfg.intermediate_size
        self.gated_layers = nn.Linear(cfg.hidden_size, 2 * cfg.intermediate_size, bias=False)
        self.wo = nn.Linear(cfg.intermediate_size, cfg.hidden_size)
        self.layernorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.dropout = nn.Dropout(cfg.hidden_dropout_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, linear = self.gated_layers(x).split(self.intermediate_size, dim=-1)
        h = self.dropout(F.gelu(gate) * linear)
        return self.layernorm(self.wo(h) + x)


class DnaBertLayer(nn.Module):
    def __init__(self, cfg: DnaBertConfig) -> None:
        super().__init__()
        self.attention = DnaBertAttention(cfg)
        self.mlp = DnaBertGatedMLP(cfg)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.attention(x, bias))


class DnaBertEncoder(nn.Module):
    def __init__(self, cfg: DnaBertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(DnaBertLayer(cfg) for _ in range(cfg.num_hidden_layers))
        # Not a buffer: the reference keeps ALiBi out of the state dict, and so must we.
        self.slopes = alibi_slopes(cfg.num_attention_heads)

    def attention_bias(
        self, attention_mask: torch.Tensor | None, dtype: torch.dtype, x: torch.Tensor
    ) -> torch.Tensor:
        """ALiBi distance penalty per head plus the padding mask, shape [b, heads, n, n]
        ([1, heads, n, n] without a mask: a batch without padding adds nothing to it)."""
        n = x.shape[1]
        pos = torch.arange(n, device=x.device)
        distance = (pos[None, :] - pos[:, None]).abs().to(torch.float32)
        slopes = self.slopes.to(x.device)
        alibi = -slopes[:, None, None] * distance[None]  # [heads, n, n]
        if attention_mask is None:
            return alibi[None].to(dtype)
        pad = (1.0 - attention_mask.to(torch.float32)) * MASK_BIAS  # [b, n]
        return (alibi[None] + pad[:, None, None, :]).to(dtype)

    def forward(self, x: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        bias = self.attention_bias(attention_mask, x.dtype, x)
        for layer in self.layer:
            x = layer(x, bias)
        return x


class DnaBertPooler(nn.Module):
    """Kept only so the published state dict (which has ``pooler.dense``) loads strictly."""

    def __init__(self, cfg: DnaBertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.hidden_size)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.dense(hidden[:, 0]))


class DnaBertModel(nn.Module):
    """DNABERT-2/DNABERT-S encoder; ``forward`` returns the last hidden state [b, n, hidden]."""

    def __init__(self, cfg: DnaBertConfig) -> None:
        super().__init__()
        self.config = cfg
        self.embeddings = DnaBertEmbeddings(cfg)
        self.encoder = DnaBertEncoder(cfg)
        self.pooler = DnaBertPooler(cfg)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        hidden = self.encoder(self.embeddings(input_ids), attention_mask)
        if attention_mask is None:  # no padding: nothing to zero
            return hidden
        # The reference unpads and writes exactly zero at padded positions.
        return hidden * attention_mask[..., None].to(hidden.dtype)


def load_dnabert(
    model_dir: str | os.PathLike[str],
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    state: dict[str, torch.Tensor] | None = None,
) -> DnaBertModel:
    """Build the encoder from ``config.json`` and load the weights with ``strict=True``.

    The module is built on the meta device and the weights, read from safetensors (sharded or
    not) straight onto ``device`` in ``dtype``, are assigned to it: no random initialisation,
    no CPU copy, no float32 copy of reduced-precision weights. ``state``: the weights already
    read (``run_weights.WeightPrefetch``), on ``device`` in ``dtype``.
    """
    from .store import load_state

    cfg = DnaBertConfig.from_json(Path(model_dir) / "config.json")
    with torch.device("meta"):
        model = DnaBertModel(cfg)
    model.encoder.slopes = alibi_slopes(cfg.num_attention_heads)  # not a weight: rebuild it
    if state is None:
        state = load_state(model_dir, device, dtype)
    state = {k.removeprefix("bert."): v for k, v in state.items() if not k.startswith("cls.")}
    model.load_state_dict(state, strict=True, assign=True)
    return model.eval()
