"""check_precision holds one model at a time: the float32 copy is freed before the reduced
copy is loaded (measured on the CPU with a stand-in, by the parameter bytes still alive when
each model is loaded). On a GPU this bounds the check's peak by the larger model plus
activations, at most float32 + reduced (ESM2 3B: ~12 GB + activations, under the 28.5 GB
of both copies plus the leaked one before, which ran out of memory on 24 GB cards)."""

import gc
import weakref

import torch

from virnucpro_smk.models import precision


def test_the_float32_model_is_freed_before_the_reduced_one_is_loaded(standins, monkeypatch):
    spec, directory = standins["standin_esm2_64d"]
    loaded: list[weakref.ref] = []
    alive_at_load: list[int] = []
    real_load = precision.load_encoder

    def load(*args, **kwargs):
        gc.collect()
        alive_at_load.append(
            sum(
                sum(p.numel() * p.element_size() for p in ref().parameters())
                for ref in loaded
                if ref() is not None
            )
        )
        encoder = real_load(*args, **kwargs)
        loaded.append(weakref.ref(encoder.model))
        return encoder

    monkeypatch.setattr(precision, "load_encoder", load)
    sample = precision.precision_sample(spec, n=8)
    record = precision.decide_precision(spec, directory, "cpu", sample, candidate=torch.bfloat16)
    assert record["candidate_dtype"] == "bfloat16"
    assert alive_at_load == [0, 0]  # no model bytes alive when the next one loads
    gc.collect()
    assert all(ref() is None for ref in loaded)  # and none left after the check
