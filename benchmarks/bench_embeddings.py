"""Model-only ceiling: embedding throughput of full-size architectures with random weights.

This measures the models in one process (no Snakemake, no job start-up, no loading from
disk): an upper bound. What users wait for is measured by bench_workflow.py.

    python benchmarks/bench_embeddings.py [--chunks 512] [--layers N] [--device auto]

For DNABERT-S (768d), ESM2 3B (2560d) and FastESM2_650 (1280d) it builds the real
architecture from its published dimensions with random weights (throughput does not depend on
weight values), embeds the kept frames of synthetic 300-bp chunks with this project's batched
path, and runs the same model the way the original VirNucPro did: DNABERT-S one sequence per
forward in fp32; ESM in fp32 with small batches (fair-esm style, 1024 tokens). It prints
tokens/s, sequences/s, the ratio, peak GPU memory, and achieved TFLOP/s (2 x parameters x
tokens) as a fraction of the device's dense bf16 peak where known.

``--layers`` cuts every model to that many layers (same width) so the script finishes on a
CPU; ratios stay meaningful, absolute figures do not. It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import replace

import torch

from virnucpro_smk.errors import EnvironmentCheckError
from virnucpro_smk.models.batch_plan import BatchTokenizer, DnaTokens, EsmTokens
from virnucpro_smk.models.dnabert import DnaBertConfig, DnaBertModel
from virnucpro_smk.models.embeddings import DTYPES, embed_sequences
from virnucpro_smk.models.encoder import Encoder
from virnucpro_smk.models.esm import ESM_VOCAB, EsmTokenizer
from virnucpro_smk.models.registry import ModelSpec
from virnucpro_smk.models.standin import build_dna_tokenizer
from virnucpro_smk.preprocess.frames import translate_record
from virnucpro_smk.preprocess.synthetic import synthetic_contig
from virnucpro_smk.runtime.config_defaults import with_model_defaults
from virnucpro_smk.runtime.device_peaks import peak_tflops
from virnucpro_smk.runtime.environment import resolve_device


def device_or_exit(name: str) -> str:
    """The benchmark's device, or one line saying why it cannot run (no traceback)."""
    try:
        return resolve_device(name)
    except EnvironmentCheckError as exc:
        raise SystemExit(f"error: {exc}") from None


FULL_SIZE = {
    "dnaberts_768d": dict(hidden=768, layers=12, heads=12, intermediate=3072),
    "esm2_3b_2560d": dict(hidden=2560, layers=36, heads=40, intermediate=10240),
    "fastesm650_1280d": dict(hidden=1280, layers=33, heads=20, intermediate=5120),
}


def workload(n_chunks: int, seed: int = 11) -> tuple[list[str], list[str]]:
    """Kept frames (DNA, protein) of ``n_chunks`` synthetic 300-bp chunks."""
    rng = random.Random(seed)
    dna, prot = [], []
    seq = synthetic_contig(rng, 300 * n_chunks)
    for _cid, _chunk, frames in translate_record("bench", seq, 300):
        for frame in frames:
            dna.append(frame.nucleotide)
            prot.append(frame.protein)
    return dna, prot


def build(
    name: str,
    layers: int | None,
    device: str,
    dtype: torch.dtype,
    budget: int,
    dims: dict[str, int] | None = None,
) -> Encoder:
    """``name``'s architecture with random weights, of ``dims`` (default: the real sizes)."""
    dims = dims or FULL_SIZE[name]
    n_layers = layers or dims["layers"]
    kind = "dna" if name.startswith("dnabert") else "protein"
    spec = ModelSpec(
        name=name,
        kind=kind,
        architecture="dnabert2" if kind == "dna" else "esm2",
        provider="standin",
        source="random-weights",
        width=dims["hidden"],
        **{**with_model_defaults({}), "tokens_per_batch": budget},  # the schema's defaults
    )
    if kind == "dna":
        tokenizer = build_dna_tokenizer(4096, seed=0)
        cfg = DnaBertConfig(
            vocab_size=tokenizer.get_vocab_size(),
            hidden_size=dims["hidden"],
            num_hidden_layers=n_layers,
            num_attention_heads=dims["heads"],
            intermediate_size=dims["intermediate"],
        )
        model = DnaBertModel(cfg)
        tokenize: BatchTokenizer = DnaTokens(tokenizer)
        pad, pooling = tokenizer.token_to_id("[PAD]"), "all_tokens"
    else:
        from transformers import EsmConfig, EsmModel

        cfg = EsmConfig(
            vocab_size=len(ESM_VOCAB),
            hidden_size=dims["hidden"],
            num_hidden_layers=n_layers,
            num_attention_heads=dims["heads"],
            intermediate_size=dims["intermediate"],
            position_embedding_type="rotary",
            token_dropout=True,
            pad_token_id=1,
            mask_token_id=32,
            max_position_embeddings=1026,
            emb_layer_norm_before=False,
        )
        model = EsmModel(cfg, add_pooling_layer=False)
        model.config._attn_implementation = "sdpa"
        esm_tok = EsmTokenizer(1024)
        tokenize = EsmTokens(esm_tok)
        pad, pooling = esm_tok.pad_id, "residues"
    model = model.to(device=device, dtype=dtype).eval()
    return Encoder(spec, model, tokenize, pad, pooling, torch.device(device), dtype)


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for n, p in model.named_parameters() if "embeddings" not in n)


def run(encoder: Encoder, seqs: list[str], one_at_a_time: bool = False) -> dict:
    if encoder.device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    embed_sequences(encoder, seqs[:4])  # warm-up
    start = time.perf_counter()
    if one_at_a_time:
        tokens = 0
        with torch.inference_mode():
            for seq in seqs:
                ids = torch.tensor([encoder.tokenize([seq])[0]], device=encoder.device)
                encoder.hidden(ids, torch.ones_like(ids)).mean(1).cpu()
                tokens += ids.shape[1]
    else:
        _, stats = embed_sequences(encoder, seqs)
        tokens = stats.tokens
    if encoder.device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    flops = 2 * n_params(encoder.model) * tokens
    peak = torch.cuda.max_memory_allocated() / 2**30 if encoder.device.type == "cuda" else None
    return {
        "seconds": seconds,
        "tokens_s": tokens / seconds,
        "seqs_s": len(seqs) / seconds,
        "tflops": flops / seconds / 1e12,
        "peak_gib": peak,
    }


def device_peak(device: str) -> float | None:
    """The card's bf16 peak from the exact device-name table (runtime/device_peaks.py): the
    H100 PCIe has 756 TFLOP/s, not the SXM's 989; a card not in the table has none."""
    if device != "cuda":
        return None
    peak = peak_tflops(torch.cuda.get_device_name())
    return peak if isinstance(peak, float) else None


def fmt(label: str, r: dict, peak: float | None) -> str:
    frac = f" = {100 * r['tflops'] / peak:.1f} % of peak" if peak else ""
    mem = f", peak GPU memory {r['peak_gib']:.2f} GiB" if r["peak_gib"] is not None else ""
    return (
        f"  {label:<40} {r['tokens_s']:>11,.0f} tokens/s {r['seqs_s']:>9,.1f} seqs/s "
        f"{r['tflops']:8.3f} TFLOP/s{frac}{mem}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=512, help="300-bp chunks to embed")
    parser.add_argument("--layers", type=int, default=None, help="cut models to N layers")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--models", nargs="+", default=list(FULL_SIZE))
    parser.add_argument("--budget", type=int, default=None, help="tokens per batch")
    parser.add_argument(
        "--baseline-seqs", type=int, default=128, help="records run the original way (it is slow)"
    )
    args = parser.parse_args()
    device = device_or_exit(args.device)
    torch.manual_seed(0)
    dna, prot = workload(args.chunks)
    peak = device_peak(device)
    where = (
        torch.cuda.get_device_name()
        if device == "cuda"
        else f"CPU ({torch.get_num_threads()} threads)"
    )
    print(
        f"device: {where}; {len(dna)} kept frames from {args.chunks} chunks of 300 bp; "
        f"layers: {args.layers or 'full'}"
    )
    for name in args.models:
        seqs = dna if name.startswith("dnabert") else prot
        fast_dtype = DTYPES["bfloat16"] if device == "cuda" else torch.float32
        budget = args.budget or (65536 if device == "cuda" else 8192)
        enc = build(name, args.layers, device, fast_dtype, budget)
        ours = run(enc, seqs)
        base_seqs = seqs[: args.baseline_seqs]
        enc32 = build(name, args.layers, device, torch.float32, 1024)
        enc32.model.load_state_dict(enc.model.state_dict())
        if name.startswith("dnabert"):
            base = run(enc32, base_seqs, one_at_a_time=True)
            label = "original way: 1 seq/forward, fp32"
        else:
            enc32 = replace(enc32, spec=replace(enc32.spec, tokens_per_batch=1024))
            enc32.model.config._attn_implementation = "eager"
            base = run(enc32, base_seqs)
            label = "original way: fp32, 1024-token batches"
        print(f"{name} ({n_params(enc.model) / 1e6:.0f} M parameters without embeddings)")
        print(fmt(f"batched, {str(fast_dtype).removeprefix('torch.')}", ours, peak))
        print(fmt(label, base, peak))
        print(f"  speed-up: {ours['tokens_s'] / base['tokens_s']:.1f}x (tokens/s)")
        del enc, enc32
        if device == "cuda":
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
