"""Stage encode@<dataset>: corpus tables -> tensors + encoding.json (see dvc.yaml)."""

from pathlib import Path

import typer

import _here  # noqa: F401  (this checkout's src/ first, see _here.py)
from scorelab.params import load_params
from scorelab.pipeline.encode import run_encode
from scorelab.process import one_line, run_stage


def main(
    name: str,
    corpus: Path = typer.Option(...),
    out: Path = typer.Option(...),
    params: Path = typer.Option(Path("params.yaml")),
) -> None:
    """Encode dataset NAME from the corpus tables in CORPUS into OUT."""
    summary = run_encode(load_params(params), name, corpus, out)
    for split, info in summary["splits"].items():
        kept, items, rejected = info["pieces_kept"], info["items"], info["rejected"]
        why = f" ({one_line(rejected)})" if rejected else ""
        n_out = sum(rejected.values())
        typer.echo(f"encode {name} {split}: {kept} pieces, {items} items, {n_out} rejected{why}")


if __name__ == "__main__":
    run_stage(main)
