"""What DVC itself costs per stage: a pipeline of stages that do nothing, timed.

Issue 20 asks for the ``tiny`` profile end to end in at most 3 minutes. Its pipeline has
124 stages (every variant's train, sample and evaluate, each corpus's fetch and encode,
the judges, the report), and ``dvc repro`` runs them one after another. This script
measures the floor under that: in a temporary git + DVC repository it builds a pipeline
shaped like ours (``--stages`` stages, each reading a params section, two small code
files and the previous stage's output, and writing one small output) whose commands do
nothing but write that output from a shell (``sh -c 'echo ... > out'``: no Python), and
times

- ``dvc repro`` from nothing (every stage runs: DVC's own cost per stage, with hashing,
  caching the output and rewriting dvc.lock after each stage), and
- a second ``dvc repro`` (nothing runs: the up-to-date check).

It prints the wall time of each, per stage, and what that floor means for a pipeline of
that many stages. Our real stages add their Python start-up on top (measured by
``benchmarks/stage_imports.py``).

    python benchmarks/dvc_floor.py                 # 124 stages, as the tiny profile's run
    python benchmarks/dvc_floor.py --stages 40

A measurement, not a test: run it with nothing else busy; the figures are this machine's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

BIN = Path(sys.executable).parent


def build(repo: Path, n: int) -> None:
    """A git + DVC repository with ``n`` chained do-nothing stages."""
    env = run_env()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, env=env)
    subprocess.run(["dvc", "init", "-q"], cwd=repo, check=True, env=env)
    (repo / "code").mkdir()
    for name in ("a", "b"):
        (repo / "code" / f"{name}.txt").write_text(f"fingerprint {name}\n" * 40)
    params = {f"s{i}": {"lr": 0.001, "steps": 10 + i, "batch": 16, "seed": i} for i in range(n)}
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    stages = {}
    for i in range(n):
        deps = ["code/a.txt", "code/b.txt"] + ([f"out/s{i - 1}.txt"] if i else [])
        stages[f"s{i}"] = {
            "cmd": f"sh -c 'mkdir -p out && echo stage {i} > out/s{i}.txt'",
            "deps": deps,
            "params": [f"s{i}"],
            "outs": [f"out/s{i}.txt"],
        }
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qm", "floor"],
        cwd=repo,
        check=True,
        env=env,
    )


def run_env() -> dict:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env["DVC_NO_ANALYTICS"] = "1"
    return env


def timed_repro(repo: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(["dvc", "repro", "-q"], cwd=repo, check=True, env=run_env())
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stages", type=int, default=124)
    args = ap.parse_args()
    n = args.stages
    with tempfile.TemporaryDirectory(prefix="dvc_floor_") as tmp:
        repo = Path(tmp)
        build(repo, n)
        first = timed_repro(repo)
        second = timed_repro(repo)
    dvc = subprocess.run(["dvc", "--version"], capture_output=True, text=True, env=run_env())
    version = dvc.stdout.strip()
    print(f"DVC {version}, {n} do-nothing stages (shell commands, no Python), {os.cpu_count()} cores")
    print(f"  dvc repro, every stage runs:   {first:6.1f} s  ({first / n:.2f} s a stage)")
    print(f"  dvc repro again, nothing runs: {second:6.1f} s")
    print(
        f"  a {n}-stage pipeline spends at least {first:.0f} s in DVC before any stage's own "
        f"work: {first / 180:.0%} of a 3-minute budget"
    )


if __name__ == "__main__":
    main()
