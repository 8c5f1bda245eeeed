"""pianoroll ``merge_tracks``: every track in one piano track (S1's single-track input)."""

from __future__ import annotations

import numpy as np

from scorelab.codecs import load_codec
from scorelab.codecs.pianoroll import PianoRollCodec
from scorelab.score import Score, Track

Q = 24  # ticks per quarter
S = 6  # ticks per 16th
BAR = 4 * Q


def rows(score: Score) -> list[tuple[int, int, int, int]]:
    cols = score.notes[["track", "pitch", "onset", "duration"]].to_numpy()
    return [tuple(int(v) for v in r) for r in cols]


def duet(piece_id: str = "duet", n_tracks: int = 2) -> Score:
    """Soprano and bass over two bars; both play C4 at beat 3 of bar 1."""
    notes = [
        (0, 72, 0, Q),
        (0, 60, 2 * Q, Q),
        (n_tracks - 1, 48, 0, 2 * Q),
        (n_tracks - 1, 60, 2 * Q, Q),  # the same note as the soprano's: one note in the union
        (n_tracks - 1, 43, BAR, BAR),
    ]
    tracks = [Track("soprano"), *[Track(f"voice{i}", 32) for i in range(1, n_tracks)]]
    return Score.from_notes(notes, tracks=tracks, piece_id=piece_id)


def test_merged_roll_has_one_track_with_the_union_of_the_notes():
    codec = PianoRollCodec(merge_tracks=True)
    roll = codec.encode(duet())
    assert roll.shape == (1, 32, 128)
    separate = PianoRollCodec().encode(duet())  # (2, 32, 128)
    np.testing.assert_array_equal(roll[0], separate.any(axis=0))
    decoded = codec.decode(roll)
    assert [t.name for t in decoded.tracks] == ["piano"]
    assert rows(decoded) == [(0, 48, 0, 2 * Q), (0, 72, 0, Q), (0, 60, 2 * Q, Q), (0, 43, BAR, BAR)]


def test_merged_split_accepts_any_number_of_tracks(tmp_path):
    codec = PianoRollCodec(merge_tracks=True, bars_per_sample=1)
    arrays, summary = codec.encode_split([duet("a"), duet("b", n_tracks=3), duet("c", n_tracks=1)])
    assert summary["pieces_kept"] == 3 and summary["rejected"] == {}
    assert arrays["x"].shape == (6, 1, 16, 128)
    info = codec.describe()
    assert info["shape"] == [1, 16, 128] and info["tracks"] == [["piano", 0, False]]
    assert load_codec(codec.save(tmp_path)) == codec
    assert [t.name for t in codec.decode_split(arrays)[0].tracks] == ["piano"]


def test_default_keeps_tracks_apart():
    codec = PianoRollCodec()
    assert codec.tracks is None and codec.encode(duet()).shape == (2, 32, 128)
