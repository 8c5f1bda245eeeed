"""Stage fetch@<name>: a corpus's pinned downloads or local folders into data/raw/<name>/."""

from pathlib import Path

import typer

import _here  # noqa: F401  (this checkout's src/ first, see _here.py)
from scorelab.params import load_params
from scorelab.pipeline.fetch import run_fetch
from scorelab.process import run_stage


def main(
    name: str,
    out: Path = typer.Option(...),
    params: Path = typer.Option(Path("params.yaml")),
    downloads: Path = typer.Option(
        None, help="where files are downloaded or placed (default data/downloads/NAME)"
    ),
    offline: bool = typer.Option(None, "--offline/--online", help="default: SCORELAB_OFFLINE"),
) -> None:
    """Fetch and verify corpus NAME of params.yaml into OUT."""
    record = run_fetch(load_params(params), name, out, downloads_dir=downloads, offline=offline)
    typer.echo(f"fetch {name}: {len(record['files'])} file(s) in {out}")


if __name__ == "__main__":
    run_stage(main)
