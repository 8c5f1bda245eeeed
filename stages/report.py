"""Stage report: one page comparing every variant with the data (see dvc.yaml)."""

from pathlib import Path

import typer

import _here  # noqa: F401  (this checkout's src/ first, see _here.py)
from scorelab.params import load_params
from scorelab.pipeline.report import run_report
from scorelab.process import run_stage
from scorelab.workers import workers


def main(
    metrics: Path = typer.Option(...),
    evaluation: Path = typer.Option(None),
    logs: Path = typer.Option(...),
    samples: Path = typer.Option(...),
    out: Path = typer.Option(...),
    seeds: Path = typer.Option(None, help="seeds.json from `scorelab seeds`: the spread across seeds"),
    models: Path = typer.Option(None, help="models/<variant>/run_info.json: where each variant trained"),
    timings: Path = typer.Option(None, help="timings/train/<variant>.json: how long each variant trained"),
    budget: Path = typer.Option(
        None, help="benchmarks/results/transformer_budget.json: what the Transformers reach with more steps"
    ),
    params: Path = typer.Option(Path("params.yaml")),
) -> None:
    """Render reports/README.md and reports/index.html from METRICS, LOGS and SAMPLES."""
    # the pool that draws the figures and encodes the clips, forked before any table is read
    with workers():
        p = load_params(params)
        run_report(p, metrics, logs, samples, out, evaluation, seeds, models, timings, budget)
    typer.echo(f"report: wrote {out}/index.html and {out}/README.md")


if __name__ == "__main__":
    run_stage(main)
