"""``torch.compile`` of a loaded encoder, decided by measurement (config ``extraction.compile``).

A speed knob only: the compiled model gives the eager model's vectors (within 1e-5 in fp32,
tests/test_compile.py; 1.4e-6 measured at full width), so switching it reruns nothing.

``auto`` (the default) compiles on a CUDA device and keeps the compiled model only when it
agrees with eager on one of the job's own batches, within the precision tolerance the
model's precision decision used (cosine >= 0.99 per vector); a compiled forward that
disagrees, or a compilation that fails, is dropped for eager with a one-line reason in the
log. Why on CUDA only: eager transformer layers are memory-bound there (transformers' bf16
``EsmLayer``: 37 kernel launches and ~122 hidden-sized tensors moved per layer, ~60 % of
FastESM2's layer time in element-wise traffic that inductor fuses; estimated 1.7x for
FastESM2_650, 1.5x for ESM2 3B, README "GPUs"), while on a CPU it measured 1.07-1.18x for
ESM and 0.96-1.12x for DNABERT-S at a cold compile of 13-23 s per job. ``true`` compiles
everywhere without the check, ``false`` never compiles. ``python
benchmarks/bench_compile.py --device cuda --full-size`` measures it on a GPU.

Batches differ in rows and length, so the layers are compiled with dynamic shapes: one graph
serves every batch instead of one compilation per shape. Compilation is lazy in torch; it is
triggered here on small dummy batches covering the cases that make distinct graphs (padded or
not, one row: a size torch specialises), so its time is measured once, as ``compile_seconds``
in the job's stats, not hidden in the job's first batches.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from .encoder import Encoder

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


def _uncompile(model: torch.nn.Module) -> torch.nn.Module:
    """Undo ``maybe_compile``: the layers run eagerly again (their weights are shared)."""
    original = getattr(model, "_orig_mod", None)
    if original is not None:  # torch.compile of the whole model
        return original
    for block in repeated_blocks(model) or ():
        block._compiled_call_impl = None
        for module in block.modules():
            if hasattr(module, "_eager_forward"):
                module.forward = module._eager_forward
                del module._eager_forward
    return model


def _warm_up(encoder: Encoder) -> None:
    """Run the dummy batches that make every graph a job needs (see the module docstring)."""
    ids = torch.full((2, WARMUP_TOKENS), encoder.pad_id, device=encoder.device)
    padded = torch.ones_like(ids)
    padded[1, -1] = 0
    with torch.inference_mode():
        for mask, has_padding in ((padded, True), (torch.ones_like(ids), False)):
            encoder.embed(ids, mask, has_padding)
        encoder.embed(ids[:1], torch.ones_like(ids[:1]), False)


#: ``extraction.compile`` values (YAML also reads on/off as true/false).
SETTINGS = ("auto", True, False)

Probe = tuple[torch.Tensor, torch.Tensor, bool]  # (ids, mask, padded) of one real batch
CompileFn = Callable[[torch.nn.Module, bool], tuple[torch.nn.Module, float]]


def compile_encoder(
    encoder: Encoder,
    setting: bool | str,
    probe: Callable[[], Probe | None] | None = None,
    min_cosine: float | None = None,
    compile_fn: CompileFn = maybe_compile,
) -> tuple[Encoder, float, str]:
    """The encoder as ``setting`` says, the seconds compiling took, and what was decided.

    ``True``: compiled and warmed up, no check; ``False``: eager; ``"auto"``: eager on a CPU,
    else :func:`checked_compile` on the batch ``probe()`` makes (one of the job's own, on the
    device; made only then) with the precision decision's ``min_cosine``. ``compile_fn`` is
    ``maybe_compile``'s signature (tests inject a compiled forward that disagrees).
    """
    if setting not in SETTINGS:
        raise ValueError(f"extraction.compile: {setting!r} is none of auto, true, false")
    if setting is False:
        return encoder, 0.0, "off"
    if setting == "auto":
        if encoder.device.type != "cuda":
            return encoder, 0.0, "auto: eager (not a CUDA device)"
        batch = probe() if probe is not None else None
        if batch is None or min_cosine is None:  # nothing left to embed: nothing to gain
            return encoder, 0.0, "auto: eager (no batch to check)"
        return checked_compile(encoder, batch, min_cosine, compile_fn)
    start = time.perf_counter()
    encoder.model, _ = compile_fn(encoder.model, True)
    _warm_up(encoder)
    seconds = time.perf_counter() - start
    log.info(
        "%s: torch.compile took %.1f s, %d graphs (dynamic shapes: later batches add none)",
        encoder.spec.name,
        seconds,
        compiled_graphs(),
    )
    return encoder, seconds, "on"


def checked_compile(
    encoder: Encoder, probe: Probe, min_cosine: float, compile_fn: CompileFn = maybe_compile
) -> tuple[Encoder, float, str]:
    """Compile, then keep the compiled model only if its vectors for ``probe`` stay within
    ``min_cosine`` of the eager ones (and finite); otherwise, or if compiling fails, run eager
    and say why in one log line."""
    ids, mask, padded = probe
    with torch.inference_mode():
        eager = encoder.embed(ids, mask, padded).float()
    eager_model = encoder.model
    start = time.perf_counter()
    try:
        encoder.model, _ = compile_fn(encoder.model, True)
        _warm_up(encoder)
        with torch.inference_mode():
            compiled = encoder.embed(ids, mask, padded).float()
    except Exception as exc:  # any compiler failure: the job runs eager instead
        encoder.model = _uncompile(eager_model)
        reason = f"compiling failed ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
        return _eager(encoder, start, reason)
    seconds = time.perf_counter() - start
    if not bool(torch.isfinite(compiled).all()):
        encoder.model = _uncompile(eager_model)
        return _eager(encoder, start, "the compiled model gave non-finite vectors")
    cosine = float(torch.nn.functional.cosine_similarity(compiled, eager, dim=1).min())
    if cosine < min_cosine:
        encoder.model = _uncompile(eager_model)
        reason = f"compiled vectors disagree with eager (min cosine {cosine:.6f} < {min_cosine})"
        return _eager(encoder, start, reason)
    log.info(
        "%s: torch.compile kept: %d vectors of a job batch within cosine %.6f of eager "
        "(tolerance %s), compiled in %.1f s, %d graphs",
        encoder.spec.name,
        len(eager),
        cosine,
        min_cosine,
        seconds,
        compiled_graphs(),
    )
    return encoder, seconds, f"auto: compiled (min cosine {cosine:.6f} vs eager)"


def _eager(encoder: Encoder, start: float, reason: str) -> tuple[Encoder, float, str]:
    log.warning("%s: torch.compile dropped, running eager: %s", encoder.spec.name, reason)
    return encoder, time.perf_counter() - start, f"auto: eager ({reason})"


def compiled_graphs() -> int:
    """Graphs torch.compile has made in this process (a count of compilations/recompilations)."""
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])
