"""ESM-2 family (ESM2 3B, FastESM2_650) loaded into transformers' native ``EsmModel``.

FastESM2_650 publishes Hugging Face ESM parameter names but a ``model_type: fast_esm``
config that ``AutoModel`` only understands with remote code. So the ``EsmConfig`` is built
here from the config's fields and the weights are loaded into ``EsmModel`` with SDPA
attention, without running any downloaded code.

``token_dropout``: fair-esm (what the original VirNucPro runs) and FastPLMs' current FastESM
scale embeddings by 0.88 / (1 - mask ratio) at inference; ``EsmModel(token_dropout=True)``
reproduces them exactly (tests/test_esm.py, against the FastESM fixture).

Rotary frequencies: transformers keeps them per attention layer up to 5.5 and in one shared
module from 5.6; ``_rebuild_buffers`` fills either layout (``rotary_layout``), so the minimum
version in pyproject.toml (4.56) embeds as the newest does (tests/test_esm_rotary.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from transformers import EsmConfig, EsmModel
from transformers.utils import logging as hf_logging

from ..errors import ModelMissingError

#: The standard 33-token ESM alphabet (fair-esm / Hugging Face ``vocab.txt`` order).
ESM_VOCAB = [
    "<cls>",
    "<pad>",
    "<eos>",
    "<unk>",
    *"LAGVSERTIDPKQNFYMHWCXBUZO",
    ".",
    "-",
    "<null_1>",
    "<mask>",
]

_CONFIG_FIELDS = (
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "hidden_act",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "max_position_embeddings",
    "layer_norm_eps",
    "position_embedding_type",
    "emb_layer_norm_before",
    "pad_token_id",
    "mask_token_id",
    "initializer_range",
)


class EsmTokenizer:
    """Character-level ESM tokenizer: ``<cls>`` + residues + ``<eos>``, unknown -> ``<unk>``.

    Written out (rather than transformers' EsmTokenizer) because it is a dictionary lookup
    and runs in DataLoader workers; tests check it against the reference batch converter.
    """

    def __init__(self, max_residues: int, vocab: list[str] | None = None) -> None:
        self.vocab = list(vocab or ESM_VOCAB)
        self.index = {tok: i for i, tok in enumerate(self.vocab)}
        self.cls_id, self.pad_id = self.index["<cls>"], self.index["<pad>"]
        self.eos_id, self.unk_id = self.index["<eos>"], self.index["<unk>"]
        self.max_residues = max_residues

    @classmethod
    def from_dir(cls, model_dir: str | os.PathLike[str], max_residues: int) -> EsmTokenizer:
        vocab_file = Path(model_dir) / "vocab.txt"
        if vocab_file.is_file():
            vocab = vocab_file.read_text().split()
            if vocab != ESM_VOCAB:
                raise ValueError(f"{vocab_file}: not the standard 33-token ESM vocabulary")
        return cls(max_residues, ESM_VOCAB)

    def encode(self, protein: str) -> list[int]:
        residues = protein[: self.max_residues]
        get, unk = self.index.get, self.unk_id
        return [self.cls_id, *(get(ch, unk) for ch in residues), self.eos_id]


def esm_config_from_dir(model_dir: str | os.PathLike[str], token_dropout: bool) -> EsmConfig:
    """An ``EsmConfig`` from an ESM-2 or FastESM ``config.json`` (any ``model_type``)."""
    raw = json.loads((Path(model_dir) / "config.json").read_text())
    values = {k: raw[k] for k in _CONFIG_FIELDS if k in raw}
    values.setdefault("position_embedding_type", "rotary")
    values.setdefault("mask_token_id", ESM_VOCAB.index("<mask>"))
    values.setdefault("pad_token_id", ESM_VOCAB.index("<pad>"))
    return EsmConfig(**values, token_dropout=token_dropout, is_folding_model=False)


def load_esm(
    model_dir: str | os.PathLike[str],
    token_dropout: bool,
    dtype: torch.dtype = torch.float32,
    attn_implementation: str = "sdpa",
    device: str | torch.device = "cpu",
    state: dict[str, torch.Tensor] | None = None,
) -> EsmModel:
    """Load ESM-2 weights from a local directory into ``EsmModel`` (offline, no remote code).

    The module is built on the meta device; the weights are read from safetensors (sharded
    or not) straight onto ``device`` in ``dtype`` and assigned, so a 3B model never passes
    through the CPU or float32 on its way to a GPU. The two computed buffers (rotary
    frequencies, position ids) are rebuilt on the device in float32 / int64, as
    ``from_pretrained`` makes them. Refuses a checkpoint that leaves encoder weights unset.
    ``state``: the weights already read (``run_weights.WeightPrefetch``), on ``device`` in
    ``dtype``.
    """
    from .store import load_state

    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise ModelMissingError(f"{model_dir}: no config.json")
    config = esm_config_from_dir(model_dir, token_dropout)
    config._attn_implementation = attn_implementation
    previous = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        with torch.device("meta"):
            model = EsmModel(config, add_pooling_layer=False)
        # Contact prediction is never used here; FastESM does not even ship its weights.
        model.contact_head = None
    finally:
        hf_logging.set_verbosity(previous)
    if state is None:
        state = load_state(model_dir, device, dtype)
    state = {
        k.removeprefix("esm."): v
        for k, v in state.items()
        if not k.startswith(("lm_head.", "contact_head.", "esm.contact_head."))
    }
    state = {_legacy_name(k): v for k, v in state.items() if "rotary_embeddings.inv_freq" not in k}
    result = model.load_state_dict(state, strict=False, assign=True)
    _rebuild_buffers(model, torch.device(device))
    missing = [k for k in result.missing_keys if not k.endswith(("inv_freq", "position_ids"))]
    if missing:
        raise ModelMissingError(
            f"{model_dir}: checkpoint lacks {len(missing)} encoder weights, e.g. {missing[:5]}"
        )
    left = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if left:
        raise ModelMissingError(f"{model_dir}: tensors left unset after loading: {left[:5]}")
    return model.eval()


def _legacy_name(key: str) -> str:
    """LayerNorm ``gamma``/``beta`` -> ``weight``/``bias``, as ``from_pretrained`` renames them
    (old checkpoints, and transformers 5's own ``save_pretrained``, use the legacy names)."""
    if key.endswith(".gamma"):
        return key[: -len("gamma")] + "weight"
    if key.endswith(".beta"):
        return key[: -len("beta")] + "bias"
    return key


#: ESM-2's rotary base (fair-esm's; transformers' ``EsmConfig.rope_theta`` default).
ROPE_BASE = 10000.0


def rotary_inv_freq(head_dim: int, base: float = ROPE_BASE) -> torch.Tensor:
    """ESM-2's rotary inverse frequencies ``1 / base ** (2i / head_dim)`` in float32, computed
    as fair-esm and every transformers version compute them (the reference for both layouts)."""
    exponents = torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim
    return 1.0 / (base**exponents)


def rotary_layout(model: torch.nn.Module) -> str:
    """Where this transformers version keeps ESM's rotary frequencies.

    * ``"shared"`` (transformers >= 5.6): one ``EsmRotaryEmbedding`` on the model, built from
      the config (``compute_default_rope_parameters``), whose cos/sin every layer receives;
    * ``"per_layer"`` (4.56 - 5.5): a ``RotaryEmbedding(dim)`` in each self-attention, its
      ``inv_freq`` made in ``__init__`` with base 10000.

    Raises for a model with rotary position embeddings in neither place, so a future layout
    fails at load time rather than embedding without rotation.
    """
    holders = [m for m in model.modules() if isinstance(getattr(m, "inv_freq", None), torch.Tensor)]
    if any(hasattr(m, "compute_default_rope_parameters") for m in holders):
        return "shared"
    if holders:
        return "per_layer"
    raise ModelMissingError(
        f"{type(model).__name__}: no rotary inv_freq buffer found (unknown transformers layout)"
    )


def _rebuild_buffers(model: EsmModel, device: torch.device) -> None:
    """Recompute the buffers that are not weights (left on the meta device by construction).

    Both rotary layouts (``rotary_layout``) are handled; each gets the float32 frequencies
    ``from_pretrained`` would give it.
    """
    layout = rotary_layout(model) if model.config.position_embedding_type == "rotary" else None
    for module in model.modules():
        current = getattr(module, "inv_freq", None)
        if layout == "shared" and hasattr(module, "compute_default_rope_parameters"):
            inv_freq, _ = module.compute_default_rope_parameters(module.config)
        elif layout == "per_layer" and isinstance(current, torch.Tensor):
            inv_freq = rotary_inv_freq(2 * current.shape[-1])
        else:
            inv_freq = None
        if inv_freq is not None:
            module.inv_freq = inv_freq.to(device=device, dtype=torch.float32)
            if hasattr(module, "original_inv_freq"):
                module.original_inv_freq = module.inv_freq
        if isinstance(getattr(module, "position_ids", None), torch.Tensor):
            n = module.position_ids.shape[-1]
            module.position_ids = torch.arange(n, device=device).expand((1, -1))
