"""A user's own folders of mixed formats, and music21's bundled classical works.

``local``: every ``.mid/.midi`` (read with symusic), ``.mxl/.musicxml/.xml/.krn``
(music21) and ``.abc`` (music21, one job per ``X:`` tune) below one or more folders,
nested folders and names with spaces included. A piece id is the file's path below its
folder without the suffix, ``/`` written ``__``; when two files differ only in their
suffix each keeps it (``song_mid``, ``song_mxl``), and with several folders each id
starts with its folder's name. Ids therefore depend only on the files' relative paths.

``classical``: the keyboard and chamber works music21 ships (offline), whole composer
folders from :data:`CLASSICAL_COMPOSERS`; a work shipped as both kern and MusicXML is
read once, from the MusicXML; Roman-numeral analyses (``.rntxt``) are not music and
are not listed.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from scorelab.corpora.jobs import Job, _abc_tunes, _prefer_mxl, refused_jobs, with_unique_ids
from scorelab.corpora.walk import LOCAL_SUFFIXES, MIDI_SUFFIXES, MUSIC21_SUFFIXES, files_under
from scorelab.errors import CorpusReadError
from scorelab.io.limits import read_bounded
from scorelab.io.midi import midi_header_problem
from scorelab.score import Score

# music21 10.5's keyboard and chamber music (65 files once kern duplicates are dropped):
# beethoven 22 (string quartets), chopin 1 (mazurka, kern), cpebach 1, corelli 1 (trio
# sonata), haydn 9 (quartets), joplin 1 (Maple Leaf Rag), mozart 16 (quartets, K.545),
# schoenberg 2 (op. 19 piano pieces), schumann_clara 5, schumann_robert 7. music21
# ships no Scarlatti; opera, lied-only and concerto folders (verdi, handel, schubert,
# beach, weber) are left out.
CLASSICAL_COMPOSERS = (
    "beethoven",
    "chopin",
    "cpebach",
    "corelli",
    "haydn",
    "joplin",
    "mozart",
    "schoenberg",
    "schumann_clara",
    "schumann_robert",
)


def read_midi_data(data: bytes, source: str, corpus: str, piece_id: str) -> Score:
    """A Score from MIDI bytes, after :func:`midi_header_problem`.

    Raises
    ------
    CorpusReadError
        Naming ``source``: a refused header, or any reason of ``read_midi_bytes``.
    """
    from scorelab.io.midi import read_midi_bytes

    problem = midi_header_problem(data)
    if problem:
        raise CorpusReadError(f"{source}: {problem}")
    return read_midi_bytes(data, source, corpus=corpus, piece_id=piece_id)


def read_local_midi_job(job: Job, corpus: str) -> Score:
    """Read a ``local_midi`` job (payload: the file's path)."""
    try:
        data = read_bounded(job.payload)
    except OSError as err:
        raise CorpusReadError(f"{job.source}: cannot read file: {err}") from err
    return read_midi_data(data, job.source, corpus, job.piece_id)


def decode_abc(data: bytes) -> str:
    """ABC text: UTF-8 when it decodes, else Latin-1 (older collections such as Essen)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def abc_text_jobs(text: str, base_id: str, source: str) -> list[Job]:
    """One ``abc_tune`` job per ``X:`` tune, ids ``<base_id>_<X:04d>``.

    A number used twice in one file keeps both tunes (the second gets ``_2``), and text
    with no ``X:`` line at all is one job, so that music21 reports why it cannot be read
    instead of the file vanishing from the corpus.
    """
    tunes = _abc_tunes(text)
    if not tunes:
        return [Job(f"{base_id}_0000", "abc_tune", text, f"{source}#X:none")]
    jobs, seen = [], {}
    for number, tune in tunes:
        seen[number] = seen.get(number, 0) + 1
        suffix = f"_{seen[number]}" if seen[number] > 1 else ""
        jobs.append(Job(f"{base_id}_{int(number):04d}{suffix}", "abc_tune", tune, f"{source}#X:{number}"))
    return jobs


def local_jobs(paths: list[str]) -> list[Job]:
    """Jobs for every supported file below the given folders, in sorted path order.

    A file that cannot be taken (a name that is not valid UTF-8, an ABC file that
    cannot be read within the default limits) becomes a ``refused`` job: it is recorded
    with its reason like any unreadable piece, and the rest of the folder is read.
    Distinct files get distinct ids (:func:`~scorelab.corpora.walk.unique_ids`).

    Raises
    ------
    CorpusReadError
        When a path is not a folder.
    """
    roots = [Path(p) for p in paths]
    for root in roots:
        if not root.is_dir():
            raise CorpusReadError(f"{root}: not a folder")
    jobs = []
    for root in roots:
        # regular files only, no symlink followed (scorelab.corpora.walk)
        refused: list[tuple[str, str]] = []
        files = [root / rel for rel in files_under(root, LOCAL_SUFFIXES, refused)]
        jobs += refused_jobs(str(root), refused)
        stems = Counter(f.relative_to(root).with_suffix("") for f in files)
        prefix = f"{root.resolve().name}__" if len(roots) > 1 else ""
        for f in files:
            rel = f.relative_to(root).with_suffix("")
            piece_id = prefix + "__".join(rel.parts)
            if stems[rel] > 1:
                piece_id += "_" + f.suffix.lower().lstrip(".")
            suffix = f.suffix.lower()
            if suffix in MIDI_SUFFIXES:
                jobs.append(Job(piece_id, "local_midi", str(f), str(f)))
            elif suffix in MUSIC21_SUFFIXES:
                jobs.append(Job(piece_id, "m21_file", str(f), str(f)))
            else:
                try:
                    text = decode_abc(read_bounded(f))
                except OSError as err:
                    jobs.append(Job(piece_id, "refused", f"{f}: cannot read file: {err}", str(f)))
                    continue
                jobs += abc_text_jobs(text, piece_id, str(f))
    return with_unique_ids(jobs)


def classical_jobs(paths: list[str] | None = None) -> list[Job]:
    """``m21_file`` jobs for music21's bundled works by the given composers, sorted by path.

    ``paths`` names music21 composer folders; empty or None means
    :data:`CLASSICAL_COMPOSERS`. Ids are the corpus path without suffix, ``/`` written
    ``__`` (``beethoven__opus18no1__movement1``).

    Raises
    ------
    CorpusReadError
        When music21 ships nothing under a name.
    """
    from music21 import common, corpus

    root = Path(common.getCorpusFilePath())
    works: dict[Path, list[Path]] = {}
    for composer in paths or CLASSICAL_COMPOSERS:
        found = [Path(p) for p in corpus.getComposer(composer) if Path(p).suffix in MUSIC21_SUFFIXES]
        if not found:
            raise CorpusReadError(f"music21 ships no works under {composer!r}")
        for f in found:
            works.setdefault(f.relative_to(root).with_suffix(""), []).append(f)
    jobs = []
    for rel in sorted(works):
        path = _prefer_mxl(sorted(works[rel]))
        jobs.append(Job("__".join(rel.parts), "m21_file", str(path), str(path.relative_to(root))))
    return jobs
