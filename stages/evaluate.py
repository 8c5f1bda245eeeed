"""Stage evaluate_*: metrics of real data (`data`) or of a variant's samples (`variant`)."""

from pathlib import Path

import typer

from scorelab.params import load_params
from scorelab.pipeline.evaluate import run_evaluate_data, run_evaluate_variant
from scorelab.utils import run_stage


def main(
    kind: str,
    name: str,
    out: Path = typer.Option(...),
    data: Path = typer.Option(None, help="encoded dataset (kind=data)"),
    samples: Path = typer.Option(None, help="a variant's samples (kind=variant)"),
    params: Path = typer.Option(Path("params.yaml")),
) -> None:
    """Write flat metrics JSON for dataset NAME (KIND=data) or variant NAME (KIND=variant)."""
    p = load_params(params)
    if kind == "data":
        res = run_evaluate_data(p, name, data, out)
    elif kind == "variant":
        res = run_evaluate_variant(p, name, samples, out)
    else:
        raise typer.BadParameter(f"kind must be 'data' or 'variant', got {kind!r}")
    typer.echo(f"evaluate {name}: {sorted(res)}")


if __name__ == "__main__":
    run_stage(main)
