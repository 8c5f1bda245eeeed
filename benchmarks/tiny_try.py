"""The newcomer's quick try, timed: `make try` (or the whole zoo's tiny run) in a fresh clone.

The README offers ``make try`` as the first thing to run: one variant of each paper's
system at the ``tiny`` profile's smoke-test size, in a scratch clone (try/), and a report
on them. This script does what a newcomer does after ``make setup``: it clones the
repository's committed HEAD into a temporary folder (no DVC cache, no outputs), runs
``make try`` there with this venv (``VENV=``, so nothing is installed), and prints the
wall time, how many stages ran, where the time went per stage group (stage times as
``zoo_table.py`` reads them), and the CPU time of the processes that are not stages'
commands (make, dvc: hashing, caching outputs, rewriting dvc.lock).
With ``--zoo`` it times ``dvc exp run -S base.profile=tiny`` instead: every variant.

    python benchmarks/tiny_try.py                      # make try; nothing else should run
    python benchmarks/tiny_try.py --zoo                # the whole zoo at the tiny profile
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
    of zoo_table.py's log); (exit code, wall seconds, CPU seconds of the dvc process: ``cmd``
    itself, or its descendant named dvc under make, read at each line it prints)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    own = psutil.Process(proc.pid)
    cpu: dict[int, float] = {}
    assert proc.stdout is not None
    with log.open("w") as out:
        for line in proc.stdout:
            out.write(f"{time.strftime('%H:%M:%S')} {line}")
            try:
                for p in [own, *own.children(recursive=True)]:
                    if p.name() == "dvc":
                        times = p.cpu_times()
                        cpu[p.pid] = times.user + times.system
            except psutil.NoSuchProcess:
                pass
    return proc.wait(), time.perf_counter() - t0, sum(cpu.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", type=Path, help="keep the clock-stamped log here")
    ap.add_argument("--zoo", action="store_true", help="dvc exp run -S base.profile=tiny: every variant")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tiny_try_") as tmp:
        repo = Path(tmp) / "repo"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        env.pop("VIRTUAL_ENV", None)
        log = args.log or Path(tmp) / "tiny.log"
        if args.zoo:
            what = "dvc exp run -S base.profile=tiny"
            cmd = what.split()
        else:
            what = "make try"
            # this venv, marked up to date (-o): a fresh clone's pyproject.toml is newer than
            # its .installed, and make would reinstall the project from the temporary clone
            venv = BIN.parent
            cmd = ["make", "-o", f"{venv}/.installed", "try", f"VENV={venv}"]
        code, wall, dvc_cpu = run_logged(cmd, repo, env, log)
        if code != 0:
            sys.exit(f"{what} failed with exit code {code} (log: {log})")
        times, _ = stage_times(log)
    groups: dict[str, float] = defaultdict(float)
    for name, seconds in times.items():
        groups[name.partition("@")[0]] += seconds
    print(
        f"{what} in a fresh clone of HEAD: {wall:.0f} s wall, {len(times)} stages"
    )
    print(f"  CPU of the dvc process itself (not its stages' commands), as last read: {dvc_cpu:.0f} s")
    for group, seconds in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"  {group:<16}{seconds:7.0f} s")
    slowest = sorted(times.items(), key=lambda kv: -kv[1])[:6]
    print("  slowest stages: " + ", ".join(f"{n} {s:.0f} s" for n, s in slowest))


if __name__ == "__main__":
    main()
