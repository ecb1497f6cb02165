import pytest
import torch

from virnucpro_smk.errors import EnvironmentCheckError
from virnucpro_smk.runtime.environment import validate_environment, version_at_least


def test_version_comparison():
    assert version_at_least("2.13.0+cpu", "2.5")
    assert not version_at_least("2.4.1", "2.5")
    assert version_at_least("4.56.0.dev0", "4.56")
    assert not version_at_least("4.55.2", "4.56")


def test_minimum_versions_agree_with_pyproject():
    """validate_environment refuses exactly what pip would: the same minimums."""
    import tomllib

    from conftest import ROOT
    from virnucpro_smk.runtime.environment import MIN_VERSIONS

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for name, minimum in MIN_VERSIONS.items():
        assert f"{name}>={minimum}" in deps


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
    with pytest.raises(EnvironmentCheckError, match="device is 'cuda' but CUDA is not usable"):
        validate_environment("cuda")


def _no_cuda(monkeypatch, cuda_build="12.4", driver=True, visible=None):
    import virnucpro_smk.runtime.environment as envcheck

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", cuda_build)
    fake = envcheck.Path("/proc/self/status" if driver else "/nonexistent/nvidia/version")
    monkeypatch.setattr(envcheck, "NVIDIA_DRIVER", fake)
    if visible is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)


@pytest.mark.parametrize(
    ("setup", "cause"),
    [
        ({"cuda_build": None}, r"this torch build \(.*\) has no CUDA support"),
        ({"visible": ""}, "CUDA_VISIBLE_DEVICES is '': no GPU was assigned to this job"),
        ({"driver": False}, "no NVIDIA driver is loaded on this machine"),
        ({}, "cannot initialise CUDA with this driver"),
    ],
)
def test_a_gpu_job_never_silently_runs_on_the_cpu(monkeypatch, setup, cause):
    from virnucpro_smk.runtime.environment import resolve_device

    _no_cuda(monkeypatch, **setup)
    with pytest.raises(EnvironmentCheckError, match=cause) as err:
        resolve_device("auto", gpu_requested=1)
    message = str(err.value)
    assert "\n" not in message and "the job was given gpu=1" in message
    assert message.endswith("set device: cpu to run on the CPU on purpose")
    with pytest.raises(EnvironmentCheckError, match=cause):
        resolve_device("cuda", gpu_requested=1)
    # what still runs on the CPU: device cpu, and auto for a job that was given no GPU
    assert resolve_device("cpu", gpu_requested=1) == "cpu"
    assert resolve_device("auto", gpu_requested=0) == "cpu"
    assert resolve_device("auto") == "cpu"  # outside Snakemake (benchmarks): best available


def test_auto_with_a_gpu_and_cuda_resolves_to_cuda(monkeypatch):
    from virnucpro_smk.runtime.environment import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto", gpu_requested=1) == "cuda"
    assert resolve_device("auto", gpu_requested=0) == "cpu", "no GPU granted: none used"


def test_gpu_request_at_dag_time(monkeypatch):
    import virnucpro_smk.runtime.environment as envcheck

    monkeypatch.setattr(envcheck, "NVIDIA_DRIVER", envcheck.Path("/proc/self/status"))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert [envcheck.gpu_request(d) for d in ("auto", "cuda", "cpu")] == [1, 1, 0]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert envcheck.gpu_request("auto") == 0
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    monkeypatch.setattr(envcheck, "NVIDIA_DRIVER", envcheck.Path("/nonexistent"))
    assert [envcheck.gpu_request(d) for d in ("auto", "cuda", "cpu")] == [0, 1, 0]
    with pytest.raises(EnvironmentCheckError, match="device must be one of"):
        envcheck.gpu_request("gpu")


def test_validation_fails_fast_for_a_gpu_job_without_cuda(monkeypatch):
    _no_cuda(monkeypatch, driver=False)
    with pytest.raises(EnvironmentCheckError, match="no NVIDIA driver"):
        validate_environment("auto", gpu_requested=1)
    assert validate_environment("auto", gpu_requested=0)["device"] == "cpu"


def test_old_transformers_is_refused(monkeypatch):
    import virnucpro_smk.runtime.environment as envcheck

    real = envcheck.package_versions
    monkeypatch.setattr(envcheck, "package_versions", lambda: {**real(), "transformers": "4.40.0"})
    with pytest.raises(
        EnvironmentCheckError, match=r"transformers >= 4.56 is required, found 4.40.0"
    ):
        validate_environment("cpu")
