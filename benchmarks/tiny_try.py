"""The newcomer's quick try, timed: `dvc exp run -S base.profile=tiny` in a fresh clone.

The README offers the ``tiny`` profile (every variant at smoke-test size) as the first
thing to run. This script does what a newcomer does after ``make setup``: it clones the
repository's committed HEAD into a temporary folder (no DVC cache, no outputs), runs
``dvc exp run -S base.profile=tiny`` there with this venv's tools, and prints the wall
time, how many stages ran, where the time went per stage group (stage times as
``zoo_table.py`` reads them), and the CPU time of the dvc process itself, its own
bookkeeping without the stages' commands (hashing, caching outputs, rewriting dvc.lock).

    python benchmarks/tiny_try.py                      # clone of HEAD, nothing else should run
    python benchmarks/tiny_try.py --log tiny.log       # keep the clock-stamped log

It is a measurement, not a test; issue 20 asks for at most 3 minutes on the project's
2-core machine, and the README quotes what this prints.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import psutil
from zoo_table import stage_times  # this folder's: the same clock-stamped log format

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run_logged(cmd: list[str], cwd: Path, env: dict, log: Path) -> tuple[int, float, float]:
    """Run ``cmd``, writing its output to ``log`` with the clock on every line (the format
    of zoo_table.py's log); (exit code, wall seconds, CPU seconds of the process itself)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    own = psutil.Process(proc.pid)
    cpu = 0.0
    assert proc.stdout is not None
    with log.open("w") as out:
        for line in proc.stdout:
            out.write(f"{time.strftime('%H:%M:%S')} {line}")
            try:
                times = own.cpu_times()
                cpu = times.user + times.system
            except psutil.NoSuchProcess:
                pass
    return proc.wait(), time.perf_counter() - t0, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", type=Path, help="keep the clock-stamped log here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tiny_try_") as tmp:
        repo = Path(tmp) / "repo"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        env.pop("VIRTUAL_ENV", None)
        log = args.log or Path(tmp) / "tiny.log"
        code, wall, dvc_cpu = run_logged(["dvc", "exp", "run", "-S", "base.profile=tiny"], repo, env, log)
        if code != 0:
            sys.exit(f"dvc exp run failed with exit code {code} (log: {log})")
        times, _ = stage_times(log)
    groups: dict[str, float] = defaultdict(float)
    for name, seconds in times.items():
        groups[name.partition("@")[0]] += seconds
    print(
        f"dvc exp run -S base.profile=tiny in a fresh clone of HEAD: {wall:.0f} s wall, {len(times)} stages"
    )
    print(f"  CPU of the dvc process itself (not its stages' commands): {dvc_cpu:.0f} s")
    for group, seconds in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"  {group:<16}{seconds:7.0f} s")
    slowest = sorted(times.items(), key=lambda kv: -kv[1])[:6]
    print("  slowest stages: " + ", ".join(f"{n} {s:.0f} s" for n, s in slowest))


if __name__ == "__main__":
    main()
