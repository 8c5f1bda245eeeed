"""Where to compute: ``base.device`` (auto | cpu | cuda), resolved at run time.

``auto`` (the default) takes CUDA when torch sees a GPU, else the CPU, so the same
params run on a laptop and on a GPU box. Only CPU runs are promised to repeat byte for
byte; a run records its device and the device's name in ``run_info.json`` (and the
report shows them) so a difference is explainable.

``auto`` must not fall to the CPU silently (issue 21): the train stage prints the
device it chose before any step (:func:`describe`), and :func:`refuse_paper_on_cpu`
stops the ``paper`` profile there unless the user wrote ``base.device: cpu`` themselves:
the papers' sizes cost about 630 CPU core-hours (the issue's estimate), against 7 to 13
GPU-hours.
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


def refuse_paper_on_cpu(requested: str | None, device: torch.device, profile: str) -> None:
    """ParamsError when the ``paper`` profile would train on a CPU nobody chose.

    ``base.device: cpu`` written out is the explicit request; ``auto`` (or nothing) that
    found no GPU is not.
    """
    if profile == "paper" and device.type == "cpu" and requested != "cpu":
        raise ParamsError(
            f"base.profile: paper with base.device: {requested or 'auto'} found no GPU, and the papers' "
            "sizes take hundreds of CPU core-hours (about 630 for every variant); "
            "set base.device: cpu to train them on the CPU anyway, or run on a machine with a GPU"
        )


def describe(requested: str | None, device: torch.device, amp: bool) -> str:
    """One line for the log: the device, its name, its precision, and why it was chosen."""
    why = ""
    if requested in (None, "auto"):
        why = " (base.device: auto; " + (
            "a GPU was found)" if device.type == "cuda" else "torch sees no GPU)"
        )
    precision = "bf16 autocast" if device.type == "cuda" and amp else "float32"
    return f"{device} [{device_name(device)}], {precision}{why}"


def generator_on(device: torch.device, seed: int) -> torch.Generator:
    """A seeded torch generator on ``device``'s kind: on CUDA the GPU's own (Philox), so
    noise, masks and batch indices are drawn where they are used, with no copy and no
    host sync per step (issue 21); on the CPU the CPU one, whose numbers the committed
    runs were made with."""
    if device.type == "cuda":
        return torch.Generator(device=device).manual_seed(seed)
    return torch.Generator().manual_seed(seed)


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
