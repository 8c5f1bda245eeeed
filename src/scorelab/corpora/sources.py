"""Where music comes from: each source lists *jobs*, one per piece, and reads one job.

A job is plain data (picklable) so pieces parse in parallel worker processes. Sources:

- ``music21``: the corpus bundled with the music21 package, offline. A path is either
  ``chorales`` (every Bach chorale of ``music21.corpus.chorales``), a corpus work such
  as ``essenFolksong/erk5.abc`` (an ABC file is split into its ``X:`` tunes so each
  tune is one job and one bad tune loses only itself), or any file music21 can parse.
- ``midi_folder``: every ``*.mid``/``*.midi`` under the given folders (a user's own music).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from scorelab.errors import CorpusReadError
from scorelab.score import Score


@dataclass(frozen=True)
class Job:
    """One piece to read: its id, how to read it, and what to read."""

    piece_id: str
    kind: str  # "m21_file" | "abc_tune" | "midi"
    payload: str  # a path, a corpus name, or the ABC text of one tune
    source: str  # what rejected.parquet names: a file, or file#tune


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


def music21_jobs(paths: list[str]) -> list[Job]:
    """Jobs for music21-bundled works, in a stable order."""
    from music21 import corpus
    from music21.corpus import chorales

    jobs: list[Job] = []
    for spec in paths:
        if spec == "chorales":
            for name in chorales.Iterator(returnType="filename"):
                jobs.append(
                    Job(name.split("/")[-1], "m21_file", str(_prefer_mxl(corpus.getWork(name))), name)
                )
            continue
        path = Path(corpus.getWork(spec))
        if path.suffix == ".abc":
            text = path.read_text(encoding="latin-1")
            for number, tune in _abc_tunes(text):
                jobs.append(Job(f"{path.stem}_{int(number):04d}", "abc_tune", tune, f"{spec}#X:{number}"))
        else:
            jobs.append(Job(path.stem, "m21_file", str(path), spec))
    return jobs


def midi_folder_jobs(paths: list[str]) -> list[Job]:
    """Jobs for every MIDI file below the given folders, sorted by path."""
    jobs = []
    for folder in paths:
        root = Path(folder)
        if not root.is_dir():
            raise CorpusReadError(f"{folder}: not a folder")
        files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".mid", ".midi"))
        for f in files:
            rel = f.relative_to(root).with_suffix("")
            jobs.append(Job(str(rel).replace("/", "__"), "midi", str(f), str(f)))
    return jobs


SOURCES = {"music21": music21_jobs, "midi_folder": midi_folder_jobs}


def list_jobs(source: str, paths: list[str]) -> list[Job]:
    """The jobs of a source by name; an unknown name lists the valid ones."""
    if source not in SOURCES:
        raise ValueError(f"unknown corpus source {source!r}; valid: {sorted(SOURCES)}")
    return SOURCES[source](paths)


def read_job(job: Job, corpus: str, n_tracks: int) -> Score:
    """Read one job into a Score (runs in a worker process).

    Raises
    ------
    CorpusReadError
        For anything that stops the piece from being read; the caller records it.
    """
    from scorelab.io import music21_reader as m21r

    kw = dict(piece_id=job.piece_id, corpus=corpus, n_tracks=n_tracks)
    if job.kind == "abc_tune":
        return m21r.read_abc_tune(job.payload, source=job.source, **kw)
    if job.kind == "m21_file":
        return m21r.read_music21_file(Path(job.payload), **kw)
    if job.kind == "midi":
        from scorelab.io.midi import read_midi

        score = read_midi(Path(job.payload), corpus=corpus, piece_id=job.piece_id)
        if len(score.tracks) < n_tracks:
            raise CorpusReadError(f"{job.source}: has {len(score.tracks)} tracks, expected {n_tracks}")
        return score
    raise ValueError(f"unknown job kind {job.kind!r}")
