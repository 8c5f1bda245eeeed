"""Stage encode@<dataset>: corpus tables -> tensors + encoding.json (see dvc.yaml)."""

from pathlib import Path

import typer

from scorelab.params import load_params
from scorelab.pipeline.encode import run_encode


def main(
    name: str,
    corpus: Path = typer.Option(...),
    out: Path = typer.Option(...),
    params: Path = typer.Option(Path("params.yaml")),
) -> None:
    """Encode dataset NAME from the corpus tables in CORPUS into OUT."""
    summary = run_encode(load_params(params), name, corpus, out)
    for split, info in summary["splits"].items():
        typer.echo(f"encode {name} {split}: {info['pieces_kept']} pieces, {info['items']} items, rejected {info['rejected']}")


if __name__ == "__main__":
    typer.run(main)
