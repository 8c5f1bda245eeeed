"""report: metrics, loss logs and samples -> reports/README.md and reports/index.html."""

from __future__ import annotations

import subprocess
from pathlib import Path


def provenance(repo: Path = Path(".")) -> dict:
    """The commit the report is built from, its date, whether the tree differs, and our version.

    From git, not the clock: the date is the commit's, so a rebuild at the same commit
    gives the same bytes. Outside a git checkout (an unpacked archive) the commit is
    "unknown". ``dirty`` ignores the files the pipeline itself writes into git (dvc.lock,
    metrics/, logs/, reports/), which a run changes before its commit.
    """
    from scorelab import __version__

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short=12", "HEAD")
        date = git("show", "-s", "--format=%cs", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!dvc.lock", ":!metrics",
                      ":!logs", ":!reports", ":!params.yaml")  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return {"commit": "unknown", "date": "unknown", "dirty": False, "version": __version__}
    return {"commit": commit, "date": date, "dirty": bool(changed), "version": __version__}


def only_variants(params: dict, names: list[str]) -> dict:
    """``params`` narrowed to the variants ``names`` and the datasets they train on.

    For a report on part of the zoo (``scorelab report --only``, which ``make try`` runs:
    one variant of each paper at the tiny profile): the report covers exactly what params
    declares, so narrowing params is the whole of it (:func:`run_report`'s ``only``).

    Raises
    ------
    ParamsError
        A name that is not a variant of params (the valid ones listed).
    """
    from scorelab.errors import ParamsError

    declared = params.get("variants") or {}
    unknown = [n for n in names if n not in declared]
    if unknown:
        raise ParamsError(f"report --only: {unknown[0]!r} is not a variant; valid: {list(declared)}")
    variants = {k: v for k, v in declared.items() if k in names}
    used = {v["dataset"] for v in variants.values()}
    datasets = {k: v for k, v in (params.get("datasets") or {}).items() if k in used}
    return {**params, "variants": variants, "datasets": datasets}


def run_report(
    params: dict,
    metrics: Path,
    logs: Path,
    samples: Path,
    out: Path,
    evaluation: Path | None = None,
    seeds: Path | None = None,
    models: Path | None = None,
    timings: Path | None = None,
    budget: Path | None = None,
    only: list[str] | None = None,
) -> None:
    """Build the report over every dataset and variant in params, or over the variants
    ``only`` names (:func:`only_variants`; the page says how many of how many)."""
    from scorelab.report.build import build_report

    built = provenance()
    if only:
        built["only_of"] = len(params.get("variants") or {})
        params = only_variants(params, only)

    build_report(
        Path(out),
        Path(metrics),
        Path(logs),
        Path(samples),
        params,
        Path(evaluation) if evaluation else None,
        Path(seeds) if seeds else None,
        Path(models) if models else None,
        built,
        Path(timings) if timings else None,
        Path(budget) if budget else None,
    )
