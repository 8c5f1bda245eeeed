"""corpus@<corpus>: sources -> notes/pieces/rejected Parquet tables."""

from __future__ import annotations

from pathlib import Path

from scorelab.corpora.build import CorpusConfig, build_corpus
from scorelab.params import resolve_corpus


def run_corpus(params: dict, name: str, out: Path, workers: int | None = None) -> dict:
    """Build corpus ``name`` as params.yaml (with the active profile) describes it."""
    cfg = CorpusConfig(**resolve_corpus(params, name))
    return build_corpus(name, cfg, params["base"]["seed"], Path(out), workers=workers)
