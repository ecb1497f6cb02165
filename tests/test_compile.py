"""``extraction.compile``: torch.compile of the encoders is a speed knob with equal vectors.

Runs inductor for real (the CPU backend needs the C compiler the CI image has) on the smallest
stand-in, so it costs about 15 s; the speed figures are benchmarks/bench_compile.py's.
"""

import random
from dataclasses import replace

import pytest
import torch
from test_embeddings import _extract

from virnucpro_smk.models.compile import compile_encoder, compiled_graphs, maybe_compile
from virnucpro_smk.models.embeddings import embed_batches, load_encoder, token_budget_batches
from whole_embeddings import read_embeddings

NAME = "standin_fastesm_32d"
AA = "ACDEFGHIKLMNPQRSTVWY"


def _proteins(count=30, seed=5):
    """Lengths 2..150 under a small token budget: batches of many shapes, one of one row."""
    rng = random.Random(seed)
    return ["".join(rng.choices(AA, k=rng.randint(2, 150))) for _ in range(count - 1)] + ["M" * 400]


def test_disabled_returns_the_model_itself():
    model = torch.nn.Linear(2, 2)
    assert maybe_compile(model, False) == (model, 0.0)


def test_compiled_extraction_gives_the_eager_vectors_and_records_compile_time(standins, tmp_path):
    spec, directory = standins[NAME]
    spec = replace(spec, tokens_per_batch=600)
    proteins = _proteins()
    eager_path, eager_stats, ids = _extract(spec, directory, tmp_path / "eager", proteins)
    path, stats, _ = _extract(spec, directory, tmp_path / "compiled", proteins, compile=True)
    assert eager_stats["compile_seconds"] == 0.0 and stats["compile_seconds"] > 0
    assert stats["batches"] > 3
    eager, compiled = read_embeddings(eager_path), read_embeddings(path)
    assert eager.ids == compiled.ids == ids
    torch.testing.assert_close(compiled.matrix, eager.matrix, atol=1e-5, rtol=0)


def test_one_compilation_serves_every_batch_shape(standins):
    """Dynamic shapes: after compile_encoder's warm-up, batches of new sizes compile nothing."""
    spec, directory = standins[NAME]
    torch._dynamo.reset()  # compile here, not reuse graphs an earlier test made
    encoder, seconds, decided = compile_encoder(load_encoder(spec, directory, "cpu"), True)
    assert decided == "on"
    assert seconds > 0
    tokens = encoder.tokenize(_proteins(seed=9))
    batches = token_budget_batches([len(t) for t in tokens], 600)
    shapes = {(len(b), max(len(tokens[i]) for i in b)) for b in batches}
    assert len(shapes) > 3 and min(rows for rows, _ in shapes) == 1
    before = compiled_graphs()
    rows = []
    embed_batches(encoder, tokens, batches, lambda index, vectors: rows.append(index))
    assert compiled_graphs() == before, "a batch shape recompiled the model"
    assert sum(len(r) for r in rows) == len(tokens)


class _LengthCache(torch.nn.Module):
    """Like transformers < 5.6's per-layer ESM rotary module: a Python cache keyed on length."""

    def __init__(self) -> None:
        super().__init__()
        self._seq_len_cached = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2] != self._seq_len_cached:
            self._seq_len_cached = x.shape[-2]
        return x * 2


class _Layer(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear, self.rotary = torch.nn.Linear(4, 4), _LengthCache()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rotary(self.linear(x))


def test_a_module_caching_per_length_stays_eager_so_lengths_do_not_recompile():
    """The per-layer rotary layout (transformers 4.56-5.5, not what CI installs): new lengths
    after the first two compile nothing."""
    model = torch.nn.Module()
    model.encoder = torch.nn.Module()
    model.encoder.layer = torch.nn.ModuleList([_Layer(), _Layer()])
    torch._dynamo.reset()
    maybe_compile(model, True)
    with torch.inference_mode():

        def run(n: int) -> None:
            for layer in model.encoder.layer:
                layer(torch.ones(2, n, 4))

        run(5), run(7)
        before = compiled_graphs()
        for n in (9, 11, 13, 17):
            run(n)
    assert compiled_graphs() == before


class _Compiled(torch.nn.Module):
    """A fake ``torch.compile`` result: the model behind ``_orig_mod`` (as torch's wrapper
    keeps it), its output passed through ``change``."""

    def __init__(self, model, change):
        super().__init__()
        self._orig_mod, self.change = model, change

    def forward(self, *args, **kwargs):
        return self.change(self._orig_mod(*args, **kwargs))


def _probe(encoder):
    tokens = encoder.tokenize(["ACGTTGCA" * 20, "TTGACCA" * 15])
    width = max(len(t) for t in tokens)
    ids = torch.full((2, width), encoder.pad_id)
    mask = torch.zeros_like(ids)
    for row, t in enumerate(tokens):
        ids[row, : len(t)], mask[row, : len(t)] = torch.tensor(t), 1
    return ids, mask, True


def test_auto_drops_a_compiled_forward_that_disagrees_with_eager(standins, caplog):
    """``extraction.compile: auto``: a compiled model whose vectors leave the precision
    tolerance (cosine 0.99) is dropped for eager with a one-line reason; one within it is
    kept; a compiler error falls back too. (A fake compile: inductor's own output agrees.)"""
    from virnucpro_smk.models.compile import checked_compile

    spec, directory = standins["standin_dnabert_48d"]
    encoder = load_encoder(spec, directory, "cpu")
    eager_model, probe = encoder.model, _probe(encoder)
    with torch.inference_mode():
        eager = encoder.embed(*probe)

    def fake(change):
        return lambda model, enabled: (_Compiled(model, change), 0.0)

    encoder, _, decided = checked_compile(encoder, probe, 0.99, fake(lambda h: -h))
    assert encoder.model is eager_model and decided.startswith("auto: eager (compiled vectors")
    assert "min cosine -1.000000 < 0.99" in decided
    assert [r.message.count("\n") for r in caplog.records if "dropped" in r.message] == [0]
    with torch.inference_mode():
        assert torch.equal(encoder.embed(*probe), eager)

    def broken(model, enabled):
        raise RuntimeError("inductor: no C compiler\nmore lines")

    encoder, _, decided = checked_compile(encoder, probe, 0.99, broken)
    assert encoder.model is eager_model and "compiling failed (RuntimeError" in decided

    close = fake(lambda h: h + 1e-4 * torch.sin(torch.arange(h.numel()).view_as(h)))
    encoder, _, decided = checked_compile(encoder, probe, 0.99, close)
    assert isinstance(encoder.model, _Compiled) and decided.startswith("auto: compiled")


def test_auto_is_eager_on_the_cpu_and_true_false_do_what_they_say(standins):
    from virnucpro_smk.models.compile import compile_encoder

    spec, directory = standins["standin_dnabert_48d"]
    encoder = load_encoder(spec, directory, "cpu")
    model = encoder.model

    def never(model, enabled):
        raise AssertionError("compiled on a CPU under auto")

    def no_probe():
        raise AssertionError("the probe batch is made only when it is checked")

    assert compile_encoder(encoder, "auto", no_probe, 0.99, never)[2].startswith("auto: eager")
    assert compile_encoder(encoder, False, no_probe, 0.99, never) == (encoder, 0.0, "off")
    assert encoder.model is model
    with pytest.raises(ValueError, match="none of auto, true, false"):
        compile_encoder(encoder, "yes")
