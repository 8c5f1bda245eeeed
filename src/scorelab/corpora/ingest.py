"""Stream a corpus's jobs into ``notes.parquet``, batch by batch, in bounded memory.

The corpus builder (:func:`scorelab.corpora.build.build_corpus`) hands its jobs here in
their listed order. They are read in two ways:

- MIDI jobs (kinds :data:`MIDI_KINDS`) in this process: per file only the bytes, symusic's
  parse and the raw NumPy arrays (:meth:`scorelab.io.midi.MidiBatch.add`), since a worker
  process costs more than symusic's parse of a small file. Each batch is then converted
  in one vectorised pass (:meth:`~scorelab.io.midi.MidiBatch.convert`);
- every other kind (music21's formats, the seed corpora's readers) in worker processes
  over the cores, as :func:`scorelab.corpora.sources.read_job`, a bounded number of jobs
  ahead of the writer, results in job order.

A batch closes after :data:`BATCH_PIECES` pieces or :data:`BATCH_NOTES` notes, whichever
comes first, and becomes one Arrow table, one row group of ``notes.parquet`` (written by
one ``pyarrow.parquet.ParquetWriter`` on one background thread, while the next batch is
parsed): at no time does the process hold more than two batches of notes, the one being
read and the one being written, whatever the corpus's size. What survives a batch is
one small row per piece (:class:`PieceEntry`, for ``pieces.parquet``) and one per
rejected job. Batches depend only on the job order and note counts, row groups are
written in batch order, and the schema is fixed (:func:`notes_schema`), so the same
source gives the same bytes.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from scorelab.constants import DEFAULT_RESOLUTION
from scorelab.corpora.jobs import Job
from scorelab.corpora.local import midi_header_problem
from scorelab.errors import CorpusReadError, ScoreValidationError
from scorelab.io.midi import MidiBatch, MidiNotes
from scorelab.score import NOTE_COLUMNS, NOTE_DTYPES, Score

MIDI_KINDS = ("midi", "local_midi", "zip_midi")  # read in-process by MidiBatch
BATCH_PIECES = 256  # a batch (one row group of notes.parquet) closes at this many pieces...
BATCH_NOTES = 1 << 20  # ...or at this many notes, whichever comes first
POOL_CHUNK = 4  # jobs per worker task (as parse_jobs' chunksize)
POOL_AHEAD = 8  # worker tasks in flight per worker: bounds the parsed Scores waiting

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
        self._writer = pq.ParquetWriter(str(path), self.schema, compression="snappy")
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


def _read(args: tuple[Job, str, int]) -> tuple[Score | None, str | None]:
    """Worker: a Score, or the reason it could not be read (never raises)."""
    from scorelab.corpora.sources import read_job  # deferred: sources imports the readers

    job, corpus, n_tracks = args
    try:
        return read_job(job, corpus, n_tracks), None
    except (CorpusReadError, ScoreValidationError) as exc:
        return None, str(exc)
    except Exception as exc:  # a parser bug on one file must not stop the corpus
        return None, _unexpected(job, exc)


def _unexpected(job: Job, exc: Exception) -> str:
    return f"{job.source}: {type(exc).__name__}: {exc}"


def _read_chunk(chunk: list[tuple[Job, str, int]]) -> list[tuple[Score | None, str | None]]:
    return [_read(a) for a in chunk]


class _InOrder:
    """Results of chunks submitted to a pool, in submission order, a bounded number ahead."""

    def __init__(self, pool, chunks: Iterator[list], ahead: int):
        self._pool = pool
        self._chunks = chunks
        self._pending = deque(pool.submit(_read_chunk, c) for c in islice(chunks, ahead))
        self._done: deque = deque()

    def __iter__(self):
        return self

    def __next__(self) -> tuple[Score | None, str | None]:
        while not self._done:
            if not self._pending:
                raise StopIteration
            self._done.extend(self._pending.popleft().result())
            nxt = next(self._chunks, None)
            if nxt is not None:
                self._pending.append(self._pool.submit(_read_chunk, nxt))
        return self._done.popleft()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class _Serial:
    """The same interface, parsing in this process."""

    def __init__(self, args: list):
        self._args = iter(args)

    def __iter__(self):
        return self

    def __next__(self) -> tuple[Score | None, str | None]:
        return _read(next(self._args))

    def close(self) -> None:
        pass


def iter_parse_jobs(jobs: list[Job], corpus: str, n_tracks: int, workers: int | None = None):
    """An iterator of ``(score, None)`` or ``(None, reason)`` per job, in job order; call ``close()``.

    In this process when ``workers <= 1`` or there are fewer than 8 jobs; otherwise in a
    process pool, started here (before the caller opens files or threads), that runs at
    most :data:`POOL_AHEAD` tasks of :data:`POOL_CHUNK` jobs per worker ahead of the
    consumer, so finished Scores never pile up without bound.
    """
    workers = workers or os.cpu_count() or 1
    args = [(j, corpus, n_tracks) for j in jobs]
    if workers <= 1 or len(jobs) < 8:
        return _Serial(args)
    from concurrent.futures import ProcessPoolExecutor

    from scorelab.process import die_with_parent

    chunks = (args[i : i + POOL_CHUNK] for i in range(0, len(args), POOL_CHUNK))
    # the workers die with the stage: a `kill -9` of `dvc repro` had left them behind for
    # good (two 250 MB idle processes per killed corpus stage, seen in the fault tests)
    pool = ProcessPoolExecutor(max_workers=workers, initializer=die_with_parent)
    return _InOrder(pool, chunks, workers * POOL_AHEAD)


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


def midi_job_bytes(job: Job, zips: _Zips) -> tuple[bytes, str]:
    """A MIDI job's file bytes and the source its Score and errors name.

    Does what each kind's reader does before parsing, with its messages: ``midi`` as
    :func:`scorelab.io.midi.read_midi`; ``local_midi`` and ``zip_midi`` as
    :mod:`scorelab.corpora.local` and :mod:`scorelab.corpora.archives`, header check
    (:func:`~scorelab.corpora.local.midi_header_problem`) included.

    Raises
    ------
    CorpusReadError
        The file or member cannot be read, or its header is refused.
    """
    if job.kind == "midi":
        path = Path(job.payload)
        try:
            return path.read_bytes(), str(path)
        except OSError as err:
            raise CorpusReadError(f"{path}: cannot read file: {err}") from err
    if job.kind == "local_midi":
        try:
            data = Path(job.payload).read_bytes()
        except OSError as err:
            raise CorpusReadError(f"{job.source}: cannot read file: {err}") from err
    elif job.kind == "zip_midi":
        where = json.loads(job.payload)
        zf = zips.get(where["path"])
        try:
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


class _Batch:
    """The jobs of one batch in job order: a MIDI index, a parsed Score, or a reason."""

    def __init__(self) -> None:
        self.midi = MidiBatch()
        self.slots: list[tuple[Job, int | Score | str]] = []
        self.score_notes = 0

    @property
    def n_notes(self) -> int:
        return self.midi.n_notes + self.score_notes


def ingest_jobs(
    jobs: list[Job],
    corpus: str,
    n_tracks: int,
    notes_path: Path | str,
    workers: int | None = None,
    batch_pieces: int = BATCH_PIECES,
    batch_notes: int = BATCH_NOTES,
    resolution: int = DEFAULT_RESOLUTION,
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
        Processes for the non-MIDI jobs (default: every core).
    batch_pieces, batch_notes
        A batch (one row group) closes when it holds this many pieces or notes.
    resolution
        Ticks per quarter of the MIDI pieces.

    Returns
    -------
    Ingested
        The kept pieces' rows (split as the source or reader set it, "" otherwise) and the
        rejected jobs with their reasons, both in job order.
    """
    from tqdm import tqdm

    out = Ingested()
    others = [j for j in jobs if j.kind not in MIDI_KINDS]
    parsed = iter_parse_jobs(others, corpus, n_tracks, workers)  # forks first, if at all
    zips = _Zips()
    batch = _Batch()
    try:
        writer = NotesWriter(notes_path)
    except BaseException:
        parsed.close()
        raise
    bar = tqdm(total=len(jobs), desc=f"corpus {corpus}", unit="piece", mininterval=2.0)
    writing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notes-parquet")
    pending = None  # the batch being written: at most one, so memory stays bounded

    def flush() -> None:
        nonlocal pending
        table = _flush(batch, corpus, n_tracks, resolution, writer, out)
        if pending is not None:
            pending.result()
        pending = writing.submit(writer.write, table) if table is not None else None

    try:
        for job in jobs:
            if job.kind in MIDI_KINDS:
                try:
                    data, source = midi_job_bytes(job, zips)
                    slot = batch.midi.add(data, source, job.piece_id or Path(source).stem)
                except (CorpusReadError, ScoreValidationError) as exc:
                    slot = str(exc)
                except Exception as exc:  # a parser bug on one file must not stop the corpus
                    slot = _unexpected(job, exc)
            else:
                score, reason = next(parsed)
                slot = reason if score is None else score
                if score is not None:
                    batch.score_notes += len(score.notes)
            batch.slots.append((job, slot))
            bar.update(1)
            if len(batch.slots) >= batch_pieces or batch.n_notes >= batch_notes:
                flush()
                batch = _Batch()
        flush()
        if pending is not None:
            pending.result()
    finally:
        bar.close()
        zips.close()
        parsed.close()
        writing.shutdown(wait=True)
        writer.close()
    out.row_groups = writer.row_groups
    out.notes = writer.rows
    return out


def _flush(
    batch: _Batch, corpus: str, n_tracks: int, resolution: int, writer: NotesWriter, out: Ingested
) -> pa.Table | None:
    """Convert one batch and record its pieces and rejections; its notes table, or None."""
    if not batch.slots:
        return None
    midi = batch.midi.convert(resolution) if len(batch.midi) else None
    ids: list[str] = []
    counts: list[int] = []
    chunks: list[list] = []  # [None, a, b]: rows a:b of midi.columns; [score]: its notes
    for job, slot in batch.slots:
        if isinstance(slot, str):
            out.rejected.append({"corpus": corpus, "source": job.source, "reason": slot})
            continue
        if isinstance(slot, Score):
            out.pieces.append(PieceEntry(slot.piece_id, job.split or slot.split, slot.piece_row()))
            ids.append(slot.piece_id)
            counts.append(len(slot.notes))
            chunks.append([slot])
            continue
        reason = midi.errors[slot]
        if reason is None and len(midi.tracks[slot]) < n_tracks:
            reason = f"{job.source}: has {len(midi.tracks[slot])} tracks, expected {n_tracks}"
        if reason is not None:
            out.rejected.append({"corpus": corpus, "source": job.source, "reason": reason})
            continue
        out.pieces.append(PieceEntry(midi.piece_ids[slot], job.split, _midi_row(midi, slot, corpus)))
        a = int(midi.starts[slot])
        b = a + int(midi.counts[slot])
        ids.append(midi.piece_ids[slot])
        counts.append(b - a)
        if chunks and chunks[-1][0] is None and chunks[-1][2] == a:
            chunks[-1][2] = b
        else:
            chunks.append([None, a, b])
    if not chunks:
        return None
    columns = {}
    for c in NOTE_COLUMNS:
        parts = [
            midi.columns[c][ch[1] : ch[2]] if ch[0] is None else ch[0].notes[c].to_numpy(NOTE_DTYPES[c])
            for ch in chunks
        ]
        columns[c] = parts[0] if len(parts) == 1 else np.concatenate(parts)
    return writer.table(ids, np.asarray(counts, np.int64), columns)
