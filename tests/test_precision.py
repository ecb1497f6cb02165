"""Which dtype a model is tried in, per device and registry preference (no GPU needed)."""

import pytest
import torch

from virnucpro_smk.models.precision import run_dtype


@pytest.fixture
def fake_gpu(monkeypatch):
    def install(bf16: bool) -> None:
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda *_: "FakeGPU")
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *_: bf16)

    return install


def test_cpu_is_always_float32():
    assert run_dtype("cpu", "bfloat16") == (torch.float32, "CPU: float32")


@pytest.mark.parametrize(
    ("bf16", "preferred", "expected"),
    [
        (True, "bfloat16", torch.bfloat16),
        (False, "bfloat16", torch.float16),  # e.g. V100, T4: no bf16
        (True, "float16", torch.float16),
        (True, "float32", torch.float32),  # the registry opts out of reduced precision
    ],
)
def test_cuda_candidates(fake_gpu, bf16, preferred, expected):
    fake_gpu(bf16)
    dtype, why = run_dtype("cuda:0", preferred)
    assert dtype == expected
    assert why  # the log says which and why
