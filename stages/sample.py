"""Stage sample@<variant>: generate music from a trained variant (see dvc.yaml)."""

# ruff: noqa: E402  (the kernels are pinned before anything can import torch)
import _here  # noqa: F401  (this checkout's src/ first, see _here.py)
from scorelab.compute import pin_cpu_from_file

pin_cpu_from_file()  # before torch computes anything: the kernels decide the bytes

from pathlib import Path

import typer

from scorelab.params import load_params
from scorelab.pipeline.sample import run_sample
from scorelab.process import one_line, run_stage
from scorelab.workers import workers


def main(
    name: str,
    model: Path = typer.Option(...),
    data: Path = typer.Option(...),
    out: Path = typer.Option(...),
    params: Path = typer.Option(Path("params.yaml")),
) -> None:
    """Sample variant NAME from the checkpoint in MODEL into OUT."""
    # the pool that renders the clips and rolls, forked before torch is imported
    with workers():
        counts = run_sample(load_params(params), name, model, data, out)
    typer.echo(f"sample {name}: {one_line(counts)}")


if __name__ == "__main__":
    run_stage(main)
