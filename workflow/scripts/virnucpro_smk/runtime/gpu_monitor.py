"""GPU use measured, not inferred: a GPU job samples NVML on its own device about once a second.

SM utilization (the share of time a kernel ran, NVML's ``gpu`` rate) and memory used, mean and
peak, over the job's GPU phase (``summary``), and the mean utilization of the steady state
alone (``steady_util_mean``: from the first batch to the end of the last, so the model load
and the final writes, which the job's timers report, do not dilute it). It is what the
benchmark and the comparison report show as "GPU busy"; the job's own timers (load, waiting
for input, compute, write) say where the rest went. On a CPU, or without NVML, the figures
are ``"n/a"``.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from .gpu_slots import visible_devices

log = logging.getLogger(__name__)

NA = "n/a"


class GpuMonitor:
    """Sample one device in a background thread while the block runs.

    ``device`` is the job's torch device (``cpu`` or ``cuda:<i>``, ``i`` counted among the
    visible devices, as gpu_slots gives it).
    """

    def __init__(self, device: str, interval: float = 1.0) -> None:
        self.device, self.interval = device, interval
        self.util: list[float] = []
        self.mem_mib: list[float] = []
        self.times: list[float] = []  # time.perf_counter() of each sample
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._handle: Any = None

    def __enter__(self) -> GpuMonitor:
        if not self.device.startswith("cuda"):
            return self
        try:
            import pynvml

            pynvml.nvmlInit()
            index = int(self.device.partition(":")[2] or 0)
            node_id = visible_devices()[index]
            if node_id.startswith(("GPU-", "MIG-")):
                self._handle = pynvml.nvmlDeviceGetHandleByUUID(node_id)
            else:
                self._handle = pynvml.nvmlDeviceGetHandleByIndex(int(node_id))
        except Exception as exc:  # no NVML: the figures stay n/a, the job runs on
            log.warning("GPU monitor: NVML unavailable on %s (%s)", self.device, exc)
            return self
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        import pynvml

        while not self._stop.is_set():
            try:
                rates = pynvml.nvmlDeviceGetUtilizationRates(self._handle)
                memory = pynvml.nvmlDeviceGetMemoryInfo(self._handle)
                self.times.append(time.perf_counter())
                self.util.append(float(rates.gpu))
                self.mem_mib.append(memory.used / 2**20)
            except Exception:  # a transient NVML error loses one sample
                pass
            self._stop.wait(self.interval)

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            try:
                import pynvml

                pynvml.nvmlShutdown()
            except Exception:
                pass

    def steady_util_mean(self, start: float | None, end: float | None) -> float | str:
        """Mean SM utilization (%) of the samples taken between ``start`` and ``end``
        (``time.perf_counter()`` values: the first batch and the end of the last), or ``n/a``
        without such samples (a CPU, no NVML, a window shorter than the sampling interval)."""
        if start is None or end is None:
            return NA
        window = [u for t, u in zip(self.times, self.util, strict=False) if start <= t <= end]
        return round(sum(window) / len(window), 1) if window else NA

    def summary(self) -> dict[str, Any]:
        """Mean and peak SM utilization (%) and memory used (MiB); ``n/a`` without samples."""
        if not self.util:
            return {"sm_util_mean": NA, "sm_util_peak": NA, "mem_mib_mean": NA, "mem_mib_peak": NA}
        return {
            "sm_util_mean": round(sum(self.util) / len(self.util), 1),
            "sm_util_peak": max(self.util),
            "mem_mib_mean": round(sum(self.mem_mib) / len(self.mem_mib), 1),
            "mem_mib_peak": round(max(self.mem_mib), 1),
            "samples": len(self.util),
        }
