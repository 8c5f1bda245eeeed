"""The whole of params.yaml checked at once: every corpus, dataset and variant.

A stage checks only its own part (scorelab.params.check_structure, then
scorelab.corpora.check, scorelab.codecs.base.check_dataset or scorelab.training.check),
so it imports only the code it runs. This module imports every codec, model and trainer
the file names; ``scorelab params``, ``scorelab config`` and the tests use it, so a
mistake anywhere in the file is found before any stage runs.
"""

from __future__ import annotations

from pathlib import Path

from scorelab.codecs.base import check_dataset, get_codec
from scorelab.corpora.check import check_corpus
from scorelab.params import all_corpora, check_structure, load_params, resolve_dataset
from scorelab.training.check import check_variant


def validate(params: dict) -> dict:
    """Check the whole file; return it unchanged. Raises ParamsError naming the key.

    The catalogues (conf/catalogues/) are checked when composed: tests compose each one.
    """
    check_structure(params)
    for name in all_corpora(params):
        check_corpus(params, name)
    for name in params["datasets"]:
        check_dataset(params, name)
    for name, v in params["variants"].items():
        _, codec, settings = resolve_dataset(params, v["dataset"])
        encoding = get_codec(codec, settings).describe()
        if isinstance(encoding.get("shape"), list):  # a size known only from the data: 1
            encoding["shape"] = [s if s is not None else 1 for s in encoding["shape"]]
        check_variant(params, name, encoding, partial=True)
    return params


def load_valid_params(path: Path | str = "params.yaml") -> dict:
    """:func:`scorelab.params.load_params`, then :func:`validate`."""
    return validate(load_params(path))
