"""Where to compute: ``base.device`` (auto | cpu | cuda), resolved at run time.

``auto`` (the default) takes CUDA when torch sees a GPU, else the CPU, so the same
params run on a laptop and on a GPU box. Only CPU runs are promised to repeat byte for
byte; a run records its device and the device's name in ``run_info.json`` (and the
report shows them) so a difference is explainable.
"""

from __future__ import annotations

import platform

import torch

from scorelab.errors import ParamsError

DEVICES = ("auto", "cpu", "cuda")


def pick_device(device: str | torch.device | None = None, local_rank: int = 0) -> torch.device:
    """The torch device for ``device`` (None or ``auto``: CUDA when available, else the CPU).

    Under torchrun each worker takes the GPU of its ``local_rank``.

    Raises
    ------
    ParamsError
        ``cuda`` asked for on a machine where torch sees no GPU.
    """
    if isinstance(device, torch.device):
        return device
    if device in (None, "auto"):
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        if not torch.cuda.is_available():
            raise ParamsError("base.device: cuda, but torch sees no GPU on this machine (use auto or cpu)")
        return torch.device("cuda", local_rank % max(torch.cuda.device_count(), 1))
    if device == "cpu":
        return torch.device("cpu")
    return torch.device(device)  # an explicit torch device string ("cuda:1") from code or tests


def device_name(device: torch.device) -> str:
    """The GPU's name on CUDA, else the CPU's model name (Linux), else the machine type."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
