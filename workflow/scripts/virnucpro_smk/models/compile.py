"""Optional ``torch.compile`` of a loaded encoder (config key ``extraction.compile``).

A speed knob only: the compiled model gives the eager model's vectors (within 1e-5 in fp32,
tests/test_compile.py; 1.4e-6 measured at full width), so switching it reruns nothing. Off by
default: on the CPU it measured 1.07-1.18x for ESM, 0.96-1.12x for DNABERT-S, at a cold
compile of 13-23 s per job that small jobs (stand-in runs, tests) never pay back, and the GPU,
where extraction runs, is not measured yet: ``python benchmarks/bench_compile.py --device
cuda --full-size`` gives that figure.

Batches differ in rows and length, so the layers are compiled with dynamic shapes: one graph
serves every batch instead of one compilation per shape. Compilation is lazy in torch; it is
triggered here on small dummy batches covering the cases that make distinct graphs (padded or
not, one row: a size torch specialises), so its time is measured once, as ``compile_seconds``
in the job's stats, not hidden in the job's first batches.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from .embeddings import Encoder

log = logging.getLogger(__name__)

#: Tokens per dummy row used to trigger compilation: a length no model dimension equals (head
#: counts, head widths), else torch assumes the two equal (duck sizing) and recompiles on the
#: first real batch (12, DNABERT-S's head count, did).
WARMUP_TOKENS = 29


def repeated_blocks(model: torch.nn.Module) -> torch.nn.ModuleList | None:
    """The encoder's layers (``model.encoder.layer``: EsmModel and DnaBertModel), if any."""
    layers = getattr(getattr(model, "encoder", None), "layer", None)
    return layers if isinstance(layers, torch.nn.ModuleList) and len(layers) else None


def maybe_compile(
    model: torch.nn.Module, enabled: bool, dynamic: bool = True
) -> tuple[torch.nn.Module, float]:
    """The model with ``torch.compile`` applied when ``enabled`` (as is otherwise), and the
    seconds spent here (0.0 when disabled).

    An encoder's identical layers are compiled one by one, in place (``Module.compile``):
    they share one graph, so compile time is that of one layer, not of 33-36 (FastESM2_650
    at full depth on the CPU: 20 s instead of 129 s, at the same speed); embeddings, masks and
    pooling stay eager. A model without such layers is compiled whole. torch compiles on the
    first call, so the seconds are those of wrapping only; ``compile_encoder`` also runs the
    first calls.
    """
    if not enabled:
        return model, 0.0
    start = time.perf_counter()
    blocks = repeated_blocks(model)
    if blocks is None:
        model = torch.compile(model, dynamic=dynamic)
    else:
        for block in blocks:
            _keep_length_caches_eager(block)
            block.compile(dynamic=dynamic)
    return model, time.perf_counter() - start


def _keep_length_caches_eager(block: torch.nn.Module) -> None:
    """Run transformers < 5.6's per-layer ESM rotary module eagerly inside the compiled layer.

    It caches its cos/sin tables in Python attributes keyed on the sequence length, which
    torch guards on: every new length would recompile the layer. Eager, it costs a graph
    break per layer and compiles once (tests/test_compile.py under 4.56).
    """
    for module in block.modules():
        if hasattr(module, "_seq_len_cached") and not hasattr(module, "_eager_forward"):
            module._eager_forward = module.forward
            module.forward = torch.compiler.disable(module.forward)


def compile_encoder(encoder: Encoder, enabled: bool, dynamic: bool = True) -> tuple[Encoder, float]:
    """The encoder with its model compiled (``maybe_compile``) and compiled now, and the
    seconds that took (0.0 when disabled). The dummy batches run under inference mode, as
    extraction does, and cover the cases that make distinct graphs (two rows with and without
    padding, one row), so the job's batches reuse them."""
    if not enabled:
        return encoder, 0.0
    start = time.perf_counter()
    encoder.model, _ = maybe_compile(encoder.model, True, dynamic)
    ids = torch.full((2, WARMUP_TOKENS), encoder.pad_id, device=encoder.device)
    padded = torch.ones_like(ids)
    padded[1, -1] = 0
    with torch.inference_mode():
        for mask in (padded, torch.ones_like(ids), torch.ones_like(ids[:1])):
            encoder.embed(ids[: len(mask)], mask)
    seconds = time.perf_counter() - start
    log.info("%s: torch.compile (dynamic=%s) took %.1f s", encoder.spec.name, dynamic, seconds)
    return encoder, seconds


def compiled_graphs() -> int:
    """Graphs torch.compile has made in this process (a count of compilations/recompilations)."""
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])
