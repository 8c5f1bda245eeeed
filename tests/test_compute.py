"""The compute: params pin the CPU kernels and threads before torch computes (see scorelab.compute)."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

from scorelab.compute import CPU_KERNELS, pin_cpu
from scorelab.errors import ParamsError
from scorelab.params import resolve_compute

PROBE = """
import json, sys
from scorelab.compute import pin_cpu_from_file
pin_cpu_from_file(sys.argv[1])
import torch
from scorelab.compute import apply_threads, compute_info
apply_threads({"threads": int(sys.argv[2])})
(torch.randn(64) * 2).sum()
info = compute_info()
info["denormal_times_one"] = float(torch.tensor([1e-40], dtype=torch.float32).mul(1.0)[0])
print(json.dumps(info))
"""


def probe(tmp_path, kernels: str, threads: int) -> dict:
    params = tmp_path / f"{kernels}.yaml"
    params.write_text(f"compute: {{threads: {threads}, cpu_kernels: {kernels}}}\n")
    env_clean = {k: v for k, v in __import__("os").environ.items() if k not in CPU_KERNELS["avx2"]}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(params), str(threads)],
        capture_output=True,
        text=True,
        check=True,
        env=env_clean,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="AVX2 pinning is x86-64 only")
def test_avx2_pins_every_library_and_the_threads_in_a_fresh_process(tmp_path):
    pinned = probe(tmp_path, "avx2", 1)
    assert pinned["torch_cpu_capability"] == "AVX2" and pinned["threads"] == 1
    assert pinned["env"] == {
        "ATEN_CPU_CAPABILITY": "avx2",
        "DNNL_MAX_CPU_ISA": "AVX2",
        "MKL_CBWR": "AVX2,STRICT",
    }
    native = probe(tmp_path, "native", 2)
    assert native["env"] == {} and native["threads"] == 2


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="FTZ/DAZ is x86 here")
def test_stages_flush_denormals_unless_told_to_keep_them(tmp_path, monkeypatch):
    """1e-40 is a float32 denormal: flushed it reads as 0 (S4's WGANs ran 2.4x faster so)."""
    flushed = probe(tmp_path, "avx2", 1)
    assert flushed["flush_denormal"] is True and flushed["denormal_times_one"] == 0.0
    monkeypatch.setenv("SCORELAB_KEEP_DENORMALS", "1")
    kept = probe(tmp_path, "avx2", 1)
    assert kept["flush_denormal"] is False and kept["denormal_times_one"] > 0.0


def test_compute_params_are_checked_and_defaulted():
    assert resolve_compute({}) == {
        "threads": 2,
        "cpu_kernels": "avx2",
        "processes": 1,
        "compile": False,
        "amp": True,
    }
    with pytest.raises(ValueError, match="compute.cpu_kernels"):
        pin_cpu({"cpu_kernels": "avx512"})
    with pytest.raises(ParamsError, match="compute.thread"):
        resolve_compute({"compute": {"thread": 2}})
