"""``extraction.compile``: torch.compile of the encoders is a speed knob with equal vectors.

Runs inductor for real (the CPU backend needs the C compiler the CI image has) on the smallest
stand-in, so it costs about 15 s; the speed figures are benchmarks/bench_compile.py's.
"""

import random
from dataclasses import replace

import torch
from test_embeddings import _extract

from virnucpro_smk.io.embedding_files import read_embeddings
from virnucpro_smk.models.compile import compile_encoder, compiled_graphs, maybe_compile
from virnucpro_smk.models.embeddings import embed_batches, load_encoder, token_budget_batches

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
    path, stats, _ = _extract(spec, directory, tmp_path / "compiled", proteins, compile_model=True)
    assert eager_stats["compile_seconds"] == 0.0 and stats["compile_seconds"] > 0
    assert stats["batches"] > 3
    eager, compiled = read_embeddings(eager_path), read_embeddings(path)
    assert eager.ids == compiled.ids == ids
    torch.testing.assert_close(compiled.matrix, eager.matrix, atol=1e-5, rtol=0)


def test_one_compilation_serves_every_batch_shape(standins):
    """Dynamic shapes: after compile_encoder's warm-up, batches of new sizes compile nothing."""
    spec, directory = standins[NAME]
    torch._dynamo.reset()  # compile here, not reuse graphs an earlier test made
    encoder, seconds = compile_encoder(load_encoder(spec, directory, "cpu"), True)
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
