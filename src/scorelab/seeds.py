"""The spread of a variant's results across seeds, from DVC experiments that changed only the seed.

One run's number is not a result: two fresh S0 runs with identical params gave a
diversity of 0.65 and 0.72. The documented command (docs/reproducibility.md, "Several seeds") queues one
experiment per seed for one variant's chain, ``dvc exp run --queue -S base.seed=N
evaluate@<variant>``, runs them, then ``scorelab seeds`` gathers them into
``seeds.json``, which the report reads.

Experiments are git refs (``refs/exps/...``): each one's ``params.yaml``,
``dvc.lock`` and headline metrics are read from its commit with ``git show``, so nothing
depends on the layout of ``dvc exp show``'s JSON. A run counts for a variant when its
params differ from the current ``params.yaml`` in ``base.seed`` alone and its
``dvc.lock`` shows that variant's train stage ran with that seed (an experiment that
targeted one variant keeps the others' old outputs, which must not count twice). The
committed results count as the run of the current ``base.seed``.
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import yaml

SEEDS_FILE = "seeds.json"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def _show(repo: Path, rev: str, path: str) -> str | None:
    res = subprocess.run(
        ["git", "show", f"{rev}:{path}"], cwd=repo, capture_output=True, text=True, check=False
    )
    return res.stdout if res.returncode == 0 else None


def _flat(d: object, prefix: str = "") -> dict[str, object]:
    if not isinstance(d, dict):
        return {prefix: d}
    out: dict[str, object] = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def only_seed_differs(params: dict, reference: dict) -> bool:
    """True when the two params trees differ in ``base.seed`` alone (or not at all)."""
    a, b = _flat(params), _flat(reference)
    a.pop("base.seed", None)
    b.pop("base.seed", None)
    return a == b


def trained_with_seed(lock: dict, variant: str, seed: int) -> bool:
    """The run's dvc.lock says ``train@variant`` ran with ``base.seed == seed``."""
    stage = (lock.get("stages") or {}).get(f"train@{variant}") or {}
    params = (stage.get("params") or {}).get("params.yaml") or {}
    return params.get("base.seed") == seed


def _metrics_at(repo: Path, rev: str | None, variant: str) -> dict[str, dict]:
    """{set: headline metrics} of ``variant`` at ``rev`` (None: the working tree)."""
    folder = f"metrics/variants/{variant}"
    if rev is None:
        files = sorted((repo / folder).glob("*.json"))
        return {p.stem: yaml.safe_load(p.read_text()) for p in files}
    names = (
        _git(repo, "ls-tree", "--name-only", f"{rev}:{folder}").split() if _show(repo, rev, folder) else []
    )
    out = {}
    for name in names:
        if name.endswith(".json"):
            text = _show(repo, rev, f"{folder}/{name}")
            if text:
                out[name[: -len(".json")]] = yaml.safe_load(text)
    return out


def seed_runs(repo: Path) -> list[dict]:
    """Every experiment that changed only ``base.seed``: {"name", "rev", "seed", "params", "lock"}."""
    repo = Path(repo)
    current = yaml.safe_load((repo / "params.yaml").read_text())
    out = []
    refs = _git(repo, "for-each-ref", "--format=%(refname) %(objectname)", "refs/exps").splitlines()
    for line in refs:
        ref, rev = line.split()
        if ref.count("/") < 4:  # refs/exps/<xx>/<baseline>/<name>; skip queue and run bookkeeping refs
            continue
        params_text, lock_text = _show(repo, rev, "params.yaml"), _show(repo, rev, "dvc.lock")
        if not params_text or not lock_text:
            continue
        params = yaml.safe_load(params_text)
        if not only_seed_differs(params, current):
            continue
        seed = int(params["base"]["seed"])
        out.append(
            {"name": ref.rsplit("/", 1)[1], "rev": rev, "seed": seed, "lock": yaml.safe_load(lock_text)}
        )
    return sorted(out, key=lambda r: (r["seed"], r["name"]))


def summarize(values: list[float]) -> dict:
    """n, mean, sample standard deviation and range of finite values (None where undefined)."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(finite)
    mean = sum(finite) / n if n else None
    sd = math.sqrt(sum((v - mean) ** 2 for v in finite) / (n - 1)) if n > 1 else None
    return {
        "n": n,
        "mean": mean,
        "sd": sd,
        "min": min(finite, default=None),
        "max": max(finite, default=None),
    }


def collect_seeds(repo: Path, variants: list[str]) -> dict:
    """Per variant, set and headline metric: the value of each seed and their spread."""
    repo = Path(repo)
    base_seed = int(yaml.safe_load((repo / "params.yaml").read_text())["base"]["seed"])
    runs = seed_runs(repo)
    result: dict = {"runs": [{k: r[k] for k in ("name", "rev", "seed")} for r in runs], "variants": {}}
    for variant in variants:
        per_seed = {base_seed: _metrics_at(repo, None, variant)}
        for r in runs:
            if r["seed"] not in per_seed and trained_with_seed(r["lock"], variant, r["seed"]):
                per_seed[r["seed"]] = _metrics_at(repo, r["rev"], variant)
        if len(per_seed) < 2:
            continue
        sets: dict = {}
        for seed, metrics in sorted(per_seed.items()):
            for set_name, values in metrics.items():
                for key, value in values.items():
                    sets.setdefault(set_name, {}).setdefault(key, {})[str(seed)] = value
        result["variants"][variant] = {
            set_name: {k: {"by_seed": v, **summarize(list(v.values()))} for k, v in keys.items()}
            for set_name, keys in sets.items()
        }
    return result
