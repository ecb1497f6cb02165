import pytest
import torch

from virnucpro_smk.envcheck import validate_environment, version_at_least
from virnucpro_smk.errors import EnvironmentCheckError


def test_version_comparison():
    assert version_at_least("2.13.0+cpu", "2.5")
    assert not version_at_least("2.4.1", "2.5")
    assert version_at_least("4.56.0.dev0", "4.56")
    assert not version_at_least("4.55.2", "4.56")


def test_cpu_auto_passes_and_records_cpu():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    report = validate_environment("auto")
    assert report["ok"] and report["device"] == "cpu"
    assert report["sdpa"] is True
    assert "note" in report


def test_cuda_requested_without_gpu_fails_clearly():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(EnvironmentCheckError, match="no CUDA device is visible"):
        validate_environment("cuda")


def test_old_transformers_is_refused(monkeypatch):
    import virnucpro_smk.envcheck as envcheck

    real = envcheck.package_versions
    monkeypatch.setattr(envcheck, "package_versions", lambda: {**real(), "transformers": "4.40.0"})
    with pytest.raises(
        EnvironmentCheckError, match=r"transformers >= 4.56 is required, found 4.40.0"
    ):
        validate_environment("cpu")
