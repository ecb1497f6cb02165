"""The precision a model runs in, decided once per model (rule ``check_precision``).

Reduced precision (bf16, else fp16) roughly doubles GPU throughput, but whether a given
model's pooled embeddings survive it is an empirical question. Asking it in every extraction
job would load the model twice per shard; here it is asked once: the TRUE float32 model (TF32
matmuls off) embeds a sample of real-length coding sequences, is freed, the model is loaded
again in the run dtype and embeds the same sample. When every vector keeps a cosine
similarity >= ``MIN_COSINE`` to its float32 twin, the reduced dtype is used; otherwise float32
with TF32 matmuls (the tensor-core path that keeps float32 storage and accumulation). On a CPU
the run dtype is float32 and nothing needs checking.

The result is a small JSON file that every extraction job of the model reads; it carries the
model's identity and commit so a decision for other weights cannot be applied by mistake.
"""

from __future__ import annotations

import gc
import logging
import os
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from .. import __version__
from .embeddings import embed_sequences, load_encoder
from .precision_record import FORMAT, read_precision, torch_dtype, write_precision
from .registry import ModelSpec
from .run_weights import write_run_copy
from .store import model_provenance, stored_dtype

log = logging.getLogger(__name__)

MIN_COSINE = 0.99


def run_dtype(device: str | torch.device, preferred: str = "bfloat16") -> tuple[torch.dtype, str]:
    """The dtype to try on ``device`` and why.

    CPU: float32. CUDA: the registry's ``dtype.cuda`` (``preferred``); ``bfloat16`` falls back
    to float16 on GPUs without bf16; ``float32`` there means "never reduce" (no check).
    """
    device = torch.device(device)
    if device.type != "cuda":
        return torch.float32, "CPU: float32"
    name = torch.cuda.get_device_name(device)
    if preferred == "float32":
        return torch.float32, "registry dtype.cuda: float32"
    if preferred == "float16":
        return torch.float16, f"registry dtype.cuda: float16 on {name}"
    if torch.cuda.is_bf16_supported():
        return torch.bfloat16, f"{name} supports bfloat16"
    return torch.float16, f"{name} has no bfloat16: float16"


def precision_sample(spec: ModelSpec, n: int = 64, chunk_length: int = 300, seed: int = 0):
    """Coding-like sequences of real length for ``spec``'s kind.

    DNA models: ``n`` chunks of ``chunk_length`` bp made of sense codons (GC bias varying
    across the sample), so frame F1 is stop-free; protein models: those frames translated
    (~``chunk_length // 3`` residues), what extraction sees for 300 bp chunks.
    """
    from ..preprocess.frames import translate_chunk
    from ..preprocess.synthetic import SENSE_CODONS, codon_weights

    rng = random.Random(seed)
    dna = []
    for i in range(n):
        bias = 0.5 + 1.5 * i / max(1, n - 1)
        weights = codon_weights(bias)
        body = "".join(rng.choices(SENSE_CODONS, weights=weights, k=chunk_length // 3 - 1))
        dna.append(("ATG" + body + "ACGT")[:chunk_length])
    if spec.kind == "dna":
        return dna
    proteins = [dict(translate_chunk(seq))["F1"] for seq in dna]
    return [p for p in proteins if p]


def _embed_once(
    spec: ModelSpec,
    model_dir: str | os.PathLike[str],
    device: torch.device,
    dtype: torch.dtype,
    seqs: Sequence[str],
) -> torch.Tensor:
    """Load the model in ``dtype``, embed ``seqs``, and free the model before returning.

    The encoder lives only in this frame, so when it returns nothing holds the weights: the
    float32 copy is gone before the reduced-precision copy is loaded, and the check's peak
    is the larger of the two models plus activations (at most float32 + reduced), not both
    plus a leaked one (ESM2 3B: ~28.5 GB before, ~12 GB + activations now).
    """
    encoder = load_encoder(spec, model_dir, str(device), dtype)
    try:
        vectors, _ = embed_sequences(encoder, seqs, progress_seconds=3600)
    finally:
        del encoder
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return vectors


def decide_precision(
    spec: ModelSpec,
    model_dir: str | os.PathLike[str],
    device: str | torch.device,
    sequences: Sequence[str] | None = None,
    classifier: Callable[[torch.Tensor], torch.Tensor] | None = None,
    candidate: torch.dtype | None = None,
    min_cosine: float = MIN_COSINE,
) -> dict[str, Any]:
    """Decide the dtype extraction jobs of ``spec`` use on this kind of device; return the record.

    ``sequences`` defaults to ``precision_sample(spec)``. ``classifier`` (optional) maps this
    model's embeddings to per-row calls; the fraction of calls that flip between float32 and
    the reduced dtype is then recorded (else null). ``candidate`` overrides the dtype to try
    (tests use it to exercise the check on a CPU).
    """

    device = torch.device(device)
    seqs = list(sequences) if sequences is not None else precision_sample(spec)
    if candidate is not None:
        reduced, why = candidate, "requested"
    else:
        reduced, why = run_dtype(device, spec.dtype_for("cuda"))
    record: dict[str, Any] = {
        "format": FORMAT,
        **spec.identity(),
        **model_provenance(spec, model_dir),
        "project_version": __version__,
        "device_type": device.type,
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "stored_dtype": stored_dtype(model_dir),
        "candidate_dtype": str(reduced).removeprefix("torch."),
        "candidate_reason": why,
        "threshold": min_cosine,
        "n_sequences": len(seqs),
        "decided": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if reduced == torch.float32:
        log.info("%s on %s: float32 (%s), no check needed", spec.name, device, why)
        return {
            **record,
            "dtype": "float32",
            "allow_tf32": False,
            "check": "float32, no check needed",
            "min_cosine": None,
            "mean_cosine": None,
            "call_flip_fraction": None,
        }
    log.info("%s on %s: trying %s (%s)", spec.name, device, reduced, why)
    tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False  # the reference is TRUE float32
    try:
        full = _embed_once(spec, model_dir, device, torch.float32, seqs)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = tf32
    low = _embed_once(spec, model_dir, device, reduced, seqs)
    cosine = torch.nn.functional.cosine_similarity(full, low, dim=1)
    worst, mean = float(cosine.min()), float(cosine.mean())
    keep = worst >= min_cosine
    flips = None
    if classifier is not None:
        flips = float((classifier(full) != classifier(low)).float().mean())
    decided = str(reduced).removeprefix("torch.") if keep else "float32"
    # the weights once in the run dtype, beside the verified ones: jobs read half the bytes
    copy = write_run_copy(spec, model_dir, decided) if device.type == "cuda" else None
    log.info(
        "%s: %s vs float32 cosine min %.5f mean %.5f -> %s%s",
        spec.name,
        reduced,
        worst,
        mean,
        decided,
        "" if keep else " with TF32 matmuls",
    )
    return {
        **record,
        "dtype": decided,
        "allow_tf32": not keep,
        "check": f"{record['candidate_dtype']} vs float32 on {len(seqs)} sequences",
        "min_cosine": round(worst, 6),
        "mean_cosine": round(mean, 6),
        "call_flip_fraction": flips,
        "call_flip_note": None if classifier is not None else "no classifier given",
        "run_copy": str(copy) if copy is not None else None,
    }


__all__ = [
    "FORMAT",
    "decide_precision",
    "precision_sample",
    "read_precision",
    "run_dtype",
    "torch_dtype",
    "write_precision",
]
