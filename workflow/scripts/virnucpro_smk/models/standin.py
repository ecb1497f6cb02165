"""Tiny random-weight stand-ins of the three architectures, built locally.

Real weights cannot be downloaded in CI or on offline machines, but every code path (config
parsing, strict state-dict loading, tokenizers, batching, pooling) must still run. A stand-in
has the real architecture class, the real 33-token ESM vocabulary or a small DNA BPE
tokenizer, random weights from a fixed seed, and its own width; its name says ``standin``.
Its files are written through ``io.atomic`` (``atomic_files``), so they get the modes of every
other output (0644 under umask 022), not safetensors' 0600.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import torch

from ..io.atomic import atomic_files
from .dnabert import DnaBertConfig, DnaBertModel
from .esm import ESM_VOCAB
from .registry import ModelSpec
from .store import write_manifest

DNA_SPECIAL_TOKENS = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]


def build_dna_tokenizer(vocab_size: int, seed: int) -> object:
    """A small DNA BPE tokenizer laid out like DNABERT-2's (specials 0-4, [CLS] x [SEP])."""
    from tokenizers import Tokenizer, models, processors, trainers

    rng = random.Random(seed)
    corpus = ["".join(rng.choices("ACGT", k=1000)) for _ in range(200)]
    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=DNA_SPECIAL_TOKENS,
        initial_alphabet=list("ACGTN"),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 1), ("[SEP]", 2)]
    )
    return tokenizer


def build_dnabert_standin(spec: ModelSpec, directory: Path) -> None:
    arch = spec.standin
    seed = int(arch.get("seed", 0))
    tokenizer = build_dna_tokenizer(int(arch.get("vocab", 128)), seed)
    cfg = DnaBertConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=spec.width,
        num_hidden_layers=int(arch.get("layers", 2)),
        num_attention_heads=int(arch.get("heads", 4)),
        intermediate_size=int(arch.get("intermediate", 4 * spec.width)),
    )
    torch.manual_seed(seed)
    model = DnaBertModel(cfg)
    from safetensors.torch import save_file

    config = {
        **cfg.to_dict(),
        "architectures": ["BertModel"],
        "model_type": "bert",
        "_name_or_path": spec.name,
        "standin": True,
    }
    with atomic_files(directory) as staging:
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        save_file(state, staging / "model.safetensors")
        (staging / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        tokenizer.save(str(staging / "tokenizer.json"))


def build_esm_standin(spec: ModelSpec, directory: Path) -> None:
    from transformers import EsmConfig, EsmForMaskedLM

    arch = spec.standin
    seed = int(arch.get("seed", 0))
    cfg = EsmConfig(
        vocab_size=len(ESM_VOCAB),
        hidden_size=spec.width,
        num_hidden_layers=int(arch.get("layers", 2)),
        num_attention_heads=int(arch.get("heads", 4)),
        intermediate_size=int(arch.get("intermediate", 4 * spec.width)),
        position_embedding_type="rotary",
        token_dropout=spec.token_dropout,
        emb_layer_norm_before=False,
        layer_norm_eps=1e-5,
        max_position_embeddings=1026,
        pad_token_id=1,
        mask_token_id=32,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    torch.manual_seed(seed)
    model = EsmForMaskedLM(cfg)
    with atomic_files(directory) as staging:
        model.save_pretrained(staging)
        (staging / "vocab.txt").write_text("\n".join(ESM_VOCAB) + "\n")
        config = json.loads((staging / "config.json").read_text())
        config["_name_or_path"] = spec.name
        config["standin"] = True
        if arch.get("style") == "fast_esm":  # lay the config out as FastPLMs publishes FastESM2
            config.update(model_type="fast_esm", architectures=["FastEsmForMaskedLM"])
        (staging / "config.json").write_text(json.dumps(config, indent=2) + "\n")


def build_standin(spec: ModelSpec, directory: str | os.PathLike[str]) -> Path:
    """Write a stand-in model of ``spec``'s architecture into ``directory``; return its manifest."""
    if not spec.is_standin:
        raise ValueError(f"{spec.name} is not a stand-in model")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if spec.architecture == "dnabert2":
        build_dnabert_standin(spec, directory)
    else:
        build_esm_standin(spec, directory)
    return write_manifest(directory, spec, resolved_revision="standin", standin=dict(spec.standin))
