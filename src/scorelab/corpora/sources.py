"""Where music comes from: each source lists *jobs*, one per piece, and reads one job.

A job is plain data (picklable) so pieces parse in parallel worker processes. Sources:

- ``music21``: the corpus bundled with the music21 package, offline. A path is either
  ``chorales`` (every Bach chorale of ``music21.corpus.chorales``), a corpus work such
  as ``essenFolksong/erk5.abc`` (an ABC file is split into its ``X:`` tunes so each
  tune is one job and one bad tune loses only itself), or any file music21 can parse.
- ``midi_folder``: every ``*.mid``/``*.midi`` under the given folders (a user's own music).
- the seed corpora of :mod:`scorelab.corpora.readers` (``jsb_pickle``, ``jsb_16th``,
  ``lpd``, ``maestro``, ``abc_zip``, ``classical``, ``local``), whose job kinds that
  module's ``JOB_READERS`` reads.

:class:`Job` and the helpers every lister shares live in :mod:`scorelab.corpora.jobs`
and are re-exported here.
"""

from __future__ import annotations

import os
from pathlib import Path

from scorelab.corpora.jobs import Job, _abc_tunes, _prefer_mxl, dedupe, refused_jobs, with_unique_ids
from scorelab.corpora.readers import JOB_READERS, SOURCE_LISTERS
from scorelab.corpora.walk import files_under, suffix
from scorelab.errors import CorpusReadError
from scorelab.io.limits import DEFAULT_LIMITS, ReadLimits, signature_problem
from scorelab.score import Score

__all__ = [
    "SOURCES",
    "Job",
    "_abc_tunes",
    "_prefer_mxl",
    "dedupe",
    "list_jobs",
    "midi_folder_jobs",
    "music21_jobs",
    "read_job",
]


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
    """Jobs for every MIDI file below the given folders, sorted by path.

    Regular files only (:func:`~scorelab.corpora.walk.files_under`). A name that is not
    valid UTF-8 becomes a ``refused`` job (recorded with its reason, not a crash), and
    distinct files get distinct ids (:func:`~scorelab.corpora.walk.unique_ids`).
    """
    jobs = []
    for folder in paths:
        root = Path(folder)
        if not root.is_dir():
            raise CorpusReadError(f"{folder}: not a folder")
        refused: list[tuple[str, str]] = []
        for rel in files_under(root, (".mid", ".midi"), refused):
            path = os.path.join(str(root), rel)
            jobs.append(Job(rel[: -len(suffix(rel))].replace("/", "__"), "midi", path, path))
        jobs += refused_jobs(str(root), refused)
    return with_unique_ids(jobs)


SOURCES = {"music21": music21_jobs, "midi_folder": midi_folder_jobs, **SOURCE_LISTERS}


def list_jobs(source: str, paths: list[str], **options) -> list[Job]:
    """The jobs of a source by name; an unknown name lists the valid ones.

    ``options`` go to the source's lister (e.g. ``tracks`` and ``max_pieces`` for ``lpd``,
    ``split_mode`` for ``maestro``); the two original sources take none.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown corpus source {source!r}; valid: {sorted(SOURCES)}")
    return SOURCES[source](paths, **options)


def score_problem(score: Score, limits: ReadLimits) -> str | None:
    """Why a read Score cannot be stored or is past a limit, or None (every reader's last check).

    Its time signature and tempo must be valid, and its notes, tracks and length in
    ticks (at the Score resolution of 24 per quarter) and seconds (at its tempo) within
    ``limits``.
    """
    from scorelab.constants import DEFAULT_RESOLUTION

    problem = signature_problem(*score.time_signature) or limits.tempo_problem(float(score.tempo))
    if problem:
        return problem
    ticks = score.length * DEFAULT_RESOLUTION // max(score.resolution, 1)
    seconds = score.length / max(score.resolution, 1) * 60.0 / float(score.tempo)
    return limits.piece_problem(len(score.notes), len(score.tracks), ticks, seconds)


def read_job(job: Job, corpus: str, n_tracks: int, limits: ReadLimits = DEFAULT_LIMITS) -> Score:
    """Read one job into a Score (runs in a worker process), within ``limits``.

    Raises
    ------
    CorpusReadError
        For anything that stops the piece from being read (a limit passed included,
        named); the caller records it.
    """
    from scorelab.io import music21_reader as m21r

    if job.kind == "refused":  # a listed file that cannot be read at all (its reason is the payload)
        raise CorpusReadError(job.payload)
    kw = dict(piece_id=job.piece_id, corpus=corpus, n_tracks=n_tracks)
    if job.kind == "abc_tune":
        if len(job.payload.encode("utf-8", "surrogateescape")) > limits.max_bytes:
            raise CorpusReadError(f"{job.source}: tune over limits.max_bytes ({limits.max_bytes})")
        score = m21r.read_abc_tune(job.payload, source=job.source, **kw)
    elif job.kind == "m21_file":
        score = m21r.read_music21_file(Path(job.payload), limits=limits, **kw)
    elif job.kind == "midi" or job.kind in JOB_READERS:
        if job.kind == "midi":
            from scorelab.corpora.ingest import _ZIPS, midi_job_bytes
            from scorelab.io.midi import MidiBatch

            data, source = midi_job_bytes(job, _ZIPS, limits)
            batch = MidiBatch(limits)
            batch.add(data, source, job.piece_id)
            score = batch.convert().score(0, corpus)
        else:
            score = JOB_READERS[job.kind](job, corpus)
        if len(score.tracks) < n_tracks:
            raise CorpusReadError(f"{job.source}: has {len(score.tracks)} tracks, expected {n_tracks}")
    else:
        raise ValueError(
            f"unknown job kind {job.kind!r}; valid: {sorted(['abc_tune', 'm21_file', 'midi', *JOB_READERS])}"
        )
    problem = score_problem(score, limits)
    if problem:
        raise CorpusReadError(f"{job.source}: {problem}")
    if job.split:
        score.split = job.split
    return score
