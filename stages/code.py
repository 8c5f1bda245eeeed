"""Stage code: each stage script's, model's, trainer's and codec's import closure, fingerprinted.

Every other stage depends on two or three of these files instead of the ~25 source
files it imports (scorelab/codedeps.py says why: DVC's per-stage lock rewrite).
"""

from pathlib import Path

import typer

import _here  # noqa: F401  (this checkout's src/ first, see _here.py)
from scorelab.codedeps import write_fingerprints
from scorelab.process import run_stage

ROOT = Path(__file__).resolve().parents[1]


def main(out: Path = typer.Option(...)) -> None:
    """Write the fingerprints of this checkout's code into OUT."""
    n = write_fingerprints(out, ROOT)
    typer.echo(f"code: {n} fingerprints in {out}")


if __name__ == "__main__":
    run_stage(main)
