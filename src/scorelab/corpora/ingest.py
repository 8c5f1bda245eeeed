"""Stream a corpus's jobs into ``notes.parquet``, batch by batch, in bounded memory.

The corpus builder (:func:`scorelab.corpora.build.build_corpus`) hands its jobs here in
their listed order. They are cut into tasks (:func:`_tasks`): runs of at most
:data:`MIDI_TASK` MIDI jobs (kinds :data:`MIDI_KINDS`) or :data:`POOL_CHUNK` others.
A task is read by :func:`_read_task` in guarded reader processes
(:class:`~scorelab.corpora.guard.GuardedPool`: a memory ceiling and a wall-time limit
per job, a worker that dies or runs past its time costs only the job at fault) whenever
the corpus has a non-MIDI job or enough MIDI files to pay for processes
(:func:`_use_pool`), a bounded number of tasks ahead of the writer, results in task
order:

- a MIDI task reads per file only the bytes, symusic's parse and the raw NumPy arrays
  (:meth:`scorelab.io.midi.MidiBatch.add`), then converts the task's files in one
  vectorised pass (:meth:`~scorelab.io.midi.MidiBatch.convert`). Until the 20,000-file
  benchmark of ``benchmarks/ingest.py`` showed the stage at 19-24 times pretty_midi
  against 50 asked, MIDI was read in the stage's own process, on one core;
- any other task (music21's formats, the seed corpora's readers) by
  :func:`scorelab.corpora.sources.read_job`, job by job.

A batch closes after :data:`BATCH_PIECES` pieces or :data:`BATCH_NOTES` notes, whichever
comes first, and becomes one Arrow table, one row group of ``notes.parquet`` (written by
one ``pyarrow.parquet.ParquetWriter`` on one background thread, while the next batch is
parsed): the stage holds the batch being filled, the one being written and the tasks in flight
(:data:`POOL_AHEAD` per worker), whatever the corpus's size. What survives a batch is
one small row per piece (:class:`PieceEntry`, for ``pieces.parquet``) and one per
rejected job. Batches depend only on the job order and note counts (never on tasks or
workers: a piece's conversion depends on that piece alone), row groups are written in
batch order, and the schema is fixed (:func:`notes_schema`), so the same source gives
the same bytes with any number of workers.
"""

from __future__ import annotations

import json
import os
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from scorelab.constants import DEFAULT_RESOLUTION
from scorelab.corpora.jobs import Job
from scorelab.errors import CorpusReadError, ScoreValidationError
from scorelab.io.limits import DEFAULT_LIMITS, ReadLimits, read_bounded
from scorelab.io.midi import MidiBatch, MidiNotes, midi_header_problem
from scorelab.score import NOTE_COLUMNS, NOTE_DTYPES, Score

MIDI_KINDS = ("midi", "local_midi", "zip_midi")  # read in-process by MidiBatch
BATCH_PIECES = 256  # a batch (one row group of notes.parquet) closes at this many pieces...
BATCH_NOTES = 1 << 20  # ...or at this many notes, whichever comes first
POOL_CHUNK = 1  # non-MIDI jobs per worker task: each gets its own parse_seconds (a task of k had k times one)
MIDI_TASK = 64  # MIDI jobs per worker task: parsed and converted together there
MIDI_POOL_MIN = 2048  # fewer MIDI files than this are read in this process (the pool costs more)
POOL_AHEAD = 8  # worker tasks in flight per worker: bounds the parsed notes waiting

DICTIONARY_COLUMNS = ("piece_id", "track", "pitch", "velocity")  # see NotesWriter
_ARROW_TYPES = {"int16": pa.int16(), "int64": pa.int64(), "float64": pa.float64()}


@lru_cache(maxsize=1)
def notes_schema() -> pa.Schema:
    """The schema of ``notes.parquet``: ``piece_id`` then ``NOTE_COLUMNS`` in ``NOTE_DTYPES``.

    Written out field by field; the schema metadata is the pandas metadata
    ``DataFrame.to_parquet`` wrote for the same table (via ``scores_to_tables``), so
    ``pd.read_parquet`` gives back the same dtypes (``piece_id`` as pandas' ``string``)
    as the files written before batching.
    """
    fields = [pa.field("piece_id", pa.large_string())]
    fields += [pa.field(c, _ARROW_TYPES[NOTE_DTYPES[c]]) for c in NOTE_COLUMNS]
    empty = pd.DataFrame({c: pd.Series(dtype=t) for c, t in NOTE_DTYPES.items()})
    empty.insert(0, "piece_id", pd.Series(dtype="string"))
    meta = pa.Schema.from_pandas(empty, preserve_index=False).metadata
    return pa.schema(fields, metadata=meta)


class NotesWriter:
    """``notes.parquet`` written one row group per batch.

    :meth:`table` builds a batch's Arrow table (in the caller's thread); :meth:`write`
    appends it as one row group. pyarrow encodes without the GIL, so the builder writes
    batch k on one background thread while it parses batch k + 1, one batch at a time
    and in order (the same bytes as writing in line).

    Parameters
    ----------
    path
        The file (inside the builder's temporary folder: a failed build leaves nothing).
    """

    def __init__(self, path: Path | str):
        self.schema = notes_schema()
        # Dictionary pages only for the columns of few distinct values (piece ids, tracks,
        # pitches, velocities). pyarrow's default, a dictionary for every column, also
        # builds one for the ticks and seconds, values that are mostly distinct. Measured
        # on the 20,000-file synthetic corpus (7.0M notes, 2-core EPYC, quiet): writing
        # 1.43 -> 0.88 s, reading 1.14 -> 0.35 s, 163 -> 159 MB.
        self._writer = pq.ParquetWriter(
            str(path), self.schema, compression="snappy", use_dictionary=list(DICTIONARY_COLUMNS)
        )
        self.row_groups = 0
        self.rows = 0

    def table(self, piece_ids: list[str], counts: np.ndarray, columns: dict[str, np.ndarray]) -> pa.Table:
        """One batch as a table: ``counts[i]`` rows of ``piece_ids[i]``, columns in piece order."""
        which = np.repeat(np.arange(len(piece_ids), dtype=np.int32), counts)
        ids = pa.array(piece_ids, type=pa.large_string()).take(pa.array(which))
        arrays = [ids] + [pa.array(columns[c], type=self.schema.field(c).type) for c in NOTE_COLUMNS]
        return pa.Table.from_arrays(arrays, schema=self.schema)

    def write(self, table: pa.Table) -> None:
        """Append ``table`` as one row group (nothing for an empty table)."""
        if table.num_rows == 0:
            return
        self._writer.write_table(table, row_group_size=table.num_rows)
        self.row_groups += 1
        self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()


@dataclass
class PieceEntry:
    """A kept piece: its row of ``pieces.parquet`` and the split its source gave (or "")."""

    piece_id: str
    split: str
    row: dict

    def piece_row(self) -> dict:
        """The row with the entry's (final) split."""
        return {**self.row, "split": self.split}


@dataclass
class Ingested:
    """What :func:`ingest_jobs` leaves: one entry per kept piece and per rejected job, in job order."""

    pieces: list[PieceEntry] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    notes: int = 0
    row_groups: int = 0


def _read(args: tuple[Job, str, int, ReadLimits]) -> tuple[Score | None, str | None]:
    """Worker: a Score, or the reason it could not be read (never raises)."""
    from scorelab.corpora.sources import read_job  # deferred: sources imports the readers

    job, corpus, n_tracks, limits = args
    try:
        return read_job(job, corpus, n_tracks, limits), None
    except (CorpusReadError, ScoreValidationError) as exc:
        return None, str(exc)
    except Exception as exc:  # a parser bug on one file must not stop the corpus
        return None, _unexpected(job, exc)


def _unexpected(job: Job, exc: Exception) -> str:
    return f"{job.source}: {type(exc).__name__}: {exc}"


class _Zips:
    """The zip archive of the last ``zip_midi`` job, kept open for the next member."""

    def __init__(self) -> None:
        self._path: str | None = None
        self._zip = None

    def get(self, path: str):
        if path != self._path:
            from scorelab.corpora.archives import _open_zip

            self.close()
            self._zip = _open_zip(Path(path))
            self._path = path
        return self._zip

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        self._path, self._zip = None, None


def midi_job_bytes(job: Job, zips: _Zips, limits: ReadLimits = DEFAULT_LIMITS) -> tuple[bytes, str]:
    """A MIDI job's file bytes and the source its Score and errors name.

    Does what each kind's reader does before parsing, with its messages: ``midi`` as
    :func:`scorelab.io.midi.read_midi`; ``local_midi`` and ``zip_midi`` as
    :mod:`scorelab.corpora.local` and :mod:`scorelab.corpora.archives`, header check
    (:func:`~scorelab.io.midi.midi_header_problem`) included, for every kind
    (``midi_folder``'s ``midi`` jobs once skipped it and took type-2 files ``local``
    refused). A file is read only when it is a regular file within ``limits.max_bytes``
    (:func:`~scorelab.io.limits.read_bounded`: a FIFO, a device or a symlink is refused
    before it can hang or flood the reader); a zip member by its declared size first.

    Raises
    ------
    CorpusReadError
        The file or member cannot be read, is over the limit, or its header is refused.
    """
    if job.kind in ("midi", "local_midi"):
        try:
            data = read_bounded(job.payload, limits)
        except OSError as err:
            raise CorpusReadError(f"{job.source}: cannot read file: {err}") from err
    elif job.kind == "zip_midi":
        where = json.loads(job.payload)
        zf = zips.get(where["path"])
        try:
            size = zf.getinfo(where["member"]).file_size
            if size > limits.max_bytes:
                raise CorpusReadError(
                    f"{job.source}: member of {size} bytes, over limits.max_bytes ({limits.max_bytes})"
                )
            data = zf.read(where["member"])
        except (KeyError, OSError, zipfile.BadZipFile) as err:
            raise CorpusReadError(f"{job.source}: cannot read member: {err}") from err
    else:
        raise ValueError(f"not a MIDI job kind: {job.kind!r}; valid: {list(MIDI_KINDS)}")
    problem = midi_header_problem(data)
    if problem:
        raise CorpusReadError(f"{job.source}: {problem}")
    return data, job.source


def _midi_row(notes: MidiNotes, i: int, corpus: str) -> dict:
    """Piece ``i``'s row of the piece table, as ``Score.piece_row`` gives it."""
    num, den = notes.time_signatures[i]
    return {
        "piece_id": notes.piece_ids[i],
        "corpus": corpus,
        "split": "",
        "source": notes.sources[i],
        "sha256": notes.sha256[i],
        "resolution": int(notes.resolution),
        "length": int(notes.length[i]),
        "time_signature": f"{num}/{den}",
        "tempo": float(notes.tempo[i]),
        "key": "",
        "tracks": json.dumps([[t.name, t.program, t.is_drum] for t in notes.tracks[i]]),
        "n_notes": int(notes.counts[i]),
    }


@dataclass
class _Part:
    """What one task read: its jobs' slots in job order and the MIDI notes they index.

    A slot is an ``int`` (the piece's index in ``midi``), a parsed :class:`Score`, or the
    reason the job was rejected. ``notes[k]`` is the notes slot ``k`` brings to a batch:
    a MIDI file's raw note count as :class:`~scorelab.io.midi.MidiBatch` counted it when
    added (also for a piece its conversion then rejects), a Score's rows, 0 for a reason.
    """

    slots: list
    notes: list[int]
    midi: MidiNotes | None = None


# The zip archive a process last read a member from: a large archive's central
# directory is read once per process, not once per task.
_ZIPS = _Zips()


def _read_task(task: tuple[list[Job], str, int, int, ReadLimits]) -> _Part:
    """Read a run of jobs of one family (MIDI or not), in a worker or in this process.

    MIDI jobs are parsed into one :class:`~scorelab.io.midi.MidiBatch` and converted
    together at the end of the task; the conversion of a piece depends on that piece
    alone, so the notes do not depend on how jobs are grouped into tasks.
    """
    jobs, corpus, n_tracks, resolution, limits = task
    if not jobs or jobs[0].kind not in MIDI_KINDS:
        slots, notes = [], []
        for job in jobs:
            score, reason = _read((job, corpus, n_tracks, limits))
            slots.append(reason if score is None else score)
            notes.append(0 if score is None else len(score.notes))
        return _Part(slots, notes)
    batch = MidiBatch(limits)
    slots, notes = [], []
    for job in jobs:
        before = batch.n_notes
        try:
            data, source = midi_job_bytes(job, _ZIPS, limits)
            slot = batch.add(data, source, job.piece_id or Path(source).stem)
        except (CorpusReadError, ScoreValidationError) as exc:
            slot = str(exc)
        except Exception as exc:  # a parser bug on one file must not stop the corpus
            slot = _unexpected(job, exc)
        slots.append(slot)
        notes.append(batch.n_notes - before)
    return _Part(slots, notes, batch.convert(resolution) if len(batch) else None)


def _tasks(jobs: list[Job]) -> list[list[Job]]:
    """``jobs`` cut into tasks in order: runs of one family, :data:`MIDI_TASK` MIDI jobs or
    :data:`POOL_CHUNK` others at most (a MIDI file is parsed in about a millisecond, a
    music21 one in tens to thousands)."""
    tasks: list[list[Job]] = []
    for job in jobs:
        midi = job.kind in MIDI_KINDS
        size = MIDI_TASK if midi else POOL_CHUNK
        if tasks and (tasks[-1][0].kind in MIDI_KINDS) == midi and len(tasks[-1]) < size:
            tasks[-1].append(job)
        else:
            tasks.append([job])
    return tasks


def _use_pool(jobs: list[Job], workers: int) -> bool:
    """Reader processes: always for music21's formats and the other non-MIDI readers (they
    can run away: the guard's time and memory limits need a process to stop), and for
    :data:`MIDI_POOL_MIN` MIDI files or more on several cores (below that the processes
    cost more than they save; symusic's parse is bounded by the limits checked before
    and after it)."""
    midi = sum(j.kind in MIDI_KINDS for j in jobs)
    return len(jobs) > midi or (workers > 1 and midi >= MIDI_POOL_MIN)


def _single_tasks(task: tuple) -> list[tuple]:
    """A task as one task per job (how :class:`~scorelab.corpora.guard.GuardedPool` retries a failed one)."""
    jobs, *rest = task
    return [([job], *rest) for job in jobs]


def _lost_job(task: tuple, reason: str) -> _Part:
    """The part of a one-job task whose reader was stopped or died: the job, rejected."""
    (job,), *_ = task
    return _Part([f"{job.source}: {reason}"], [0])


class _Batch:
    """The slots of one batch in job order, and the notes they bring."""

    def __init__(self) -> None:
        self.slots: list[tuple[Job, tuple[MidiNotes, int] | Score | str]] = []
        self.n_notes = 0


def ingest_jobs(
    jobs: list[Job],
    corpus: str,
    n_tracks: int,
    notes_path: Path | str,
    workers: int | None = None,
    batch_pieces: int = BATCH_PIECES,
    batch_notes: int = BATCH_NOTES,
    resolution: int = DEFAULT_RESOLUTION,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> Ingested:
    """Read every job and write the notes of the readable ones to ``notes_path``.

    Parameters
    ----------
    jobs
        In the order the pieces are written (the builder's listed, deduplicated order).
    corpus
        Stored in every piece.
    n_tracks
        A MIDI piece with fewer tracks is rejected (``read_job``'s rule for every kind).
    notes_path
        The Parquet file; written even when nothing was readable (the caller decides).
    workers
        Reader processes (default: every core); see :func:`_use_pool` for when.
    batch_pieces, batch_notes
        A batch (one row group) closes when it holds this many pieces or notes.
    resolution
        Ticks per quarter of the MIDI pieces.
    limits
        Per-file limits every reader enforces (:mod:`scorelab.io.limits`).

    Returns
    -------
    Ingested
        The kept pieces' rows (split as the source or reader set it, "" otherwise) and the
        rejected jobs with their reasons, both in job order.
    """
    from tqdm import tqdm

    workers = workers or os.cpu_count() or 1
    tasks = [(t, corpus, n_tracks, resolution, limits) for t in _tasks(jobs)]
    if _use_pool(jobs, workers):
        from scorelab.corpora.guard import GuardedPool

        # started before the writer opens files or threads; the workers die with the stage
        pool = GuardedPool(
            _read_task,
            workers,
            limits,
            split=_single_tasks,
            fail=_lost_job,
            jobs_of=lambda t: len(t[0]),
            merge=list,
        )
        parts = _Closing(pool.map(iter(tasks), workers * POOL_AHEAD), pool.close)
    else:
        parts = _LazyMap(_read_task, tasks)
    out = Ingested()
    batch = _Batch()
    try:
        writer = NotesWriter(notes_path)
    except BaseException:
        parts.close()
        raise
    bar = tqdm(total=len(jobs), desc=f"corpus {corpus}", unit="piece", mininterval=2.0)
    writing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notes-parquet")
    pending = None  # the batch being written: at most one, so memory stays bounded

    def flush() -> None:
        nonlocal pending
        table = _flush(batch, corpus, n_tracks, writer, out)
        if pending is not None:
            pending.result()
        pending = writing.submit(writer.write, table) if table is not None else None

    try:
        for (task, *_), got in zip(tasks, parts, strict=True):
            # a task the guard retried job by job comes back as one part per job
            read = [
                (slot, n, p.midi)
                for p in (got if isinstance(got, list) else [got])
                for slot, n in zip(p.slots, p.notes, strict=True)
            ]
            for job, (slot, n, midi) in zip(task, read, strict=True):
                batch.slots.append((job, (midi, slot) if isinstance(slot, int) else slot))
                batch.n_notes += n
                if len(batch.slots) >= batch_pieces or batch.n_notes >= batch_notes:
                    flush()
                    batch = _Batch()
            bar.update(len(task))
        flush()
        if pending is not None:
            pending.result()
    finally:
        bar.close()
        parts.close()
        _ZIPS.close()
        writing.shutdown(wait=True)
        writer.close()
    out.row_groups = writer.row_groups
    out.notes = writer.rows
    return out


class _Closing:
    """An iterator with a ``close()`` that stops what produces it."""

    def __init__(self, it, close):
        self._it, self.close = it, close

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._it)


class _LazyMap:
    """``map(fn, items)`` with a ``close()``: the in-process stand-in for a pool."""

    def __init__(self, fn, items):
        self._it = map(fn, items)

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._it)

    def close(self) -> None:
        pass


def _flush(batch: _Batch, corpus: str, n_tracks: int, writer: NotesWriter, out: Ingested) -> pa.Table | None:
    """Record one batch's pieces and rejections; its notes table, or None."""
    if not batch.slots:
        return None
    ids: list[str] = []
    counts: list[int] = []
    chunks: list[list] = []  # [midi, a, b]: rows a:b of midi.columns; [None, score]: its notes
    for job, slot in batch.slots:
        if isinstance(slot, str):
            out.rejected.append({"corpus": corpus, "source": job.source, "reason": slot})
            continue
        if isinstance(slot, Score):
            out.pieces.append(PieceEntry(slot.piece_id, job.split or slot.split, slot.piece_row()))
            ids.append(slot.piece_id)
            counts.append(len(slot.notes))
            chunks.append([None, slot])
            continue
        midi, k = slot
        reason = midi.errors[k]
        if reason is None and len(midi.tracks[k]) < n_tracks:
            reason = f"{job.source}: has {len(midi.tracks[k])} tracks, expected {n_tracks}"
        if reason is not None:
            out.rejected.append({"corpus": corpus, "source": job.source, "reason": reason})
            continue
        out.pieces.append(PieceEntry(midi.piece_ids[k], job.split, _midi_row(midi, k, corpus)))
        a = int(midi.starts[k])
        b = a + int(midi.counts[k])
        ids.append(midi.piece_ids[k])
        counts.append(b - a)
        if chunks and chunks[-1][0] is midi and chunks[-1][2] == a:
            chunks[-1][2] = b
        else:
            chunks.append([midi, a, b])
    if not chunks:
        return None
    columns = {}
    for c in NOTE_COLUMNS:
        parts = [
            ch[0].columns[c][ch[1] : ch[2]] if ch[0] is not None else ch[1].notes[c].to_numpy(NOTE_DTYPES[c])
            for ch in chunks
        ]
        columns[c] = parts[0] if len(parts) == 1 else np.concatenate(parts)
    return writer.table(ids, np.asarray(counts, np.int64), columns)
