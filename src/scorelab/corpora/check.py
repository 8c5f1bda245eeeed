"""The corpus stage's part of params.yaml: one corpus's source, paths and downloads.

Kept out of scorelab.params so that module imports nothing but the config helpers: every
stage imports it, and whatever it imports would be every stage's dependency (issue 20).
"""

from __future__ import annotations

from scorelab.config import from_dict
from scorelab.errors import ParamsError
from scorelab.params import FOLDER_SOURCES, CorpusSection


def check_corpus(params: dict, name: str) -> None:
    """Corpus ``name`` (under ``corpora`` or ``fetched``): its source, paths and downloads.

    Raises
    ------
    ParamsError
        Naming the key: a corpus from outside the repository under ``corpora:``, one with
        nothing to fetch under ``fetched:``, a bad ``download:`` entry, missing ``paths``.
    """
    from scorelab.corpora.readers import PATHLESS_SOURCES

    section = "corpora" if name in params["corpora"] else "fetched"
    if name not in (params.get(section) or {}):
        raise ParamsError(f"corpora.{name}: no such corpus (nor under fetched:)")
    corpus = from_dict(CorpusSection, params[section][name], f"{section}.{name}")
    outside = corpus.download is not None or corpus.source in FOLDER_SOURCES
    if section == "corpora" and outside:
        raise ParamsError(
            f"corpora.{name}: a corpus from outside the repository (download: or source "
            f"{corpus.source}) goes under fetched:, which gives it a fetch stage"
        )
    if section == "fetched" and not outside:
        raise ParamsError(
            f"fetched.{name}: nothing to fetch (no download: entry and source {corpus.source!r} "
            f"is not one of {list(FOLDER_SOURCES)}); put it under corpora:"
        )
    if corpus.download is not None:
        from scorelab.corpora.fetch import parse_downloads

        parse_downloads(corpus.download, name)
    elif not corpus.paths and corpus.source not in PATHLESS_SOURCES:
        raise ParamsError(f"{section}.{name}.paths: required (or a download: entry)")
