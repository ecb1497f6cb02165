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


def test_weights_are_cast_to_the_run_dtype_one_tensor_at_a_time(tmp_path, monkeypatch):
    """Loading never holds the stored-precision model: when each float32 tensor is read,
    no earlier float32 tensor is alive (only run-dtype copies). On a GPU the load's peak is
    the run-dtype model plus one stored tensor, not the whole float32 set plus its cast."""
    import safetensors
    from safetensors.torch import save_file

    from virnucpro_smk.models.store import load_state

    tensors = {f"layer{i}.weight": torch.randn(64, 64) for i in range(6)}
    save_file(tensors, str(tmp_path / "model.safetensors"))
    real_open = safetensors.safe_open
    stored: list[weakref.ref] = []
    alive_when_read: list[int] = []

    class Counting:
        def __init__(self, *args, **kwargs):
            self.inner = real_open(*args, **kwargs)

        def __enter__(self):
            self.handle = self.inner.__enter__()
            return self

        def __exit__(self, *exc):
            return self.inner.__exit__(*exc)

        def keys(self):
            return self.handle.keys()

        def get_tensor(self, key):
            gc.collect()
            alive_when_read.append(sum(1 for ref in stored if ref() is not None))
            tensor = self.handle.get_tensor(key)
            stored.append(weakref.ref(tensor))
            return tensor

    monkeypatch.setattr(safetensors, "safe_open", Counting)
    state = load_state(tmp_path, "cpu", torch.bfloat16)
    assert {v.dtype for v in state.values()} == {torch.bfloat16}
    assert alive_when_read == [0] * 6
    assert all(torch.equal(state[k], v.to(torch.bfloat16)) for k, v in tensors.items())
