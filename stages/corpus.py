"""Stage corpus@<name>: read one corpus into data/corpus/<name>/ (see dvc.yaml)."""

from pathlib import Path

import typer

import _here  # noqa: F401  (this checkout's src/ first, see _here.py)
from scorelab.params import load_params
from scorelab.pipeline.corpus import run_corpus
from scorelab.process import one_line, run_stage


def main(
    name: str,
    out: Path = typer.Option(...),
    params: Path = typer.Option(Path("params.yaml")),
    raw: Path = typer.Option(None, help="the fetch stage's folder, for a fetched corpus"),
) -> None:
    """Parse the corpus NAME of params.yaml and write its Parquet tables to OUT."""
    summary = run_corpus(load_params(params), name, out, raw=raw)
    typer.echo(f"corpus {name}: {one_line({k: v for k, v in summary.items() if k != 'corpus'})}")


if __name__ == "__main__":
    run_stage(main)
