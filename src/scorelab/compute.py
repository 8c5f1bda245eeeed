"""How the CPU computes: the kernels and the thread count, which decide a run's bytes.

Measured with ``benchmarks/determinism.py`` (S0's WGAN-GP, 20 steps, on this project's
2-core AVX-512/AMX Xeon): a rerun gives the same bytes; one thread instead of two
changes the losses from step 2 (relative 1.6e-6); oneDNN's AVX2 convolution kernels
instead of its AVX-512/AMX ones change them from step 1 (1.3e-4); MKL's AVX2 code path
changes them from step 3 (1e-5); torch's own kernels (``ATEN_CPU_CAPABILITY``) changed
nothing here. A GAN turns such differences into different music within a few hundred
steps, which is what a fresh clone on another machine showed.

So the ``compute:`` params pin both: ``cpu_kernels: avx2`` makes oneDNN and MKL use
their AVX2 paths (``DNNL_MAX_CPU_ISA``, ``MKL_CBWR=AVX2,STRICT``: MKL's conditional
numerical reproducibility) and torch its AVX2 kernels, which every x86-64 CPU since
2013 runs; ``threads`` fixes the intra-op thread count. On this machine the pinned run
was also faster (16 s against 20 s for 30 steps). ``native`` lets each library pick the
fastest kernels of the CPU, and ``threads: 0`` takes every core: faster on big machines,
identical bytes only on identical machines.

The environment variables are read when a library first computes, so they must be set
before torch runs anything: stages call :func:`pin_cpu` before importing torch, and
``run_info.json`` records what was in force.
"""

from __future__ import annotations

import os

from scorelab.constants import CPU_KERNELS

PINNED_VARIABLES = {k for env in CPU_KERNELS.values() for k in env}


def pin_cpu(compute: dict) -> dict[str, str]:
    """Set the kernel environment of ``compute["cpu_kernels"]``; returns what was set."""
    kernels = compute.get("cpu_kernels", "native")
    if kernels not in CPU_KERNELS:
        raise ValueError(f"compute.cpu_kernels: {kernels!r} is not one of {sorted(CPU_KERNELS)}")
    env = CPU_KERNELS[kernels]
    os.environ.update(env)
    return dict(env)


def apply_threads(compute: dict) -> int:
    """Set torch's intra-op threads from ``compute["threads"]`` (0: leave torch's default).

    Also flushes denormal floats to zero (``torch.set_flush_denormal``; x86 FTZ/DAZ,
    unless ``SCORELAB_KEEP_DENORMALS=1``, which exists to measure it). S4's WGANs clip
    their critic's weights to 0.01, so its LSTM's gradients are tiny, and numbers below
    1.2e-38 take a slow microcode path on x86: the same 250 iterations took 128 s
    against 50 s with a clip of 0.1, and the L2 variant 236 s. Flushing them changes no
    number above 1.2e-38, and gives the same bytes on every x86-64 CPU.
    """
    import torch

    if os.environ.get("SCORELAB_KEEP_DENORMALS") != "1":
        torch.set_flush_denormal(True)
    threads = int(compute.get("threads", 0))
    if threads > 0:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def compute_info() -> dict:
    """What computed this run: threads, torch's kernel level, the pinned environment."""
    import torch

    return {
        "threads": torch.get_num_threads(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "flush_denormal": os.environ.get("SCORELAB_KEEP_DENORMALS") != "1",
        "env": {
            k: os.environ[k] for k in sorted({k for e in CPU_KERNELS.values() for k in e}) if k in os.environ
        },
    }


def pin_cpu_from_file(path: str = "params.yaml") -> dict[str, str]:
    """:func:`pin_cpu` from a params file's ``compute:`` section, read without torch.

    For the first lines of a stage script: torch fixes its kernel level at its first
    operation, and validating params already builds models.
    """
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            compute = (yaml.safe_load(fh) or {}).get("compute") or {}
    except FileNotFoundError:
        return {}
    return pin_cpu(compute)
