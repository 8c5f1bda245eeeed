"""Standard MIDI files <-> Score.

Writing uses mido, so every byte is ours to decide: a conductor track with the time
signature and tempo, then one track per Score track with its name, its GM program on
its own channel (drums on channel 10), note-offs before note-ons at the same tick (a
repeated pitch is re-struck, not swallowed). Reading uses symusic (a C++ parser, fast
enough for whole corpora) and rescales ticks to the Score's resolution, keeping
velocities and taking seconds from the file's own tempo map.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import mido
import numpy as np
import pandas as pd

from scorelab.constants import DEFAULT_RESOLUTION, DEFAULT_TEMPO_QPM
from scorelab.errors import CorpusReadError, ScoreValidationError
from scorelab.score import NOTE_COLUMNS, NOTE_DTYPES, Score, Track
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


def _track_messages(notes: pd.DataFrame, channel: int) -> list[mido.Message]:
    """Note messages of one track with delta times, note-offs first at equal ticks.

    A velocity of 0 would read as a note-off, so it is written as 1.
    """
    onset = notes["onset"].to_numpy(np.int64)
    end = onset + notes["duration"].to_numpy(np.int64)
    pitch = notes["pitch"].to_numpy(np.int64)
    velocity = np.clip(notes["velocity"].to_numpy(np.int64), 1, 127)
    times = np.concatenate([end, onset])
    is_on = np.concatenate([np.zeros(len(end), np.int64), np.ones(len(onset), np.int64)])
    pitches = np.concatenate([pitch, pitch])
    velocities = np.concatenate([np.zeros(len(end), np.int64), velocity])
    order = np.lexsort((pitches, is_on, times))  # by time, then offs before ons, then pitch
    deltas = np.diff(times[order], prepend=0)
    messages = []
    for delta, on, p, v in zip(
        deltas.tolist(),
        is_on[order].tolist(),
        pitches[order].tolist(),
        velocities[order].tolist(),
        strict=True,
    ):
        kind = "note_on" if on else "note_off"
        messages.append(mido.Message(kind, channel=channel, note=p, velocity=v, time=delta))
    return messages


def score_to_midifile(score: Score) -> mido.MidiFile:
    """The mido file :func:`write_midi` writes (type 1, ``resolution`` ticks per quarter).

    Raises
    ------
    ScoreValidationError
        If a track's program is outside 0-127.
    """
    num, den = score.time_signature
    midi = mido.MidiFile(type=1, ticks_per_beat=score.resolution)
    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("time_signature", numerator=num, denominator=den, time=0))
    conductor.append(mido.MetaMessage("set_tempo", tempo=round(mido.bpm2tempo(score.tempo)), time=0))
    conductor.append(mido.MetaMessage("end_of_track", time=0))
    midi.tracks.append(conductor)
    for index, (track, channel) in enumerate(zip(score.tracks, assign_channels(score.tracks), strict=True)):
        if not 0 <= track.program <= 127:
            raise ScoreValidationError(f"{score.piece_id}: track {track.name!r} has program {track.program}")
        out = mido.MidiTrack()
        out.append(mido.MetaMessage("track_name", name=track.name, time=0))
        out.append(mido.Message("program_change", channel=channel, program=track.program, time=0))
        out.extend(_track_messages(score.track_notes(index), channel))
        out.append(mido.MetaMessage("end_of_track", time=0))
        midi.tracks.append(out)
    return midi


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
    midi = score_to_midifile(score)
    with atomic_path(path) as tmp:
        midi.save(str(tmp))


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
    symusic's: one per MIDI track and channel/program that has notes, so a note-less
    track (even one :func:`write_midi` wrote) is dropped. The key is not read.

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
        data = path.read_bytes()
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
    a MIDI file inside a zip is read without writing it to disk first.

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
    import symusic  # deferred: only readers need the C++ extension

    try:
        midi = symusic.Score.from_midi(data)
    except (RuntimeError, ValueError, IndexError, OverflowError) as err:
        raise CorpusReadError(f"{source}: not a readable MIDI file: {err}") from err
    tpq = int(midi.ticks_per_quarter)
    if tpq <= 0:
        raise CorpusReadError(f"{source}: unsupported time division (ticks per quarter {tpq})")
    tempo_ticks = np.array([t.time for t in midi.tempos], dtype=np.int64)
    tempo_mspq = np.array([t.mspq for t in midi.tempos], dtype=np.float64)
    frames, tracks = [], []
    for index, track in enumerate(midi.tracks):
        ticks = track.notes.numpy()
        start = ticks["time"].astype(np.int64)
        stop = start + ticks["duration"].astype(np.int64)
        onset, end = _rescale(start, tpq, resolution), _rescale(stop, tpq, resolution)
        start_s = tick_seconds(start, tempo_ticks, tempo_mspq, tpq)
        frames.append(
            pd.DataFrame(
                {
                    "track": index,
                    "pitch": ticks["pitch"].astype(np.int64),
                    "onset": onset,
                    "duration": np.maximum(end - onset, 1),
                    "velocity": ticks["velocity"].astype(np.int64),
                    "onset_s": start_s,
                    "duration_s": tick_seconds(stop, tempo_ticks, tempo_mspq, tpq) - start_s,
                }
            )
        )
        tracks.append(Track(str(track.name), int(track.program), bool(track.is_drum)))
    notes = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=NOTE_COLUMNS)
    if len(notes) == 0:
        raise CorpusReadError(f"{source}: no notes")
    notes = notes[NOTE_COLUMNS].astype(NOTE_DTYPES)
    notes = notes.sort_values(["onset", "track", "pitch"], kind="stable").reset_index(drop=True)
    meta = {
        "tempo": 6e7 / float(tempo_map(tempo_ticks, tempo_mspq)[1][0]),
        "time_signature": (
            (int(midi.time_signatures[0].numerator), int(midi.time_signatures[0].denominator))
            if len(midi.time_signatures)
            else (4, 4)
        ),
    }
    score = Score(
        notes=notes,
        tracks=tracks,
        resolution=resolution,
        piece_id=piece_id or Path(source).stem,
        corpus=corpus,
        source=source,
        sha256=hashlib.sha256(data).hexdigest(),
        **meta,
    )
    try:
        return score.validate()
    except ScoreValidationError as err:
        raise CorpusReadError(f"{source}: {err}") from err
