"""For the first person with a GPU: one paper-size step of every variant on CUDA, DDP, throughput.

What this machine could not check (issue 21) and this script does, in one run of at most
about ten minutes on one modern GPU:

- one paper-size training step of every variant of params.yaml on ``cuda`` under bf16
  autocast (LSTMs with the bundled cuDNN in bf16, WGAN-GP's double backward on CUDA,
  channels-last convolutions), and that it wrote its checkpoint;
- the training throughput of each variant at paper size: steps per second and samples
  per second over ``--steps`` steps after the first (which pays for cuDNN's autotuning),
  and the peak GPU memory;
- with two GPUs or more, a two-process data-parallel run (``compute.processes: 2``,
  NCCL for CUDA tensors, gloo for CPU ones) of S0 through the real ``scorelab train``.

The data are hand-written four-voice pieces encoded by each dataset's own codec (the
tests' tiny_datasets), so nothing needs downloading and ``dvc repro`` need not have run.

    python benchmarks/gpu_check.py                      # every variant, 10 steps each
    python benchmarks/gpu_check.py --variants s0_wgan_gp_jsb --steps 20

It prints one table; send it back as the README's GPU section says. ``--device cpu``
runs the same checks on the CPU (a dry run of the script itself, at the sizes of
``--profile``, default ``paper``).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # tiny_datasets: the hand-written pieces


def step_times(params: dict, name: str, data: Path, out: Path, steps: int) -> tuple[list[float], Path]:
    """Wall-clock end of each step of ``name`` (run_train, ``steps`` steps), and the checkpoint."""
    import torch

    from scorelab.pipeline.train import run_train
    from scorelab.training import run as run_module

    ends: list[float] = []
    real = run_module.Run.steps

    def timed(self, total, every, state):
        for step in real(self, total, every, state):
            yield step
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            ends.append(time.perf_counter())

    run_module.Run.steps = timed
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the stage's own lines would split the table
            ckpt = run_train(params, name, data, out / "model", out / "logs", max_steps=steps, progress=False)
    finally:
        run_module.Run.steps = real
    return ends, ckpt


def batch_of(params: dict, name: str) -> int:
    from scorelab.params import resolve_train

    return int(resolve_train(params, name).get("batch_size", 1))


def ddp_check(params: dict, datasets: dict[str, Path], root: Path) -> str:
    """Two processes of S0 through ``scorelab train`` (torchrun, NCCL + gloo); one line."""
    import yaml

    name = "s0_wgan_gp_jsb"
    work = root / "ddp"
    (work / "data" / "encoded").mkdir(parents=True)
    dataset = params["variants"][name]["dataset"]
    (work / "data" / "encoded" / dataset).symlink_to(datasets[dataset])
    p = copy.deepcopy(params)
    p["compute"]["processes"] = 2
    (work / "params.yaml").write_text(yaml.safe_dump(p))
    scorelab = str(Path(sys.executable).parent / "scorelab")  # the venv's console script
    cmd = [scorelab, "train", name, "--params", "params.yaml", "--max-steps", "5"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        return f"DDP 2 processes: FAILED (exit {proc.returncode}): {' | '.join(tail)}"
    ok = (work / "models" / name / "checkpoint.pt").exists()
    return f"DDP 2 processes: {'ok' if ok else 'no checkpoint'}, 5 steps of {name} in {seconds:.1f} s"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    ap.add_argument("--profile", default="paper")
    ap.add_argument(
        "--steps", type=int, default=10, help="steps per variant (throughput over all but the first)"
    )
    ap.add_argument("--variants", nargs="*", help="default: every variant of params.yaml")
    ap.add_argument("--ddp", action="store_true", help="with --device cpu: the 2-process run on gloo too")
    args = ap.parse_args()

    import torch

    from scorelab.conf import compose
    from scorelab.validation import validate
    from tiny_datasets import encode_datasets

    if args.device == "cuda" and not torch.cuda.is_available():
        print("gpu_check: torch sees no GPU here (use --device cpu for a dry run of this script)")
        return 2
    params = compose(REPO / "conf")
    params["base"].update(profile=args.profile, device=args.device)
    validate(params)
    names = args.variants or list(params["variants"])
    cuda = args.device == "cuda"
    print(
        f"scorelab gpu_check, {time.strftime('%Y-%m-%d')}, profile {args.profile}, "
        f"{args.steps} steps per variant"
    )
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, "
          f"python {platform.python_version()}")  # fmt: skip
    if cuda:
        gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        print(f"GPUs: {len(gpus)} x {gpus[0]}; bf16 supported: {torch.cuda.is_bf16_supported()}")
    root = Path(tempfile.mkdtemp(prefix="gpu_check_"))
    wanted = {params["variants"][n]["dataset"] for n in [*names, "s0_wgan_gp_jsb"]}
    some = {**params, "datasets": {k: v for k, v in params["datasets"].items() if k in wanted}}
    datasets = encode_datasets(some, root / "data", train_pieces=72)
    print()
    print("| variant | one step | s/step | samples/s | peak GPU MB |")
    print("|---|---|---|---|---|")
    t_all = time.perf_counter()
    for name in names:
        data = datasets[params["variants"][name]["dataset"]]
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        try:
            ends, ckpt = step_times(params, name, data, root / "runs" / name, args.steps)
            ok = "ok" if Path(ckpt).exists() else "no checkpoint"
            if len(ends) > 1:
                per = (ends[-1] - ends[0]) / (len(ends) - 1)
                rate = f"{per:.3f} | {batch_of(params, name) / per:.0f}"
            else:
                rate = "- | -"
        except Exception as exc:  # report every variant, whatever one of them does
            ok = f"FAILED: {type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}"
            rate = "- | -"
            traceback.print_exc(file=sys.stderr)
        peak = f"{torch.cuda.max_memory_allocated() / 2**20:.0f}" if cuda else "-"
        print(f"| {name} | {ok} | {rate} | {peak} |", flush=True)
    print()
    if (cuda and torch.cuda.device_count() >= 2) or (not cuda and args.ddp):
        print(ddp_check(params, datasets, root))
    elif cuda:
        print("DDP 2 processes: not run (one GPU)")
    print(
        f"total {time.perf_counter() - t_all:.0f} s; OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '')}"
    )
    print(json.dumps({"host": platform.node(), "machine": platform.machine()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
