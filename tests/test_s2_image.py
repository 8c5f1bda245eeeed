"""S2's MIDI images: the message filter on S2's own worked examples, painting, cuts, decoding."""

from __future__ import annotations

import mido
import numpy as np
import pytest

from scorelab.codecs import get_codec
from scorelab.codecs.s2_image import filter_messages, midi_to_image, paint_track
from scorelab.errors import ParamsError
from scorelab.score import Score, Track

Msg, Meta = mido.Message, mido.MetaMessage


@pytest.mark.parametrize(
    "middle",
    [
        [Msg("note_off", note=70, velocity=30, time=512)],  # an off with no prior on
        [Msg("note_on", note=80, velocity=0, time=512)],  # an on of velocity 0, key silent
        [  # anything but note messages
            Msg("control_change", control=6, value=0, time=128),
            Msg("control_change", control=101, value=0, time=128),
            Meta("set_tempo", tempo=800000, time=128),
            Meta("set_tempo", tempo=850000, time=128),
        ],
    ],
)
def test_s2_filter_examples(middle):
    """S2 section 3.1's three examples: each filtered sequence is on 74 at 0, off 74 at 768."""
    track = [
        Msg("note_on", note=74, velocity=81, time=0),
        *middle,
        Msg("note_off", note=74, velocity=0, time=256),
    ]
    assert filter_messages(track) == [("on", 74, 0), ("off", 74, 768)]


def test_velocity_zero_on_a_sounding_key_releases_it():
    track = [Msg("note_on", note=60, velocity=90, time=0), Msg("note_on", note=60, velocity=0, time=24)]
    assert filter_messages(track) == [("on", 60, 0), ("off", 60, 24)]


def test_painting_follows_s2s_walk_and_rounds_each_delta_half_to_even():
    # S2's example: keys 45, 50, 55 sounding; a message 12 ticks later paints all three
    kept = [("on", 45, 0), ("on", 50, 0), ("on", 55, 0), ("on", 70, 12), ("off", 50, 12), ("off", 45, 6)]
    img, outside = paint_track(kept, 12)
    assert outside == 0 and img.shape == (96, 30)
    assert img[96 - 45].nonzero()[0].tolist() == list(range(30))
    assert img[96 - 50].nonzero()[0].tolist() == list(range(24))
    assert img[96 - 70].nonzero()[0].tolist() == list(range(12, 30))
    # at 48 ticks per beat, deltas of 2 and 6 ticks are 0.5 -> 0 and 1.5 -> 2 columns
    img, _ = paint_track([("on", 60, 0), ("off", 60, 2), ("on", 62, 0), ("off", 62, 6)], 48)
    assert img.shape[1] == 2 and img[96 - 60].sum() == 0 and img[96 - 62].sum() == 2 * 255


def test_notes_outside_the_96_rows_are_dropped_and_counted():
    img, outside = paint_track([("on", 97, 0), ("on", 0, 0), ("on", 40, 0), ("off", 40, 12)], 12)
    assert outside == 2 and img[96 - 40].sum() == 12 * 255 and img.sum() == 12 * 255


def test_type1_tracks_are_concatenated_along_time():
    midi = mido.MidiFile(type=1, ticks_per_beat=24)
    for pitch in (60, 48):
        midi.tracks.append(
            mido.MidiTrack(
                [Msg("note_on", note=pitch, velocity=90, time=0), Msg("note_off", note=pitch, time=48)]
            )
        )
    img, _ = midi_to_image(midi)
    assert img.shape == (96, 48)
    assert img[96 - 60].nonzero()[0].tolist() == list(range(24))
    assert img[96 - 48].nonzero()[0].tolist() == list(range(24, 48))


def test_round_trip_with_a_note_held_across_the_cut():
    q = 24
    score = Score.from_notes(
        [
            (0, 60, 0, q),
            (0, 64, 0, q),
            (0, 67, 0, q),  # a chord
            (0, 1, 2 * q, q),  # after a rest; the lowest row
            (0, 96, 7 * q, 2 * q),  # the highest row, held across column 96 (beat 8)
            (0, 55, 9 * q, 7 * q),
        ],
        tracks=[Track("piano")],
    )
    codec = get_codec("s2_image", {})
    img = codec.encode(score)
    assert img.shape == (1, 96, 192)
    back = codec.decode(img)
    cols = ["pitch", "onset", "duration"]
    assert back.notes[cols].values.tolist() == score.notes[cols].values.tolist()
    windows, starts, _ = codec._encode_piece(score)
    assert windows.shape == (2, 1, 96, 96) and starts.tolist() == [0, 96]
    first, second = codec.decode(windows[0]), codec.decode(windows[1])
    assert first.notes[first.notes.pitch == 96][["onset", "duration"]].values.tolist() == [[7 * q, q]]
    assert second.notes[second.notes.pitch == 96][["onset", "duration"]].values.tolist() == [[0, q]]
    # a model's output in [0, 1], binarised at the threshold
    soft = img[0] / 255.0 * 0.6
    assert len(codec.decode(soft).notes) == 6 and len(codec.decode(soft, threshold=0.7).notes) == 0


def test_threshold_outside_the_unit_interval_is_refused():
    with pytest.raises(ParamsError, match="threshold"):
        get_codec("s2_image", {"threshold": 1.5})
    assert np.asarray(get_codec("s2_image", {}).describe()["shape"]).tolist() == [1, 96, 96]
