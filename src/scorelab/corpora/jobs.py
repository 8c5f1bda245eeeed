"""The job: one piece to read, as plain data, and the helpers every source lister shares.

Kept apart from :mod:`scorelab.corpora.sources` so the reader modules (which list jobs)
and the source registry (which names the readers) import this and not each other.
:mod:`scorelab.corpora.sources` re-exports every name here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Job:
    """One piece to read: its id, how to read it, and what to read.

    ``kind`` names the reader (see ``sources.read_job``); ``payload`` is a path, a
    corpus name, the ABC text of one tune, or a JSON object for the kinds that need more
    than one value (an archive and its member, a piece's frames). ``split`` is the
    split the source itself assigns (JSB's and MAESTRO's official splits), empty when
    the source has none and the builder draws one.
    """

    piece_id: str
    kind: str
    payload: str
    source: str  # what rejected.parquet names: a file, file#tune, or archive#member
    split: str = ""


def _abc_tunes(text: str) -> list[tuple[str, str]]:
    """Split an ABC file into (X number, tune text) pairs."""
    blocks = re.split(r"\n(?=X:)", "\n" + text)
    out = []
    for block in blocks:
        block = block.strip("\n")
        m = re.match(r"X:\s*(\d+)", block)
        if m:
            out.append((m.group(1), block + "\n"))
    return out


def _prefer_mxl(found) -> Path:
    """One file for a corpus work that music21 ships in several formats (kern and MusicXML).

    MusicXML is preferred: its parts carry the voice names the SATB selection uses.
    """
    if isinstance(found, (list, tuple)):
        mxl = [Path(f) for f in found if Path(f).suffix in (".mxl", ".xml", ".musicxml")]
        return mxl[0] if mxl else Path(found[0])
    return Path(found)


def dedupe(jobs: list[Job]) -> tuple[list[Job], list[tuple[Job, str]]]:
    """Keep the first job of each piece id; the others come back with the reason."""
    seen: dict[str, Job] = {}
    kept, dropped = [], []
    for j in jobs:
        if j.piece_id in seen:
            dropped.append(
                (j, f"{j.source}: duplicate piece id {j.piece_id} (kept {seen[j.piece_id].source})")
            )
        else:
            seen[j.piece_id] = j
            kept.append(j)
    return kept, dropped


def refused_jobs(root: str, refused: list[tuple[str, str]]) -> list[Job]:
    """A ``refused`` job per entry :func:`~scorelab.corpora.walk.files_under` would not read
    (its reason is the payload): recorded as rejected like any unreadable piece."""
    import os

    from scorelab.corpora.walk import printable

    jobs = []
    for rel, why in refused:
        shown = printable(os.path.join(root, rel))
        jobs.append(Job(printable(rel).replace("/", "__"), "refused", f"{shown}: {why}", shown))
    return jobs


def with_unique_ids(jobs: list[Job]) -> list[Job]:
    """``jobs`` with distinct ids for distinct files (:func:`~scorelab.corpora.walk.unique_ids`)."""
    from dataclasses import replace

    from scorelab.corpora.walk import unique_ids

    ids = unique_ids([j.piece_id for j in jobs])
    return [j if j.piece_id == i else replace(j, piece_id=i) for j, i in zip(jobs, ids, strict=True)]
