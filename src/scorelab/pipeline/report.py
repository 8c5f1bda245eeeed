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
) -> None:
    """Build the report over every dataset and variant in params."""
    from scorelab.report.build import build_report

    build_report(
        Path(out),
        Path(metrics),
        Path(logs),
        Path(samples),
        params,
        Path(evaluation) if evaluation else None,
        Path(seeds) if seeds else None,
        Path(models) if models else None,
        provenance(),
        Path(timings) if timings else None,
        Path(budget) if budget else None,
    )
