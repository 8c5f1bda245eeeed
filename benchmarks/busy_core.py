"""Training beside a busy core: each variant's speed quiet and with one CPU-bound process
running, for each OpenMP wait policy, in one run.

torch's OpenMP threads spin-wait for each other between parallel regions. On a 2-core
machine with one other busy process, one of the two threads keeps losing its core and
the other spins until it is back: S0 went from 3.3 to 0.11 iterations per second (issue
20). ``OMP_WAIT_POLICY=PASSIVE`` makes a waiting thread sleep instead. This script
trains ``--steps`` steps of each variant through the real command (``scorelab train NAME
--max-steps S``), quiet and loaded, under each way of waiting (:data:`POLICIES`: torch's
default, what scorelab sets, PASSIVE, short spins), and prints the trainer's own seconds, the ratio
quiet/loaded (the speed kept beside a busy process) and each policy's quiet time over
the default's (what it costs on a quiet machine). The busy process is a ``nice -n 19``
Python loop in its own session, as in the issue: a browser or an IDE runs in another
session than the terminal, and with the kernel's autogroup scheduling
(``/proc/sys/kernel/sched_autogroup_enabled``, on by default on desktop Linux) a nice
value only ranks processes inside one session, so the loop takes a full core's share
whatever its nice value. Started from this script's own session, the same loop did not
slow S0 at all (15.1 s quiet, 13.5 s beside it, with OMP_WAIT_POLICY=ACTIVE).

Run after the datasets are encoded (``dvc repro encode@jsb_roll encode@jsb_piano
encode@erk_tokens``), with nothing else running:

    python benchmarks/busy_core.py
    python benchmarks/busy_core.py --variants s0_wgan_gp_jsb --steps 20

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
BUSY = "while True: pass"
# How torch's OpenMP threads wait. "default": as torch runs unless told (libgomp spins
# 300,000 rounds, then sleeps); "scorelab": what scorelab.process sets when the
# environment sets nothing (PASSIVE with GOMP_SPINCOUNT=1000, a short spin, then sleep);
# "PASSIVE": sleep at once; "spin<N>": libgomp's default policy with an N-round spin.
# Every case starts from an environment without OMP_WAIT_POLICY and GOMP_SPINCOUNT, then
# sets its own: "default"'s empty policy stops the stage from choosing.
POLICIES = {
    "default": {"OMP_WAIT_POLICY": ""},
    "scorelab": {},
    "PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
    "spin10k": {"OMP_WAIT_POLICY": "", "GOMP_SPINCOUNT": "10000"},
    "spin1k": {"OMP_WAIT_POLICY": "", "GOMP_SPINCOUNT": "1000"},
    "spin100": {"OMP_WAIT_POLICY": "", "GOMP_SPINCOUNT": "100"},
}


def train_seconds(name: str, params: dict, steps: int, work: Path, policy: str) -> float:
    """The trainer's own seconds for ``steps`` steps of ``name`` under ``policy``."""
    run_dir = Path(tempfile.mkdtemp(dir=work))
    (run_dir / "data").mkdir()
    (run_dir / "data" / "encoded").symlink_to(REPO / "data" / "encoded", target_is_directory=True)
    (run_dir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    scorelab = Path(sys.executable).parent / "scorelab"
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update({"TQDM_DISABLE": "1", **POLICIES[policy]})
    proc = subprocess.run(
        [str(scorelab), "train", name, "--max-steps", str(steps)],
        cwd=run_dir,
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{name} ({policy}) failed:\n{proc.stderr[-3000:]}")
    found = re.search(rf"train {re.escape(name)}: ([0-9.]+) s on", proc.stdout)
    if not found:
        raise SystemExit(f"no timing line in the output of {name}:\n{proc.stdout[-2000:]}")
    return float(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--variants", nargs="*", default=["s0_wgan_gp_jsb", "s1_cnn_lstm_gan_jsb", "s4_lstm_erk"]
    )
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument(
        "--variant-steps",
        nargs="*",
        default=["s1_cnn_lstm_gan_jsb=6"],
        help="NAME=STEPS for a variant whose step is long (S1's CNN-LSTM: ~3 s quiet, ~25x that loaded)",
    )
    parser.add_argument(
        "--policies", nargs="*", default=["default", "scorelab", "PASSIVE"], choices=list(POLICIES)
    )
    parser.add_argument("--repeat", type=int, default=2, help="quiet runs per case (the fastest counts)")
    parser.add_argument("--params", type=Path, default=REPO / "params.yaml")
    args = parser.parse_args()
    params = yaml.safe_load(args.params.read_text())
    print(
        f"{os.cpu_count()} cores visible; quiet: fastest of {args.repeat}; seconds are the trainer's own",
        flush=True,
    )
    print(f"{'variant':22} {'steps':>5} {'policy':8} {'quiet s':>8} {'loaded s':>9} {'kept':>6}")
    quiet_of: dict[tuple[str, str], float] = {}
    steps_of = {k: int(v) for k, v in (x.split("=") for x in args.variant_steps)}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.variants:
            steps = steps_of.get(name, args.steps)
            for policy in args.policies:
                quiet = min(train_seconds(name, params, steps, Path(tmp), policy) for _ in range(args.repeat))
                # its own session, as a desktop program has: with the kernel's autogroup
                # scheduling a nice value counts only inside a session, so a niced loop
                # started from this session would not compete with training at all
                busy = subprocess.Popen(
                    ["nice", "-n", "19", sys.executable, "-c", BUSY], start_new_session=True
                )
                try:
                    loaded = train_seconds(name, params, steps, Path(tmp), policy)
                finally:
                    busy.kill()
                    busy.wait()
                quiet_of[name, policy] = quiet
                print(
                    f"{name:22} {steps:5} {policy:8} {quiet:8.1f} {loaded:9.1f} {quiet / loaded:6.0%}",
                    flush=True,
                )
        first = args.policies[0]
        print(f"quiet cost against {first} (seconds / {first}'s seconds, quiet machine):")
        for name in args.variants:
            costs = "  ".join(
                f"{p} {quiet_of[name, p] / quiet_of[name, first]:.2f}" for p in args.policies
            )
            print(f"  {name:22} {costs}")


if __name__ == "__main__":
    main()
