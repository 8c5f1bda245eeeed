"""MIDI round trip, unreadable files, audio rendering."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from scorelab.errors import CorpusReadError
from scorelab.io.audio import render_audio
from scorelab.io.midi import assign_channels, midi_bytes, read_midi, score_to_midifile, write_midi
from scorelab.score import NOTE_COLUMNS, Score, Track


def chorale_like() -> Score:
    """Three tracks (one drum), a repeated pitch, a sustained note, 3/4 at 100 qpm."""
    rows = [
        (0, 67, 0, 24, 90),
        (0, 67, 24, 24, 70),  # same pitch re-struck right at the previous note-off
        (0, 69, 48, 12, 64),
        (1, 48, 0, 72, 80),
        (2, 36, 0, 6, 100),
        (2, 38, 36, 6, 100),
    ]
    tracks = [Track("soprano", 52), Track("bass", 32), Track("kit", 0, True)]
    return Score.from_notes(rows, tracks=tracks, tempo=100.0, time_signature=(3, 4), piece_id="x")


def test_midi_round_trip(tmp_path):
    score = chorale_like()
    path = tmp_path / "midi" / "x.mid"
    write_midi(score, path)
    back = read_midi(path, corpus="test")
    assert back.tracks == score.tracks
    assert back.tempo == 100.0 and back.time_signature == (3, 4)
    assert back.piece_id == "x" and back.corpus == "test" and len(back.sha256) == 64
    cols = ["track", "pitch", "onset", "duration", "velocity"]
    assert back.notes[cols].equals(score.notes[cols])
    # seconds come from the file's tempo map: 100 qpm -> 0.6 s per quarter
    np.testing.assert_allclose(back.notes["onset_s"], score.notes["onset_s"])
    np.testing.assert_allclose(back.notes["duration_s"], score.notes["duration_s"])
    assert list(back.notes.columns) == NOTE_COLUMNS


def test_midi_bytes_are_deterministic(tmp_path):
    write_midi(chorale_like(), tmp_path / "a.mid")
    write_midi(chorale_like(), tmp_path / "b.mid")
    assert (tmp_path / "a.mid").read_bytes() == (tmp_path / "b.mid").read_bytes()
    assert not list(tmp_path.glob(".*tmp*"))  # atomic write leaves no temporary


def _mido_bytes(score: Score) -> bytes:
    """The reference: the file built message by message with mido and saved by mido (what
    write_midi wrote before it was vectorised)."""
    import io

    import mido

    num, den = score.time_signature
    midi = mido.MidiFile(type=1, ticks_per_beat=score.resolution)
    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("time_signature", numerator=num, denominator=den, time=0))
    conductor.append(mido.MetaMessage("set_tempo", tempo=round(mido.bpm2tempo(score.tempo)), time=0))
    midi.tracks.append(conductor)
    for index, (track, channel) in enumerate(zip(score.tracks, assign_channels(score.tracks), strict=True)):
        out = mido.MidiTrack()
        out.append(mido.MetaMessage("track_name", name=track.name, time=0))
        out.append(mido.Message("program_change", channel=channel, program=track.program, time=0))
        n = score.track_notes(index)
        offs = [(o + d, 0, p, 0) for o, d, p in zip(n["onset"], n["duration"], n["pitch"], strict=True)]
        vel = [max(int(v), 1) for v in n["velocity"]]
        ons = [(o, 1, p, v) for o, p, v in zip(n["onset"], n["pitch"], vel, strict=True)]
        now = 0
        for tick, on, key, velocity in sorted(offs + ons, key=lambda e: e[:3]):  # tick, offs first, key
            kind = "note_on" if on else "note_off"
            delta = int(tick - now)
            out.append(mido.Message(kind, channel=channel, note=int(key), velocity=velocity, time=delta))
            now = tick
        midi.tracks.append(out)
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("seed", range(6))
def test_midi_bytes_are_mido_bytes(seed):
    """The vectorised writer gives exactly mido's bytes: running status across note-on and
    note-off runs, delta times of 1 to 4 bytes (up to about 2**27 ticks), chords, notes of
    one tick, zero velocities (written as 1), drums, silent tracks, 17 tracks (channels
    shared), a latin-1 track name."""
    rng = np.random.default_rng(seed)
    n_tracks = int(rng.integers(1, 18))
    n = int(rng.integers(0, 400))
    onset = np.sort(rng.choice([0, 1, 5, 127, 128, 16383, 16384, 2**21, 2**27], n) * rng.integers(0, 2, n))
    onset = onset + rng.integers(0, 3, n)
    rows = [
        (
            int(rng.integers(0, max(n_tracks - 1, 1))),
            int(rng.integers(0, 128)),
            int(o),
            int(rng.choice([1, 6, 200, 20000])),
            int(rng.integers(0, 128)),
        )
        for o in onset
    ]
    tracks = [Track(f"tr\u00e9{i}", int(rng.integers(0, 128)), bool(i == 2)) for i in range(n_tracks)]
    score = Score.from_notes(
        rows,
        tracks=tracks,
        tempo=float(rng.choice([60.0, 97.3, 120.0])),
        time_signature=(3, 8),
        resolution=int(rng.choice([4, 96, 480])),
        piece_id="r",
    )
    assert midi_bytes(score) == _mido_bytes(score)


def test_midi_bytes_of_a_repeated_note_stream():
    """One pitch struck 5,000 times back to back: one status byte, then running status."""
    rows = [(0, 60, 4 * i, 4, 90) for i in range(5000)]
    score = Score.from_notes(rows, tracks=[Track("p", 0)], piece_id="s")
    assert midi_bytes(score) == _mido_bytes(score)
    assert midi_bytes(chorale_like()) == _mido_bytes(chorale_like())


def test_score_to_midifile_is_the_written_file():
    """S2's codec walks mido messages of the file write_midi writes."""
    import io

    buffer = io.BytesIO()
    score_to_midifile(chorale_like()).save(file=buffer)
    assert buffer.getvalue() == midi_bytes(chorale_like())


def test_read_midi_rescales_ticks(tmp_path):
    fine = Score.from_notes([(0, 60, 0, 480), (0, 62, 480, 240), (0, 64, 720, 1)], resolution=480)
    write_midi(fine, tmp_path / "fine.mid")
    back = read_midi(tmp_path / "fine.mid", resolution=24)
    assert back.resolution == 24
    assert back.notes[["onset", "duration"]].values.tolist() == [[0, 24], [24, 12], [36, 1]]


def test_channels_keep_drums_on_ten():
    tracks = [Track("kit", 0, True)] + [Track(f"t{i}") for i in range(10)]
    assert assign_channels(tracks) == [9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 10]


@pytest.mark.parametrize("payload", [b"", b"MThd garbage that is not midi", b"\x00" * 64])
def test_corrupt_midi_raises_naming_the_file(tmp_path, payload):
    path = tmp_path / "broken.mid"
    path.write_bytes(payload)
    with pytest.raises(CorpusReadError, match="broken.mid"):
        read_midi(path)


def test_missing_midi_raises_naming_the_file(tmp_path):
    with pytest.raises(CorpusReadError, match="absent.mid"):
        read_midi(tmp_path / "absent.mid")


def test_midi_without_notes_is_rejected(tmp_path):
    write_midi(Score.from_notes([], tracks=[Track("solo")]), tmp_path / "silent.mid")
    with pytest.raises(CorpusReadError, match="silent.mid: no notes"):
        read_midi(tmp_path / "silent.mid")


def test_audio_renders_non_silent_wav_of_expected_length(tmp_path):
    score = chorale_like()  # last note-off at 72 ticks = 3 quarters = 1.8 s at 100 qpm
    render_audio(score, tmp_path / "a.wav", sample_rate=8000)
    with wave.open(str(tmp_path / "a.wav")) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 8000)
        assert w.getnframes() == round(1.8 * 8000) + 8000  # plus the 1 s tail
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    assert np.abs(pcm).max() > 1000
    assert np.abs(pcm[: 2 * 8000]).mean() > 10  # sound while the notes play


def test_audio_is_deterministic_and_reads_midi(tmp_path):
    write_midi(chorale_like(), tmp_path / "x.mid")
    render_audio(chorale_like(), tmp_path / "a.wav", sample_rate=8000)
    render_audio(tmp_path / "x.mid", tmp_path / "b.wav", sample_rate=8000)
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


def test_seconds_follow_the_tempo_map(tmp_path):
    import mido

    midi = mido.MidiFile(type=1, ticks_per_beat=96)
    conductor = mido.MidiTrack(
        [
            mido.MetaMessage("set_tempo", tempo=500000, time=0),  # 120 qpm
            mido.MetaMessage("set_tempo", tempo=1000000, time=192),  # 60 qpm from beat 3
        ]
    )
    notes = mido.MidiTrack(
        [
            mido.Message("note_on", note=60, velocity=64, time=96),  # beat 2: 0.5 s
            mido.Message("note_off", note=60, velocity=0, time=192),  # beat 4: 0.5 + 0.5 + 1.0
        ]
    )
    midi.tracks.extend([conductor, notes])
    midi.save(str(tmp_path / "tempo.mid"))
    score = read_midi(tmp_path / "tempo.mid")
    assert score.tempo == 120.0
    assert score.notes[["onset", "duration"]].values.tolist() == [[24, 48]]
    assert score.notes["onset_s"].tolist() == [0.5]
    assert score.notes["duration_s"].tolist() == [1.5]
