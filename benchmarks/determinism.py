"""What decides whether two CPU training runs give the same bytes: a probe, not a test.

Trains one variant for a few steps in a fresh process per configuration and compares the
loss log and the checkpoint with a reference run. The configurations change one thing
each: nothing (a rerun), the thread count, and the CPU kernels torch, oneDNN and MKL pick
(forced down to what an AVX2-only machine would run, the way a different machine
would), then everything pinned. It prints, per configuration, whether the log and the
checkpoint are identical and, if not, the first step whose losses differ and by how much.

    python benchmarks/determinism.py                       # s0_wgan_gp_jsb, 20 steps
    python benchmarks/determinism.py --variant s4_lstm_erk --steps 30

Needs the variant's encoded dataset (``dvc repro encode@<dataset>``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RUN = r"""
import sys, json
from pathlib import Path
import torch
from scorelab.params import load_params, variant
from scorelab.pipeline.train import run_train
name, steps, out, threads = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
if threads != "auto":
    torch.set_num_threads(int(threads))
p = load_params(Path("params.yaml"))
data = Path("data/encoded") / variant(p, name)["dataset"]
run_train(p, name, data, out / "model", out / "logs", max_steps=steps, progress=False)
print(json.dumps({"threads": torch.get_num_threads(), "isa": torch.backends.cpu.get_cpu_capability()}))
"""

AVX2 = {"ATEN_CPU_CAPABILITY": "avx2", "DNNL_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2,STRICT"}
CONFIGS = {
    "rerun": ({}, "auto"),
    "1 thread": ({}, "1"),
    "torch kernels AVX2": ({"ATEN_CPU_CAPABILITY": "avx2"}, "auto"),
    "oneDNN AVX2": ({"DNNL_MAX_CPU_ISA": "AVX2"}, "auto"),
    "MKL AVX2 (CBWR)": ({"MKL_CBWR": "AVX2,STRICT"}, "auto"),
    "all AVX2, 1 thread": (AVX2, "1"),
    "all AVX2, 1 thread, rerun": (AVX2, "1"),
}


def run(name: str, steps: int, env: dict, threads: str, out: Path) -> dict:
    res = subprocess.run(
        [sys.executable, "-c", RUN, name, str(steps), str(out), threads],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        sys.exit(res.stderr)
    info = json.loads(res.stdout.strip().splitlines()[-1])
    logs = sorted((out / "logs").glob("*.tsv"))
    info["log"] = b"".join(p.read_bytes() for p in logs)
    info["ckpt"] = hashlib.sha256((out / "model" / "checkpoint.pt").read_bytes()).hexdigest()
    return info


def first_difference(a: bytes, b: bytes) -> str:
    """The first log row whose numbers differ, and the largest relative difference there."""
    ra, rb = a.decode().splitlines(), b.decode().splitlines()
    for la, lb in zip(ra, rb, strict=False):
        if la != lb:
            fa, fb = la.split("\t"), lb.split("\t")
            rel = 0.0
            for x, y in zip(fa[1:], fb[1:], strict=False):
                try:
                    x, y = float(x), float(y)
                except ValueError:
                    continue
                rel = max(rel, abs(x - y) / max(abs(x), abs(y), 1e-12))
            return f"first at step {fa[0]}, relative difference {rel:.1e}"
    return "rows differ in number"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variant", default="s0_wgan_gp_jsb")
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ref_env, ref_threads = {}, "auto"
        ref = run(args.variant, args.steps, ref_env, ref_threads, Path(tmp) / "ref")
        pinned_ref = None
        print(
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
            f"{args.variant}, {args.steps} steps; reference: {ref['threads']} threads, {ref['isa']} kernels"
        )
        print(f"{'configuration':<28}{'threads':>8} {'kernels':<8} {'log':<10}{'checkpoint':<12} where")
        for label, (env, threads) in CONFIGS.items():
            r = run(args.variant, args.steps, env, threads, Path(tmp) / label.replace(" ", "_"))
            base = ref
            if label.endswith("rerun") and label != "rerun":
                base = pinned_ref
            if label == "all AVX2, 1 thread":
                pinned_ref = r
            same_log = r["log"] == base["log"]
            same_ck = r["ckpt"] == base["ckpt"]
            where = "" if same_log else first_difference(base["log"], r["log"])
            against = " (vs the pinned run)" if base is not ref else ""
            print(
                f"{label:<28}{r['threads']:>8} {r['isa']:<8} {'same' if same_log else 'DIFFERS':<10}"
                f"{'same' if same_ck else 'DIFFERS':<12} {where}{against}"
            )


if __name__ == "__main__":
    main()
