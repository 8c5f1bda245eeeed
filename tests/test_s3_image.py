"""S3's MIDI images: round trips of the three flavours, windows across a cut, augmentation."""

from __future__ import annotations

import numpy as np
import pytest

from scorelab.codecs import get_codec, load_codec
from scorelab.codecs.s3_image import ONSET, SUSTAIN
from scorelab.errors import ParamsError
from scorelab.score import Score, Track

# tempo 150 at 24 ticks per quarter: one 0.05 s column is exactly 3 ticks
ROWS = [
    (0, 60, 0, 12, 90),  # a chord, columns 0-3
    (0, 64, 0, 12, 70),
    (0, 67, 0, 12, 50),
    # a rest: nothing in columns 4-5
    (0, 72, 18, 12, 64),  # columns 6-9: held across a cut at column 8
    (0, 21, 30, 6, 100),  # the lowest key
    (1, 108, 30, 6, 40),  # the highest key, another instrument
    (0, 60, 36, 3, 30),  # the same key struck twice with no gap
    (0, 60, 39, 3, 31),
]
TRACKS = [Track("piano", 0), Track("violin", 40)]


def score() -> Score:
    return Score.from_notes(ROWS, tracks=TRACKS, tempo=150.0, piece_id="p")


def as_set(s: Score, keep_velocity: bool, keep_program: bool) -> set[tuple]:
    out = set()
    for r in s.notes.itertuples():
        program = s.tracks[r.track].program if keep_program else 0
        out.add((program, r.pitch, r.onset, r.duration, r.velocity if keep_velocity else 0))
    return out


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_round_trip_of_each_flavour(channels):
    codec = get_codec("s3_image", {"channels": channels, "columns": 8, "hop_columns": 8})
    img = codec.encode(score())
    assert img.shape == (channels, 88, 14) and img.dtype == np.uint8
    rich = channels > 1
    back = codec.decode(img)
    assert as_set(back, rich, rich) == as_set(score(), rich, rich)
    if not rich:  # one piano track, default velocity
        assert [t.program for t in back.tracks] == [0] and set(back.notes["velocity"]) == {80}
    # a model's output in [0, 1] decodes the same
    assert as_set(codec.decode(img / 255.0), rich, rich) == as_set(back, rich, rich)


def test_one_channel_values_and_rows():
    img = get_codec("s3_image", {"channels": 1}).encode(score())[0]
    row = lambda pitch: 108 - pitch  # noqa: E731  (row 0 is the highest key)
    assert img[row(60), :4].tolist() == [ONSET, SUSTAIN, SUSTAIN, SUSTAIN]
    assert img[row(60), 12:14].tolist() == [ONSET, ONSET]  # re-struck: two onsets
    assert img[:, 4:6].sum() == 0  # the rest
    assert img[row(21), 10] == ONSET and img[0, 10] == ONSET  # both edges of the keyboard


def test_four_channels_paint_the_onset_only():
    img = get_codec("s3_image", {"channels": 4}).encode(score())
    r = 108 - 72
    assert img[:, r, 6].tolist() == [4, 64, 1, 150]  # length, velocity, program + 1, tempo
    assert img[:, r, 7:10].sum() == 0
    assert img[2, 0, 10] == 41  # the violin's program + 1


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_windows_cut_a_held_note_and_join_back(channels):
    codec = get_codec("s3_image", {"channels": channels, "columns": 8, "hop_columns": 8})
    windows, starts, dropped = codec._encode_piece(score())
    assert windows.shape == (2, channels, 88, 8) and starts.tolist() == [0, 8] and dropped == 0
    first = codec.decode(windows[0])
    held = first.notes[first.notes["pitch"] == 72]
    # cut at the window's end; the 4-channel flavour paints the whole length at the onset
    assert held[["onset", "duration"]].values.tolist() == [[18, 12 if channels == 4 else 6]]
    second = codec.decode(windows[1])
    if channels < 4:  # the rest of the held note opens the next window
        assert [0, 6] in second.notes[second.notes["pitch"] == 72][["onset", "duration"]].values.tolist()
    joined = codec.decode(np.concatenate(list(windows), axis=2))
    rich = channels > 1
    assert as_set(joined, rich, rich) == as_set(score(), rich, rich)


def test_split_arrays_describe_and_reload(tmp_path):
    codec = get_codec("s3_image", {"channels": 3, "columns": 8, "hop_columns": 8})
    arrays, summary = codec.encode_split([score()])
    assert arrays["x"].shape == (2, 3, 88, 8) and summary["shape"] == [3, 88, 8]
    codec.save(tmp_path)
    again = load_codec(tmp_path)
    assert again == codec
    assert len(again.decode_split(arrays)) == 2
    noise = codec.noise(arrays, 3, seed=0)
    assert len(noise) == 3 and all(set(n.notes["pitch"]) <= set(score().notes["pitch"]) for n in noise)


def test_augmentation_is_for_the_training_split_only():
    codec = get_codec("s3_image", {"transpose": [0, 2, -3], "pitch_noise": 0.5, "augment_seed": 1})
    pieces = [score()]
    assert codec.augment(pieces, "valid") == pieces and codec.augment(pieces, "test") == pieces
    train = codec.augment(pieces, "train")
    assert [s.piece_id for s in train] == ["p", "p+t+2", "p+t-3", "p+noise"]
    assert (train[1].notes["pitch"].to_numpy() - 2).tolist() == score().notes["pitch"].tolist()
    moved = train[3].notes["pitch"].to_numpy() != score().notes["pitch"].to_numpy()
    assert 0 < moved.sum() < len(ROWS)
    assert [s.piece_id for s in codec.augment(pieces, "train")] == [s.piece_id for s in train]
    assert codec.augment(pieces, "train")[3].notes.equals(train[3].notes)  # seeded
    # evaluation compares with the corpus's own windows: the copies are dropped again
    codec.augment = lambda scores, split: train  # what encode@ passes for the training split
    arrays, _ = codec.encode_split(train)
    own = codec.unaugmented(arrays)
    assert len(arrays["x"]) == 4 * len(own["x"]) and set(own["piece_index"].tolist()) == {0}
    plain, _ = codec.encode_split(pieces)
    np.testing.assert_array_equal(own["x"], plain["x"])
    assert codec.unaugmented(plain) is plain  # nothing to drop: unchanged


@pytest.mark.parametrize(
    "settings, key",
    [({"channels": 2}, "channels"), ({"pitch_noise": 1.5}, "pitch_noise"), ({"columns": 0}, "columns")],
)
def test_bad_settings_name_the_key(settings, key):
    with pytest.raises(ParamsError, match=key):
        get_codec("s3_image", settings)
