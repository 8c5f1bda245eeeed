"""Stage train@<variant>: train one model variant (see dvc.yaml)."""

# ruff: noqa: E402  (the kernels are pinned before anything can import torch)
import _here  # noqa: F401  (this checkout's src/ first, see _here.py)
from scorelab.compute import pin_cpu_from_file

pin_cpu_from_file()  # before torch computes anything: the kernels decide the bytes

from pathlib import Path

import typer

from scorelab.params import load_params
from scorelab.pipeline.train import run_train
from scorelab.process import run_stage


def main(
    name: str,
    data: Path = typer.Option(...),
    out: Path = typer.Option(...),
    logs: Path = typer.Option(...),
    timings: Path = typer.Option(None, help="folder for <name>.json: the measured training time"),
    params: Path = typer.Option(Path("params.yaml")),
) -> None:
    """Train variant NAME (its trainer named in params.yaml) on the tensors in DATA."""
    ckpt = run_train(load_params(params), name, data, out, logs, timings=timings)
    typer.echo(f"train {name}: wrote {ckpt}")


if __name__ == "__main__":
    run_stage(main)
