"""The newcomer's quick try, timed: `dvc exp run -S base.profile=tiny` in a fresh clone.

The README offers the ``tiny`` profile (every variant at smoke-test size) as the first
thing to run. This script does what a newcomer does after ``make setup``: it clones the
repository's committed HEAD into a temporary folder (no DVC cache, no outputs), runs
``dvc exp run -S base.profile=tiny`` there with this venv's tools, and prints the wall
time, how many stages ran, where the time went per stage group, and how much of it was
DVC's own bookkeeping between stages (from the end of one stage's command to the start
of the next: hashing, caching outputs, rewriting dvc.lock).

    python benchmarks/tiny_try.py            # clone of HEAD, nothing else should run

It is a measurement, not a test; issue 20 asks for at most 3 minutes on the project's
2-core machine, and the README quotes what this prints.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STAGE = re.compile(r"^Running stage '([^']+)'")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tiny_try_") as tmp:
        repo = Path(tmp) / "repo"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        env.pop("VIRTUAL_ENV", None)
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            ["dvc", "exp", "run", "-S", "base.profile=tiny"],
            cwd=repo,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        starts: list[tuple[str, float]] = []
        last_line = t0
        ends: dict[str, float] = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            now = time.perf_counter()
            m = STAGE.match(line.strip())
            if m:
                if starts:
                    ends[starts[-1][0]] = max(last_line, starts[-1][1])
                starts.append((m.group(1), now))
            elif line.strip() and not line.startswith(("Updating lock file", "> ")):
                last_line = now  # the stage's own output, not DVC's
        code = proc.wait()
        wall = time.perf_counter() - t0
        if starts:
            ends[starts[-1][0]] = max(last_line, starts[-1][1])
    if code != 0:
        sys.exit(f"dvc exp run failed with exit code {code}")
    groups: dict[str, float] = defaultdict(float)
    spans = []
    for i, (name, start) in enumerate(starts):
        nxt = starts[i + 1][1] if i + 1 < len(starts) else t0 + wall
        groups[name.partition("@")[0]] += nxt - start
        spans.append((nxt - start, name))
    between = sum(starts[i + 1][1] - ends[name] for i, (name, _) in enumerate(starts[:-1]) if name in ends)
    print(
        f"dvc exp run -S base.profile=tiny in a fresh clone of HEAD: {wall:.0f} s wall, {len(starts)} stages"
    )
    first = starts[0][1] - t0 if starts else wall
    print(f"  before the first stage (DVC collecting the pipeline): {first:.0f} s")
    print(f"  DVC between stages (a stage's last output line to the next stage's start): {between:.0f} s")
    for group, seconds in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"  {group:<16}{seconds:7.0f} s")
    print("  slowest stages: " + ", ".join(f"{n} {s:.0f} s" for s, n in sorted(spans, reverse=True)[:6]))


if __name__ == "__main__":
    main()
