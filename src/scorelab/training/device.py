"""Where to compute. The device is chosen at run time and is never a param (DESIGN.md)."""

from __future__ import annotations

import torch


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """Return ``device`` if given, else CUDA when available, else the CPU.

    Only CPU runs are promised to repeat byte for byte; a GPU run records its device in
    the run info (the stage's job) so a difference is explainable.
    """
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
