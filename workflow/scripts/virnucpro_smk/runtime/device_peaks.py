"""A GPU's bf16 tensor-core peak (TFLOP/s), looked up by its exact device name.

The share of peak a job reached (achieved TFLOP/s over this figure) says how far the GPU was
from busy, so the figure must be the card's own: the H100 SXM and the H100 PCIe differ in
their names only ("NVIDIA H100 80GB HBM3" and "NVIDIA H100 PCIe") and by 989 against 756
TFLOP/s, so a match on "H100" gave the PCIe card the SXM's figure. Names are matched exactly,
as ``torch.cuda.get_device_name`` and NVML report them; any other name gets ``"unknown"``,
never a guess.

Figures: NVIDIA's datasheets, dense (no sparsity) bf16 with float32 accumulation, the path
PyTorch's bf16 matmuls take (the RTX 4090 does 330 with float16 accumulation, 165 with
float32).
"""

from __future__ import annotations

UNKNOWN = "unknown"

#: Dense bf16 tensor-core peak in TFLOP/s by exact device name.
PEAK_BF16_TFLOPS: dict[str, float] = {
    "NVIDIA H100 80GB HBM3": 989.4,  # H100 SXM5
    "NVIDIA H100 PCIe": 756.0,
    "NVIDIA H200": 989.4,  # H200 SXM: the H100 SXM's compute, 141 GB of HBM3e
    "NVIDIA A100-SXM4-40GB": 312.0,
    "NVIDIA A100-SXM4-80GB": 312.0,
    "NVIDIA A100-PCIE-40GB": 312.0,
    "NVIDIA A100 80GB PCIe": 312.0,
    "NVIDIA L40S": 362.1,
    "NVIDIA GeForce RTX 4090": 165.2,
}


def peak_tflops(device_name: str | None) -> float | str:
    """The device's dense bf16 peak in TFLOP/s, or ``"unknown"`` for a name not in the table
    (a CPU, another card, a name spelled otherwise)."""
    return PEAK_BF16_TFLOPS.get((device_name or "").strip(), UNKNOWN)
