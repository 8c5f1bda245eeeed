"""Standard MIDI files <-> Score.

Writing (:func:`midi_bytes`) gives the bytes mido would write, vectorised, so every
byte is ours to decide: a conductor track with the time
signature and tempo, then one track per Score track with its name, its GM program on
its own channel (drums on channel 10), note-offs before note-ons at the same tick (a
repeated pitch is re-struck, not swallowed). Reading uses symusic (a C++ parser, fast
enough for whole corpora) and rescales ticks to the Score's resolution, keeping
velocities and taking seconds from the file's own tempo map. The conversion works on a
batch of files at once (:class:`MidiBatch`): the corpus builder feeds it hundreds of
files and writes the batch's columns straight to Parquet; :func:`read_midi` is a batch
of one.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np
import pandas as pd

from scorelab.constants import DEFAULT_RESOLUTION, DEFAULT_TEMPO_QPM, MIDI_PITCHES
from scorelab.errors import CorpusReadError, ScoreValidationError
from scorelab.io.limits import DEFAULT_LIMITS, ReadLimits, read_bounded, signature_problem
from scorelab.score import NOTE_COLUMNS, Score, Track
from scorelab.utils import atomic_path

DRUM_CHANNEL = 9  # General MIDI percussion: channel 10, zero-based 9
MIDI_CHANNELS = 16
MELODIC_CHANNELS = tuple(c for c in range(MIDI_CHANNELS) if c != DRUM_CHANNEL)


def assign_channels(tracks: list[Track]) -> list[int]:
    """MIDI channel of each track: drums on 9, the others on 0-8, 10-15 in order.

    More than 15 melodic tracks share channels cyclically (a channel keeps the program
    last set on it, so such files can only sound approximately right).
    """
    out, k = [], 0
    for track in tracks:
        if track.is_drum:
            out.append(DRUM_CHANNEL)
        else:
            out.append(MELODIC_CHANNELS[k % len(MELODIC_CHANNELS)])
            k += 1
    return out


def score_to_midifile(score: Score) -> mido.MidiFile:
    """:func:`midi_bytes` read back by mido (type 1, ``resolution`` ticks per quarter), for
    code that walks MIDI messages (S2's image codec paints from them).

    Raises
    ------
    ScoreValidationError
        If a track's program is outside 0-127.
    """
    return mido.MidiFile(file=io.BytesIO(midi_bytes(score)))


def _varints(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MIDI variable-length numbers of ``values`` (< 2**28): (bytes per value, the bytes
    as a (n, 4) array whose first ``k`` columns are a value's ``k`` bytes), as mido's
    ``encode_variable_int`` writes them: 7 bits a byte, most significant first, the high
    bit set on every byte but the last."""
    if values.size and (values.min() < 0 or values.max() >= 1 << 28):
        raise ValueError("a MIDI delta time must be in [0, 2**28)")
    n_bytes = 1 + (values >= 1 << 7).astype(np.int64) + (values >= 1 << 14) + (values >= 1 << 21)
    out = np.zeros((len(values), 4), np.int64)
    for j in range(4):
        shift = 7 * np.maximum(n_bytes - 1 - j, 0)
        out[:, j] = ((values >> shift) & 0x7F) | np.where(j < n_bytes - 1, 0x80, 0)
    return n_bytes, out


def _note_bytes(notes: dict[str, np.ndarray], channel: int) -> bytes:
    """The note events of one track as MTrk bytes, after its program change: note-offs
    and note-ons sorted by tick (offs first at equal ticks, then by key; velocity 0 would
    read as a note-off, so it is written as 1), each as delta time, status byte unless it
    repeats the previous one (running status, as mido writes), key, velocity. Vectorised:
    a noise-like generated piece has tens of thousands of notes, and building a mido
    message per event made MIDI writing most of a sample stage's time (about 0.5 s a
    piece). ``notes``: the track's onset, duration, pitch and velocity columns as int64."""
    onset = notes["onset"]
    end = onset + notes["duration"]
    pitch = notes["pitch"]
    if pitch.size and (pitch.min() < 0 or pitch.max() > 127):
        raise ValueError("a MIDI key must be in 0-127")
    velocity = np.clip(notes["velocity"], 1, 127)
    times = np.concatenate([end, onset])
    is_on = np.concatenate([np.zeros(len(end), np.int64), np.ones(len(onset), np.int64)])
    pitches = np.concatenate([pitch, pitch])
    velocities = np.concatenate([np.zeros(len(end), np.int64), velocity])
    order = np.lexsort((pitches, is_on, times))  # by time, then offs before ons, then pitch
    deltas = np.diff(times[order], prepend=0)
    status = np.where(is_on[order] == 1, 0x90, 0x80) | channel
    # the first note follows the track's program change (0xC0 | channel): never the same status
    new_status = np.ones(len(status), bool)
    new_status[1:] = status[1:] != status[:-1]
    n_var, var = _varints(deltas)
    out = np.zeros((len(status), 7), np.int64)
    keep = np.zeros((len(status), 7), bool)
    out[:, :4] = var
    keep[:, :4] = np.arange(4)[None, :] < n_var[:, None]
    # columns 0-3 the delta's bytes, 4 the status (only where it changes), 5 key, 6 velocity
    out[:, 4] = status
    keep[:, 4] = new_status
    out[:, 5] = pitches[order]
    out[:, 6] = velocities[order]
    keep[:, 5:] = True
    return out[keep].astype(np.uint8).tobytes()  # row-major: each event's bytes in order


def _chunk(name: bytes, data: bytes) -> bytes:
    return name + struct.pack(">L", len(data)) + data


END_OF_TRACK = b"\x00\xff\x2f\x00"  # delta 0, meta 0x2F, length 0


def midi_bytes(score: Score) -> bytes:
    """A type-1 Standard MIDI file of ``score``: a conductor track (time signature, tempo),
    then per track its name, program change and notes. The bytes are those mido's
    ``MidiFile.save`` writes for the same messages (tests/test_io.py builds them with mido
    and compares, on random scores), computed without a mido message per note.

    Raises
    ------
    ScoreValidationError
        If a track's program is outside 0-127.
    """
    num, den = score.time_signature
    conductor = b"".join(
        b"\x00" + bytes(m.bytes())
        for m in (
            mido.MetaMessage("time_signature", numerator=num, denominator=den, time=0),
            mido.MetaMessage("set_tempo", tempo=round(mido.bpm2tempo(score.tempo)), time=0),
        )
    )
    chunks = [_chunk(b"MTrk", conductor + END_OF_TRACK)]
    # every track's rows at once, in score order within a track (a stable sort by track):
    # a pandas mask per track made writing a noise-like piece of ~130 tracks 0.1 s
    names = ("track", "onset", "duration", "pitch", "velocity")
    columns = {c: score.notes[c].to_numpy(np.int64) for c in names}
    order = np.argsort(columns["track"], kind="stable")
    columns = {c: v[order] for c, v in columns.items()}
    bounds = np.searchsorted(columns["track"], np.arange(len(score.tracks) + 1))
    for index, (track, channel) in enumerate(zip(score.tracks, assign_channels(score.tracks), strict=True)):
        if not 0 <= track.program <= 127:
            raise ScoreValidationError(f"{score.piece_id}: track {track.name!r} has program {track.program}")
        head = b"\x00" + bytes(mido.MetaMessage("track_name", name=track.name, time=0).bytes())
        head += bytes([0, 0xC0 | channel, track.program])
        rows = {c: v[bounds[index] : bounds[index + 1]] for c, v in columns.items()}
        chunks.append(_chunk(b"MTrk", head + _note_bytes(rows, channel) + END_OF_TRACK))
    header = _chunk(b"MThd", struct.pack(">hhh", 1, len(chunks), score.resolution))
    return header + b"".join(chunks)


def write_midi(score: Score, path: Path | str) -> None:
    """Write ``score`` as a type-1 Standard MIDI file, atomically, with stable bytes.

    One MIDI track per Score track (name, GM program, channel from
    :func:`assign_channels`), even a silent one; tempo and time signature from the score;
    ticks per quarter = ``score.resolution``. The key is not written.

    Parameters
    ----------
    score
        The piece.
    path
        Target file; its folder is created.
    """
    data = midi_bytes(score)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


def _rescale(ticks: np.ndarray, tpq: int, resolution: int) -> np.ndarray:
    """``ticks * resolution / tpq`` rounded half up, in exact integer arithmetic."""
    return (2 * ticks * resolution + tpq) // (2 * tpq)


def tempo_map(tempo_ticks: np.ndarray, tempo_mspq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normalised tempo map: sorted change ticks starting at 0, microseconds per quarter.

    Before the first change, and when there is none, 500 000 (120 qpm) holds, as the
    MIDI standard says; of several changes at one tick the last wins.
    """
    t = np.concatenate([[0], np.asarray(tempo_ticks, np.int64)])
    mspq = np.concatenate([[round(mido.bpm2tempo(DEFAULT_TEMPO_QPM))], np.asarray(tempo_mspq, np.float64)])
    order = np.argsort(t, kind="stable")
    t, mspq = t[order], mspq[order]
    last = np.r_[t[1:] != t[:-1], True]
    return t[last], mspq[last]


def tick_seconds(ticks: np.ndarray, tempo_ticks: np.ndarray, tempo_mspq: np.ndarray, tpq: int) -> np.ndarray:
    """Seconds at each tick under a tempo map (see :func:`tempo_map`), in float64.

    float64 on purpose: symusic's own seconds are float32, off by about 0.2 ms after an
    hour.
    """
    t, mspq = tempo_map(tempo_ticks, tempo_mspq)
    sec_per_tick = mspq / 1e6 / tpq
    start = np.concatenate([[0.0], np.cumsum(np.diff(t) * sec_per_tick[:-1])])
    i = np.searchsorted(t, ticks, side="right") - 1
    return start[i] + (ticks - t[i]) * sec_per_tick[i]


_DEFAULT_MSPQ = float(round(mido.bpm2tempo(DEFAULT_TEMPO_QPM)))


def _seconds_at(tick: int, tempo_ticks: list[int], tempo_mspq: list[float], tpq: int) -> float:
    """:func:`tick_seconds` of one tick >= 0, in plain Python: the same float, bit for bit.

    Why: :meth:`MidiBatch.add` needs each file's length in seconds for the limits before
    it keeps the file, and the NumPy version's dozen array calls on arrays of one to three
    tempos cost 22 us a file, two thirds of symusic's parse of it (32 us, on the
    benchmark's synthetic files, 2-core EPYC). Same operations in the same order
    (a stable sort by tick with the 120 qpm default first, the last change at a tick
    winning, the running sum of whole segments, then the part segment).
    """
    pairs = sorted(zip([0, *tempo_ticks], [_DEFAULT_MSPQ, *tempo_mspq], strict=True), key=lambda p: p[0])
    start, here, spt = 0.0, 0, None
    for k, (t, mspq) in enumerate(pairs):
        if k + 1 < len(pairs) and pairs[k + 1][0] == t:
            continue  # of several changes at one tick the last wins
        if t > tick:
            break
        if spt is not None:
            start = start + (t - here) * spt
        here, spt = t, mspq / 1e6 / tpq
    return start + (tick - here) * spt


# Batch-wide searches use the key piece * 2**40 + tick: a MIDI tick (an int32 time plus
# an int32 duration) stays below 2**33, so keys of different pieces never interleave.
_PIECE_KEY = 1 << 40
_PARSE_ERRORS = (RuntimeError, ValueError, IndexError, OverflowError)


MIDI_TYPE_SEQUENCES = 2  # SMF type 2: independent single-track patterns, not simultaneous tracks


def midi_header_problem(data: bytes) -> str | None:
    """Why a Standard MIDI file's header rules it out, or None (symusic judges the rest).

    A type-2 file is a list of independent patterns; symusic would play them at once as
    if they were tracks, which is wrong music, so it is refused. A header that declares
    no tracks is named as such rather than as "no notes".
    """
    if len(data) < 14 or data[:4] != b"MThd":
        return None
    fmt = int.from_bytes(data[8:10], "big")
    n_tracks = int.from_bytes(data[10:12], "big")
    if fmt == MIDI_TYPE_SEQUENCES:
        return "MIDI type 2 (independent sequential patterns) is not supported"
    if n_tracks == 0:
        return "MIDI header declares zero tracks"
    return None


def tempo_event_problem(data: bytes) -> str | None:
    """A tempo meta event (``FF 51``) whose stated length is not 3, or None.

    symusic reads three bytes of every tempo event whatever its length says: one of
    length 0 at the end of a file was read three bytes past the buffer, and the stored
    tempo then changed between two runs of the same input (issue 22). Such a file is
    refused before symusic sees it. ``FF`` is never a data byte of a MIDI event, so the
    pair can only start a meta event (or sit inside a text or sysex payload, where a
    false alarm needs the bytes FF 51 followed by 0, 1 or 2: not met in any corpus here).
    """
    i = data.find(b"\xff\x51")
    while i >= 0:
        if i + 2 >= len(data) or data[i + 2] != 3:
            length = data[i + 2] if i + 2 < len(data) else "missing"
            return f"a tempo event of length {length} at byte {i} (a tempo takes 3 bytes)"
        if i + 6 > len(data):
            return f"a tempo event cut short by the end of the file at byte {i}"
        i = data.find(b"\xff\x51", i + 2)
    return None


def _symusic():
    import symusic  # deferred: only readers need the C++ extension

    return symusic


def _concat(arrays: list[np.ndarray], dtype) -> np.ndarray:
    """``np.concatenate`` as ``dtype``, also of no arrays."""
    return np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.zeros(0, dtype)


def _rescale_pieces(ticks: np.ndarray, piece: np.ndarray, tpq: np.ndarray, resolution: int) -> np.ndarray:
    """:func:`_rescale` of each note by its piece's ticks per quarter ``tpq[piece]``.

    A batch holds a few distinct ``tpq`` values: each is done with a scalar divisor
    (NumPy's integer division by an array is several times slower); many go per note.
    """
    values = np.unique(tpq)
    if len(values) == 1:
        return _rescale(ticks, int(values[0]), resolution)
    note_tpq = tpq[piece]
    if len(values) > 8:
        return _rescale(ticks, note_tpq, resolution)
    out = np.empty_like(ticks)
    for q in values.tolist():
        mask = note_tpq == q
        out[mask] = _rescale(ticks[mask], q, resolution)
    return out


def _note_order(piece: np.ndarray, onset: np.ndarray, track: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """The stable order by (piece, onset, track, pitch): ``np.lexsort`` of those keys.

    When the four fit side by side in 63 bits (always, for real files) they are packed
    into one int64 key and sorted once, stably: the same order, several times faster
    than a four-key lexsort, and faster still on notes already in order.
    """
    if not len(piece):
        return np.zeros(0, np.int64)
    lows = [int(k.min()) for k in (onset, track, pitch)]
    widths = [
        max(int(k.max()) - low, 0).bit_length() for k, low in zip((onset, track, pitch), lows, strict=True)
    ]
    if int(piece.max()).bit_length() + sum(widths) > 63:
        return np.lexsort((pitch, track, onset, piece))
    key = piece.astype(np.int64)
    for k, low, width in zip((onset, track, pitch), lows, widths, strict=True):
        key = (key << width) | (k.astype(np.int64) - low)
    return np.argsort(key, kind="stable")


class MidiBatch:
    """Standard MIDI files parsed one at a time, converted to notes all at once.

    :meth:`add` does per file only what cannot be shared: symusic's parse, each track's
    NumPy note arrays, the tempo and time-signature arrays, the track list and the
    sha256 of the bytes. :meth:`convert` then does the rest for the whole batch in one
    vectorised pass (tick rescaling, seconds from each piece's own tempo map, sorting,
    validation), so a corpus costs a few NumPy calls per batch rather than a pandas
    frame per piece. :func:`read_midi_bytes` is a batch of one: there is one conversion.
    """

    def __init__(self, limits: ReadLimits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.sources: list[str] = []
        self.piece_ids: list[str] = []
        self.sha256: list[str] = []
        self.tpq: list[int] = []
        self.time_signatures: list[tuple[int, int]] = []
        self.tracks: list[list[Track]] = []
        self.n_notes = 0  # notes held so far (what a caller bounds a batch by)
        self._tempos: list[dict[str, np.ndarray]] = []
        self._notes: list[dict[str, np.ndarray]] = []  # one per track, pieces in order

    def __len__(self) -> int:
        return len(self.sources)

    def add(self, data: bytes, source: str, piece_id: str) -> int:
        """Parse one file and keep its arrays; return its index in the batch.

        Raises
        ------
        CorpusReadError
            Naming ``source``: not parseable as MIDI, an unsupported time division, a
            malformed tempo event, a stated value that cannot be stored (a time
            signature with a field that is not positive, a tempo outside the limits'
            range), or past one of the batch's :class:`ReadLimits`
            (tracks, notes, length in ticks and in seconds), the limit named. Nothing is
            kept then.
        """
        problem = tempo_event_problem(data)
        if problem is None and len(data) > self.limits.max_bytes:
            problem = f"{len(data)} bytes, over limits.max_bytes ({self.limits.max_bytes})"
        if problem is not None:
            raise CorpusReadError(f"{source}: {problem}")
        try:
            midi = _symusic().Score.from_midi(data)
        except _PARSE_ERRORS as err:
            raise CorpusReadError(f"{source}: not a readable MIDI file: {err}") from err
        tpq = int(midi.ticks_per_quarter)
        if tpq <= 0:
            raise CorpusReadError(f"{source}: unsupported time division (ticks per quarter {tpq})")
        tempos = midi.tempos.numpy()
        tempo_ticks, tempo_mspq = tempos["time"].tolist(), tempos["mspq"].tolist()
        signatures = midi.time_signatures
        for sig in signatures:
            problem = problem or signature_problem(int(sig.numerator), int(sig.denominator))
        for mspq in sorted(set(tempo_mspq)):
            problem = problem or self.limits.tempo_problem(6e7 / mspq if mspq > 0 else math.inf)
        if problem is None and len(midi.tracks) > self.limits.max_tracks:
            problem = f"{len(midi.tracks)} tracks, over limits.max_tracks ({self.limits.max_tracks})"
        if problem is not None:
            raise CorpusReadError(f"{source}: {problem}")
        signature = (
            (int(signatures[0].numerator), int(signatures[0].denominator)) if len(signatures) else (4, 4)
        )
        tracks, notes, n, end = [], [], 0, 0
        for track in midi.tracks:
            arrays = track.notes.numpy()
            n += len(arrays["time"])
            if len(arrays["time"]):  # a time before 0 (a wrapped delta) fails "onset must be >= 0" later
                end = max(end, int((arrays["time"].astype(np.int64) + arrays["duration"]).max()))
            notes.append(arrays)
            tracks.append(Track(str(track.name), int(track.program), bool(track.is_drum)))
        ticks = (2 * end * DEFAULT_RESOLUTION + tpq) // (2 * tpq)  # _rescale, in Python ints
        seconds = _seconds_at(end, tempo_ticks, tempo_mspq, tpq)
        problem = self.limits.piece_problem(n, len(tracks), ticks, seconds)
        if problem is not None:
            raise CorpusReadError(f"{source}: {problem}")
        self.sources.append(source)
        self.piece_ids.append(piece_id)
        self.sha256.append(hashlib.sha256(data).hexdigest())
        self.tpq.append(tpq)
        self.time_signatures.append(signature)
        self.tracks.append(tracks)
        self._tempos.append(tempos)
        self._notes.extend(notes)
        self.n_notes += n
        return len(self.sources) - 1

    def convert(self, resolution: int = DEFAULT_RESOLUTION) -> MidiNotes:
        """Every piece's notes at ``resolution`` ticks per quarter, in one pass.

        The same conversion :func:`read_midi` documents: onsets and ends rescaled (half
        up, exact integers), a duration of at least 1 tick, seconds in float64 from each
        piece's tempo map (as :func:`tick_seconds`), rows sorted by (onset, track, pitch)
        with ties in track then file order, the Score invariants checked per piece.
        """
        n = len(self.sources)
        tpq = np.array(self.tpq, np.int64)
        n_tracks = np.array([len(t) for t in self.tracks], np.int64)
        track_len = np.array([len(a["time"]) for a in self._notes], np.int64)
        track_piece = np.repeat(np.arange(n, dtype=np.int64), n_tracks)
        track_first = np.cumsum(n_tracks) - n_tracks
        track_index = np.arange(len(track_len), dtype=np.int64) - track_first[track_piece]
        piece = np.repeat(track_piece, track_len)
        track = np.repeat(track_index, track_len)
        start = _concat([a["time"] for a in self._notes], np.int64)
        stop = start + _concat([a["duration"] for a in self._notes], np.int64)
        pitch = _concat([a["pitch"] for a in self._notes], np.int16)
        velocity = _concat([a["velocity"] for a in self._notes], np.int16)
        onset = _rescale_pieces(start, piece, tpq, resolution)
        duration = np.maximum(_rescale_pieces(stop, piece, tpq, resolution) - onset, 1)
        seconds, tempo = self._tempo_maps(tpq)
        onset_s = seconds(piece, start)
        duration_s = seconds(piece, stop) - onset_s
        order = _note_order(piece, onset, track, pitch)
        piece = piece[order]
        columns = {
            "track": track[order].astype(np.int16),
            "pitch": pitch[order],
            "onset": onset[order],
            "duration": duration[order],
            "velocity": velocity[order],
            "onset_s": onset_s[order],
            "duration_s": duration_s[order],
        }
        counts = np.bincount(piece, minlength=n)
        starts = np.cumsum(counts) - counts
        errors: list[str | None] = [
            None if c else f"{source}: no notes"
            for c, source in zip(counts.tolist(), self.sources, strict=True)
        ]
        self._validate(columns, piece, starts, n_tracks, resolution, errors)
        failed = np.array([e is not None for e in errors], dtype=bool)
        if failed.any() and failed[piece].any():  # drop the rows of rejected pieces
            keep = ~failed[piece]
            columns = {c: a[keep] for c, a in columns.items()}
            piece = piece[keep]
            counts = np.bincount(piece, minlength=n)
            starts = np.cumsum(counts) - counts
        length = np.zeros(n, np.int64)
        if len(piece):
            nonempty = counts > 0
            ends = columns["onset"] + columns["duration"]
            length[nonempty] = np.maximum.reduceat(ends, starts[nonempty])
        return MidiNotes(
            columns=columns,
            starts=starts,
            counts=counts,
            length=length,
            errors=errors,
            resolution=resolution,
            sources=self.sources,
            piece_ids=self.piece_ids,
            sha256=self.sha256,
            tracks=self.tracks,
            tempo=tempo,
            time_signatures=self.time_signatures,
        )

    def _tempo_maps(self, tpq: np.ndarray):
        """Every piece's tempo map (as :func:`tempo_map`) at once.

        Returns a function ``(piece, ticks) -> seconds`` and each piece's tempo at tick 0
        in qpm. Seconds use :func:`tick_seconds`'s very arithmetic (same operations in
        the same order), so they are equal to it bit for bit; only a piece with tempo
        changes needs its own cumulative sum.
        """
        n = len(self.sources)
        n_tempos = np.array([len(t["time"]) for t in self._tempos], np.int64)
        pieces = np.arange(n, dtype=np.int64)
        # the 120 qpm default first, so at a tick shared with the file's changes it loses
        p = np.concatenate([pieces, np.repeat(pieces, n_tempos)])
        t = np.concatenate([np.zeros(n, np.int64), _concat([x["time"] for x in self._tempos], np.int64)])
        mspq = np.concatenate(
            [np.full(n, _DEFAULT_MSPQ), _concat([x["mspq"] for x in self._tempos], np.float64)]
        )
        order = np.lexsort((t, p))  # stable, as tempo_map's argsort
        p, t, mspq = p[order], t[order], mspq[order]
        last = np.r_[(p[1:] != p[:-1]) | (t[1:] != t[:-1]), True]  # of several at one tick the last wins
        p, t, mspq = p[last], t[last], mspq[last]
        sec_per_tick = mspq / 1e6 / tpq[p]
        first = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
        size = np.diff(np.r_[first, len(p)])
        start = np.zeros(len(p))
        for k in np.flatnonzero(size > 1).tolist():  # only pieces whose tempo changes
            a, b = first[k], first[k] + size[k]
            start[a:b] = np.concatenate([[0.0], np.cumsum(np.diff(t[a:b]) * sec_per_tick[a : b - 1])])
        key = p * _PIECE_KEY + t
        one_tempo = bool((size == 1).all())
        last_entry = first + size - 1

        def seconds(piece: np.ndarray, ticks: np.ndarray) -> np.ndarray:
            if one_tempo:  # each piece's map is its one entry, at index `piece`
                i = piece
            else:
                i = np.searchsorted(key, piece * _PIECE_KEY + ticks, side="right") - 1
                if len(ticks) and ticks.min() < 0:  # before tick 0 tick_seconds wraps to the last entry
                    i = np.where(p[i] == piece, i, last_entry[piece])
            return start[i] + (ticks - t[i]) * sec_per_tick[i]

        return seconds, (6e7 / mspq[first]).tolist()

    def _validate(self, columns, piece, starts, n_tracks, resolution, errors) -> None:
        """Fill ``errors`` for pieces that break a Score invariant, as Score.validate words it.

        Per piece the first rule broken (in :meth:`Score.validate`'s order) and its first
        row within the piece; a piece already in error keeps its reason.
        """
        track_limit = np.maximum(n_tracks, 1)[piece]
        checks = [
            ("pitch", (columns["pitch"] < 0) | (columns["pitch"] >= MIDI_PITCHES), "pitch must be 0-127"),
            ("duration", columns["duration"] <= 0, "duration must be > 0"),
            ("onset", columns["onset"] < 0, "onset must be >= 0"),
            ("velocity", (columns["velocity"] < 0) | (columns["velocity"] > 127), "velocity must be 0-127"),
            ("track", (columns["track"] < 0) | (columns["track"] >= track_limit), "track index out of range"),
        ]
        for column, bad, rule in checks:
            rows = np.flatnonzero(bad)
            if not len(rows):
                continue
            bad_pieces, first = np.unique(piece[rows], return_index=True)
            for k, row in zip(bad_pieces.tolist(), rows[first].tolist(), strict=True):
                if errors[k] is None:
                    value = columns[column][row]
                    errors[k] = (
                        f"{self.sources[k]}: {self.piece_ids[k]}: {rule}; "
                        f"row {row - int(starts[k])} has {column}={value}"
                    )
        if resolution <= 0:
            for k, error in enumerate(errors):
                if error is None:
                    errors[k] = (
                        f"{self.sources[k]}: {self.piece_ids[k]}: resolution must be > 0, got {resolution}"
                    )


@dataclass
class MidiNotes:
    """A converted :class:`MidiBatch`: one note table for the batch, and each piece's metadata.

    ``columns`` holds ``NOTE_COLUMNS`` in ``NOTE_DTYPES`` for the readable pieces only,
    sorted by piece then as a Score's notes; piece ``i``'s rows are
    ``starts[i] : starts[i] + counts[i]``. ``errors[i]`` is why piece ``i`` cannot be
    read (the message :func:`read_midi` raises), or None.
    """

    columns: dict[str, np.ndarray]
    starts: np.ndarray
    counts: np.ndarray
    length: np.ndarray  # end of the last note in ticks, per piece
    errors: list[str | None]
    resolution: int
    sources: list[str]
    piece_ids: list[str]
    sha256: list[str]
    tracks: list[list[Track]]
    tempo: list[float]  # qpm in force at tick 0
    time_signatures: list[tuple[int, int]]

    def score(self, i: int, corpus: str = "") -> Score:
        """Piece ``i`` as a Score.

        Raises
        ------
        CorpusReadError
            With the piece's reason, when it could not be read.
        """
        if self.errors[i] is not None:
            raise CorpusReadError(self.errors[i])
        a = int(self.starts[i])
        b = a + int(self.counts[i])
        notes = pd.DataFrame({c: self.columns[c][a:b] for c in NOTE_COLUMNS})
        return Score(
            notes=notes,
            tracks=list(self.tracks[i]),
            resolution=self.resolution,
            piece_id=self.piece_ids[i],
            corpus=corpus,
            source=self.sources[i],
            sha256=self.sha256[i],
            tempo=self.tempo[i],
            time_signature=self.time_signatures[i],
        )


def read_midi(
    path: Path | str,
    corpus: str = "",
    piece_id: str | None = None,
    resolution: int = DEFAULT_RESOLUTION,
) -> Score:
    """Read a Standard MIDI file into a Score.

    Onsets and ends are rescaled from the file's ticks per quarter to ``resolution``
    (rounded half up; a note that would vanish keeps 1 tick). Seconds come from the
    file's tempo map (float64); the Score's ``tempo`` is the one in force at tick 0 and
    its ``time_signature`` the file's first (120 qpm and 4/4 when absent). Tracks are
    symusic's, every one of them: one per MIDI track and channel/program that has notes
    (symusic itself drops a note-less track, even one :func:`write_midi` wrote). The
    key is not read. The conversion is :class:`MidiBatch`'s, which the corpus builder
    runs on many files at once.

    Parameters
    ----------
    path
        The file.
    corpus, piece_id
        Stored in the Score; ``piece_id`` defaults to the file's stem.
    resolution
        Ticks per quarter note of the Score.

    Raises
    ------
    CorpusReadError
        Naming the file and the reason: unreadable, not parseable as MIDI, no notes, or
        notes that break a Score invariant.
    """
    path = Path(path)
    try:
        data = read_bounded(path)
    except OSError as err:
        raise CorpusReadError(f"{path}: cannot read file: {err}") from err
    return read_midi_bytes(
        data, str(path), corpus=corpus, piece_id=piece_id or path.stem, resolution=resolution
    )


def read_midi_bytes(
    data: bytes,
    source: str,
    corpus: str = "",
    piece_id: str | None = None,
    resolution: int = DEFAULT_RESOLUTION,
) -> Score:
    """Read a Standard MIDI file held in memory (an archive member) into a Score.

    The same conversion as :func:`read_midi`, which reads the file and calls this, so
    a MIDI file inside a zip is read without writing it to disk first. It is a
    :class:`MidiBatch` of one file.

    Parameters
    ----------
    data
        The file's bytes.
    source
        What error messages and ``Score.source`` name (a path, or ``archive#member``).
    corpus, piece_id
        Stored in the Score; ``piece_id`` defaults to ``source``'s stem.
    resolution
        Ticks per quarter note of the Score.

    Raises
    ------
    CorpusReadError
        Naming ``source`` and the reason, as :func:`read_midi`.
    """
    batch = MidiBatch()
    batch.add(data, source, piece_id or Path(source).stem)
    return batch.convert(resolution).score(0, corpus)
