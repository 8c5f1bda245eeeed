"""Real-shaped MIDI through every reader: tempo changes, a conductor track, drums off the
grid, a zero-length note. Each case is one that a reader used to get wrong."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest

from scorelab.corpora.local import read_midi_data
from scorelab.io.midi import MidiBatch, read_midi
from scorelab.metrics.notes import read_midi_set
from scorelab.metrics.registry import compute_piece_metrics

TPQ = 480


def save(path: Path, tracks: list[list[mido.Message]]) -> Path:
    mf = mido.MidiFile(ticks_per_beat=TPQ)
    for messages in tracks:
        t = mido.MidiTrack()
        t.extend(messages)
        mf.tracks.append(t)
    mf.save(path)
    return path


def notes(pitches_and_lengths, channel: int = 0, start: int = 0) -> list[mido.Message]:
    """Consecutive notes: (pitch, ticks) each, the first after ``start`` ticks."""
    out, wait = [], start
    for pitch, length in pitches_and_lengths:
        out.append(mido.Message("note_on", note=pitch, velocity=80, channel=channel, time=wait))
        out.append(mido.Message("note_off", note=pitch, velocity=0, channel=channel, time=length))
        wait = 0
    return out


def metric(path: Path, name: str) -> float:
    ns, rejected = read_midi_set([path])
    assert rejected == []
    return float(compute_piece_metrics(ns, names=[name])[name][0])


def test_seconds_follow_the_tempo_map(tmp_path):
    # 120 qpm for four quarters, then 60 qpm: onsets at 0, .5, 1, 1.5, 2, 3, 4 s
    conductor = [
        mido.MetaMessage("set_tempo", tempo=500_000, time=0),
        mido.MetaMessage("set_tempo", tempo=1_000_000, time=4 * TPQ),
    ]
    path = save(tmp_path / "tempo.mid", [conductor, notes([(60, TPQ)] * 7)])
    # MGEval's avg_IOI: the mean of .5, .5, .5, .5, 1, 1 s (the first tempo alone gave .5)
    assert metric(path, "avg_IOI") == pytest.approx(4 / 6)
    score = read_midi(path)
    assert score.notes["onset_s"].tolist() == pytest.approx([0, 0.5, 1, 1.5, 2, 3, 4])


def test_a_conductor_track_is_not_a_silent_part(tmp_path):
    # music21 and DAWs write a first track of meta events and controllers, no notes
    conductor = [
        mido.MetaMessage("track_name", name="conductor"),
        mido.MetaMessage("lyrics", text="la"),
        mido.Message("pitchwheel", pitch=100, channel=0),
    ]
    path = save(tmp_path / "conductor.mid", [conductor, notes([(60, 4 * TPQ), (62, 4 * TPQ)])])
    ns, _ = read_midi_set([path])
    assert ns.n_tracks.tolist() == [1]
    assert metric(path, "EB") == 0.0  # 50 % when the conductor track counted as a silent part


def test_drums_a_little_late_are_in_pattern(tmp_path):
    # a drum on every 16th, 13 ticks late at 480 per quarter (a performance, not a grid)
    drums = notes([(36, 60), (38, 60)] * 8, channel=9, start=13)
    for m in drums[2::2]:  # note_on after the first: each off lasts 60, the gap 60 more
        m.time = 60
    path = save(tmp_path / "drums.mid", [drums])
    assert metric(path, "DP") == 100.0  # 0 % when onsets had to sit on the exact tick


def test_a_zero_length_note_is_one_rule_through_every_reader(tmp_path):
    # an on and its off on one tick (how many files write a drum hit), then a quarter note
    track = [
        mido.Message("note_on", note=64, velocity=80, time=0),
        mido.Message("note_off", note=64, velocity=0, time=0),
        *notes([(60, TPQ)]),
    ]
    path = save(tmp_path / "zero.mid", [track])
    data = path.read_bytes()
    batch = MidiBatch()
    batch.add(data, str(path), "zero")
    ingest = batch.convert().score(0)  # the corpus stage
    member = read_midi_data(data, str(path), "c", "zero")  # an archive member
    reader = read_midi(path)  # the Score reader
    ns, _ = read_midi_set([path])  # scorelab evaluate
    for score in (ingest, member, reader):
        assert score.notes[["pitch", "onset", "duration"]].values.tolist() == [[60, 0, 24], [64, 0, 1]]
    order = np.lexsort((ns.pitch, ns.onset))
    assert np.column_stack([ns.pitch, ns.onset, ns.duration])[order].tolist() == [[60, 0, 24], [64, 0, 1]]
