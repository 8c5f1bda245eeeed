"""Zip-archived corpora read member by member: MAESTRO's MIDI and ABC tune collections.

Nothing is extracted: a job names the archive and its member, and the worker that reads
it opens the zip (random access, cheap) and reads that member's bytes.

- MAESTRO v3 (``maestro-v3.0.0-midi.zip``): ``maestro-v3.0.0/maestro-v3.0.0.csv`` lists
  every performance (``canonical_composer, canonical_title, split, year,
  midi_filename, audio_filename, duration``) and ``maestro-v3.0.0/<midi_filename>`` is
  its MIDI file. The split is the CSV's (``train``/``validation``/``test``), so no
  piece of a composition leaks across splits, or a 70/20/10 hash split (Seed S3).
- ABC collections (Essen ESAC ``esac.zip``, Nottingham ``nottingham_database.zip``):
  every ``.abc`` member, one job per ``X:`` tune, parsed by music21 like the bundled
  ABC files.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections import Counter
from pathlib import Path, PurePosixPath

from scorelab.corpora.jobs import Job
from scorelab.corpora.local import abc_text_jobs, decode_abc, read_midi_data
from scorelab.errors import CorpusReadError
from scorelab.score import Score

MAESTRO_SPLITS = {"train": "train", "validation": "valid", "test": "test"}  # CSV name -> project name
MAESTRO_CSV = re.compile(r"(^|/)maestro-v[\d.]+\.csv$")
SPLIT_70_20_10 = (0.2, 0.1)  # (valid, test) fractions of Seed S3's 70/20/10 split


def _open_zip(path: Path) -> zipfile.ZipFile:
    """The zip, or CorpusReadError naming it."""
    try:
        return zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as err:
        raise CorpusReadError(f"{path}: not a readable zip archive: {err}") from err


def maestro_jobs(zip_path: str | Path, split_mode: str = "official", seed: int = 0) -> list[Job]:
    """One ``zip_midi`` job per row of the MAESTRO CSV, in CSV order, with its split.

    Parameters
    ----------
    zip_path
        ``maestro-v3.0.0-midi.zip`` (or any zip with a ``maestro-v*.csv`` and the MIDI
        files at the paths it names, relative to the CSV's folder).
    split_mode
        ``"official"``: the CSV's split (``validation`` -> ``valid``). ``"70/20/10"``: a
        hash of (seed, piece id), as ``build.assign_split`` draws every other corpus.
    seed
        The hash split's seed (ignored for ``"official"``).

    Raises
    ------
    CorpusReadError
        When the zip has no MAESTRO CSV, the CSV lacks a column, or a row has an unknown split.
    ValueError
        For an unknown ``split_mode``.
    """
    from scorelab.corpora.build import assign_split  # deferred: build imports the source registry

    if split_mode not in ("official", "70/20/10"):
        raise ValueError(f"unknown split_mode {split_mode!r}; valid: 'official', '70/20/10'")
    zip_path = Path(zip_path)
    with _open_zip(zip_path) as zf:
        found = sorted(n for n in zf.namelist() if MAESTRO_CSV.search(n))
        if not found:
            raise CorpusReadError(f"{zip_path}: no maestro-v*.csv member")
        text = zf.read(found[0]).decode("utf-8-sig")
    folder = PurePosixPath(found[0]).parent
    rows = list(csv.DictReader(io.StringIO(text)))
    missing = {"split", "midi_filename"} - set(rows[0] if rows else {})
    if missing:
        raise CorpusReadError(f"{zip_path}#{found[0]}: no column(s) {sorted(missing)}")
    jobs = []
    for line, row in enumerate(rows, start=2):
        member = str(folder / row["midi_filename"])
        piece_id = PurePosixPath(row["midi_filename"]).stem
        if split_mode == "official":
            if row["split"] not in MAESTRO_SPLITS:
                raise CorpusReadError(f"{zip_path}#{found[0]} line {line}: unknown split {row['split']!r}")
            split = MAESTRO_SPLITS[row["split"]]
        else:
            split = assign_split(piece_id, seed, *SPLIT_70_20_10)
        payload = json.dumps({"path": str(zip_path), "member": member})
        jobs.append(Job(piece_id, "zip_midi", payload, f"{zip_path}#{member}", split))
    return jobs


def maestro_source(paths: list[str], split_mode: str = "official", seed: int = 0) -> list[Job]:
    """:func:`maestro_jobs` over several zips (the ``maestro`` source of the registry)."""
    return [j for p in paths for j in maestro_jobs(p, split_mode, seed)]


def read_zip_midi_job(job: Job, corpus: str) -> Score:
    """Read a ``zip_midi`` job: one MIDI member of a zip, never written to disk.

    Raises
    ------
    CorpusReadError
        Naming ``archive#member``: the member is absent or unreadable, or not valid MIDI.
    """
    where = json.loads(job.payload)
    with _open_zip(Path(where["path"])) as zf:
        try:
            data = zf.read(where["member"])
        except (KeyError, OSError, zipfile.BadZipFile) as err:
            raise CorpusReadError(f"{job.source}: cannot read member: {err}") from err
    score = read_midi_data(data, job.source, corpus, job.piece_id)
    score.split = job.split
    return score


def abc_zip_jobs(zip_path: str | Path) -> list[Job]:
    """``abc_tune`` jobs for every tune of every ``.abc`` member, members in sorted order.

    Ids are ``<member stem>_<X:04d>``; a stem that two members share is replaced by the
    member's path (``/`` written ``__``) so ids stay unique, and a repeated ``X:`` within
    one member keeps both tunes (see :func:`scorelab.corpora.local.abc_text_jobs`). The
    corpus builder still passes every job through ``dedupe``, which records what it drops.

    Raises
    ------
    CorpusReadError
        When the archive cannot be opened or a member cannot be read.
    """
    zip_path = Path(zip_path)
    jobs = []
    with _open_zip(zip_path) as zf:
        names = sorted(
            n
            for n in zf.namelist()
            if n.lower().endswith(".abc") and not n.endswith("/") and not n.startswith("__MACOSX/")
        )
        stems = Counter(PurePosixPath(n).stem for n in names)
        for name in names:
            member = PurePosixPath(name)
            base = member.stem if stems[member.stem] == 1 else "__".join(member.with_suffix("").parts)
            try:
                text = decode_abc(zf.read(name))
            except (OSError, zipfile.BadZipFile) as err:
                raise CorpusReadError(f"{zip_path}#{name}: cannot read member: {err}") from err
            jobs += abc_text_jobs(text, base, f"{zip_path}#{name}")
    return jobs


def abc_zip_source(paths: list[str]) -> list[Job]:
    """:func:`abc_zip_jobs` over several zips (the ``abc_zip`` source of the registry)."""
    return [j for p in paths for j in abc_zip_jobs(p)]
