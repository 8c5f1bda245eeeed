"""report: metrics, loss logs and samples -> reports/README.md and reports/index.html."""

from __future__ import annotations

from pathlib import Path


def run_report(
    params: dict,
    metrics: Path,
    logs: Path,
    samples: Path,
    out: Path,
    evaluation: Path | None = None,
    seeds: Path | None = None,
    models: Path | None = None,
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
    )
