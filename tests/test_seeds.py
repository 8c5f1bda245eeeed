"""`scorelab seeds`: the spread across DVC experiments that changed only base.seed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from scorelab.report.build import seed_blocks
from scorelab.report.render import to_markdown
from scorelab.seeds import collect_seeds, only_seed_differs, summarize


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


def write_run(
    repo: Path, seed: int, n_critic: int, trained: dict[str, int], values: dict[str, float]
) -> None:
    (repo / "params.yaml").write_text(
        yaml.safe_dump({"base": {"seed": seed}, "model": {"n_critic": n_critic}})
    )
    stages = {f"train@{v}": {"params": {"params.yaml": {"base.seed": s}}} for v, s in trained.items()}
    (repo / "dvc.lock").write_text(yaml.safe_dump({"schema": "2.0", "stages": stages}))
    for v, x in values.items():
        (repo / "metrics/variants" / v).mkdir(parents=True, exist_ok=True)
        (repo / "metrics/variants" / v / "samples.json").write_text(json.dumps({"diversity": x}))


def experiment(repo: Path, name: str, **run) -> None:
    """Commit a run as DVC does an experiment: a commit under refs/exps, HEAD unmoved."""
    head = git(repo, "rev-parse", "HEAD")
    write_run(repo, **run)
    git(repo, "add", "-A")
    tree = git(repo, "write-tree")
    commit = git(repo, "commit-tree", tree, "-p", head, "-m", name)
    git(repo, "update-ref", f"refs/exps/{head[:2]}/{head[2:]}/{name}", commit)
    git(repo, "checkout", "-q", "--", ".")
    git(repo, "reset", "-q", "--hard", head)


@pytest.fixture
def repo(tmp_path):
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "t@t")
    git(tmp_path, "config", "user.name", "t")
    write_run(tmp_path, seed=0, n_critic=5, trained={"a": 0, "b": 0}, values={"a": 0.60, "b": 0.10})
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "main")
    # seed 1 reran only a (b's old metrics are still in its commit: they must not count)
    experiment(
        tmp_path, "a-seed1", seed=1, n_critic=5, trained={"a": 1, "b": 0}, values={"a": 0.70, "b": 0.10}
    )
    experiment(
        tmp_path, "a-seed2", seed=2, n_critic=5, trained={"a": 2, "b": 0}, values={"a": 0.80, "b": 0.10}
    )
    # another knob changed: not a seed run
    experiment(
        tmp_path, "critic1", seed=3, n_critic=1, trained={"a": 3, "b": 3}, values={"a": 0.99, "b": 0.99}
    )
    return tmp_path


def test_only_seed_runs_of_the_retrained_variant_count(repo):
    result = collect_seeds(repo, ["a", "b"])
    assert [r["name"] for r in result["runs"]] == ["a-seed1", "a-seed2"]
    assert "b" not in result["variants"]  # one run only: no spread
    d = result["variants"]["a"]["samples"]["diversity"]
    assert d["by_seed"] == {"0": 0.6, "1": 0.7, "2": 0.8}
    assert d["n"] == 3 and d["mean"] == pytest.approx(0.7) and d["sd"] == pytest.approx(0.1)
    assert (d["min"], d["max"]) == (0.6, 0.8)


def test_the_report_shows_the_spread_or_how_to_get_it(repo, tmp_path):
    path = tmp_path / "seeds.json"
    path.write_text(json.dumps(collect_seeds(repo, ["a"])))
    text = to_markdown(seed_blocks(path))
    assert "| samples | diversity | 3 | 0.7 ± 0.1 [0.6, 0.8] | 0: 0.6, 1: 0.7, 2: 0.8 |" in text
    none = to_markdown(seed_blocks(None))
    assert "dvc exp run --queue -n s0-seed$s -S base.seed=$s evaluate@s0_wgan_gp_jsb" in none


def test_helpers():
    assert only_seed_differs({"base": {"seed": 1, "p": 2}}, {"base": {"seed": 0, "p": 2}})
    assert not only_seed_differs({"base": {"seed": 1, "p": 3}}, {"base": {"seed": 0, "p": 2}})
    assert summarize([1.0, None, float("nan")]) == {"n": 1, "mean": 1.0, "sd": None, "min": 1.0, "max": 1.0}
