"""NVML sampling of a job's own device: mean and peak SM utilization and memory; n/a on CPUs."""

import sys
import time
import types

from virnucpro_smk.runtime.gpu_monitor import GpuMonitor


def test_on_the_cpu_the_figures_are_na():
    with GpuMonitor("cpu") as monitor:
        pass
    assert set(monitor.summary().values()) == {"n/a"}


def test_the_job_samples_its_own_device(monkeypatch):
    """A fake NVML: the job on cuda:1 with CUDA_VISIBLE_DEVICES=4,6 samples node device 6."""
    readings = iter([(50, 1000), (90, 3000), (70, 2000)] + [(70, 2000)] * 1000)
    asked = []

    def handle(index):
        asked.append(index)
        return index

    def rates(_):
        util, mem = next(readings)
        rates.memory = mem
        return types.SimpleNamespace(gpu=util)

    fake = types.SimpleNamespace(
        nvmlInit=lambda: None,
        nvmlShutdown=lambda: None,
        nvmlDeviceGetHandleByIndex=handle,
        nvmlDeviceGetUtilizationRates=rates,
        nvmlDeviceGetMemoryInfo=lambda _: types.SimpleNamespace(used=rates.memory * 2**20),
    )
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")
    with GpuMonitor("cuda:1", interval=0.001) as monitor:
        deadline = time.monotonic() + 10
        while len(monitor.util) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert asked == [6]
    summary = monitor.summary()
    assert summary["sm_util_peak"] == 90 and summary["mem_mib_peak"] == 3000
    # the first three samples are 50, 90, 70 (mean 70); later ones repeat 70
    assert summary["sm_util_mean"] == 70.0
    assert summary["samples"] == len(monitor.util) >= 3
