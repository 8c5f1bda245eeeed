"""Data-parallel scaling: one process against N torchrun processes (gloo on the CPU, NCCL on GPUs).

For each variant this trains the same number of steps with the same global batch twice,
through the real command (``scorelab train NAME --max-steps S``, which starts itself
again under torchrun when ``compute.processes`` > 1), and prints samples per second and
the efficiency ``(samples/s with N) / (N x samples/s with 1)``. The seconds are the
trainer's own (``train NAME: T s``, printed by rank 0): process start-up and the
rendezvous are left out, since a real run pays them once.

On a CPU the processes share the machine's cores: ``compute.threads`` is the run's total
and each of N processes gets threads / N, so the comparison is one process with all the
threads against N with a share each (what a user with this machine would choose
between). Run after the datasets are encoded (``dvc repro encode@<dataset>``):

    python benchmarks/ddp_scaling.py                       # s4_lstm_erk and s0_wgan_gp_jsb
    python benchmarks/ddp_scaling.py --variants s1_bilstm_gan_jsb --steps 100 --processes 2

This is a measurement, not a test: nothing asserts on its numbers.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def train_seconds(name: str, params: dict, processes: int, steps: int, work: Path, threads: int) -> float:
    """The trainer's seconds for ``steps`` steps of ``name`` with ``processes`` processes
    sharing ``threads`` threads."""
    run_dir = work / f"p{processes}t{threads}"
    run_dir.mkdir()
    (run_dir / "data").mkdir()
    (run_dir / "data" / "encoded").symlink_to(REPO / "data" / "encoded", target_is_directory=True)
    p = {**params, "compute": {**params["compute"], "processes": processes, "threads": threads}}
    (run_dir / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
    scorelab = Path(sys.executable).parent / "scorelab"
    proc = subprocess.run(
        [str(scorelab), "train", name, "--max-steps", str(steps)],
        cwd=run_dir,
        capture_output=True,
        text=True,
        env={**os.environ, "TQDM_DISABLE": "1"},
    )
    if proc.returncode != 0:
        raise SystemExit(f"{name} with {processes} processes failed:\n{proc.stderr[-3000:]}")
    found = re.search(rf"train {re.escape(name)}: ([0-9.]+) s on (.+)", proc.stdout)
    if not found:
        raise SystemExit(f"no timing line in the output of {name}:\n{proc.stdout[-2000:]}")
    return float(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="*", default=["s4_lstm_erk", "s0_wgan_gp_jsb"])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--params", type=Path, default=REPO / "params.yaml")
    args = parser.parse_args()

    from scorelab.params import load_params, resolve_train
    from scorelab.training.device import device_name, pick_device

    params = load_params(args.params)
    device = pick_device(params["base"].get("device", "auto"))
    n, total = args.processes, int(params["compute"]["threads"]) or os.cpu_count() or 1
    print(f"device {device} ({device_name(device)}), {os.cpu_count()} cores visible, torch threads below")
    print("same machine: 1 process with all the threads against N sharing them (what to choose here);")
    print("same threads per process: 1 x 1 thread against N x 1 (the data-parallel scaling itself)")
    print(f"{'variant':22} {'mode':26} {'batch':>5} {'steps':>5} {'1 proc samples/s':>17} "
          f"{f'{n} procs samples/s':>18} {'speed-up':>8} {'efficiency':>10}")  # fmt: skip
    for name in args.variants:
        batch = int(resolve_train(params, name).get("batch_size", 1))
        for mode, one_threads, many_threads in (
            (f"same machine ({total} threads)", total, total),
            ("same threads per process (1)", 1, n),
        ):
            with tempfile.TemporaryDirectory() as tmp:
                one = train_seconds(name, params, 1, args.steps, Path(tmp), one_threads)
                many = train_seconds(name, params, n, args.steps, Path(tmp), many_threads)
            sps1, spsn = args.steps * batch / one, args.steps * batch / many
            print(
                f"{name:22} {mode:26} {batch:5d} {args.steps:5d} {sps1:17.1f} {spsn:18.1f} "
                f"{spsn / sps1:8.2f} {spsn / sps1 / n:10.2f}"
            )


if __name__ == "__main__":
    main()
