"""Training beside a busy core: each variant's speed quiet and with one CPU-bound process
running, for each OpenMP wait policy, in one run.

torch's OpenMP threads spin-wait for each other between parallel regions. On a 2-core
machine with one other busy process, one of the two threads keeps losing its core and
the other spins until it is back: S0 went from 3.3 to 0.11 iterations per second (issue
20). ``OMP_WAIT_POLICY=PASSIVE`` makes a waiting thread sleep instead. This script trains
``--steps`` steps of each variant through the real command (``scorelab train NAME
--max-steps S``) four times: quiet and loaded, ACTIVE (libgomp's spinning, what torch
does unless told) and PASSIVE, and prints the trainer's own seconds and the ratios
loaded/quiet (the speed kept) and PASSIVE/ACTIVE on a quiet machine (what the setting
costs there). The busy process is a ``nice -n 19`` Python loop, as in the issue: lower
priority than the training, as a browser or an IDE would be.

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


def train_seconds(name: str, params: dict, steps: int, work: Path, policy: str) -> float:
    """The trainer's own seconds for ``steps`` steps of ``name`` under ``policy``."""
    run_dir = Path(tempfile.mkdtemp(dir=work))
    (run_dir / "data").mkdir()
    (run_dir / "data" / "encoded").symlink_to(REPO / "data" / "encoded", target_is_directory=True)
    (run_dir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    scorelab = Path(sys.executable).parent / "scorelab"
    env = {**os.environ, "TQDM_DISABLE": "1", "OMP_WAIT_POLICY": policy}
    proc = subprocess.run(
        [str(scorelab), "train", name, "--max-steps", str(steps)], cwd=run_dir, capture_output=True, text=True, env=env
    )
    if proc.returncode != 0:
        raise SystemExit(f"{name} ({policy}) failed:\n{proc.stderr[-3000:]}")
    found = re.search(rf"train {re.escape(name)}: ([0-9.]+) s on", proc.stdout)
    if not found:
        raise SystemExit(f"no timing line in the output of {name}:\n{proc.stdout[-2000:]}")
    return float(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="*", default=["s0_wgan_gp_jsb", "s1_cnn_lstm_gan_jsb", "s4_lstm_erk"])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--params", type=Path, default=REPO / "params.yaml")
    args = parser.parse_args()
    params = yaml.safe_load(args.params.read_text())
    print(f"{os.cpu_count()} cores visible; {args.steps} steps each; seconds are the trainer's own")
    print(f"{'variant':22} {'policy':8} {'quiet s':>8} {'loaded s':>9} {'kept':>6}")
    quiet_of: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.variants:
            for policy in ("ACTIVE", "PASSIVE"):
                quiet = train_seconds(name, params, args.steps, Path(tmp), policy)
                busy = subprocess.Popen(["nice", "-n", "19", sys.executable, "-c", BUSY])
                try:
                    loaded = train_seconds(name, params, args.steps, Path(tmp), policy)
                finally:
                    busy.kill()
                    busy.wait()
                quiet_of[name, policy] = quiet
                print(f"{name:22} {policy:8} {quiet:8.1f} {loaded:9.1f} {quiet / loaded:6.0%}")
        print("quiet cost of PASSIVE (seconds PASSIVE / ACTIVE, quiet machine):")
        for name in args.variants:
            print(f"  {name:22} {quiet_of[name, 'PASSIVE'] / quiet_of[name, 'ACTIVE']:.2f}")


if __name__ == "__main__":
    main()
