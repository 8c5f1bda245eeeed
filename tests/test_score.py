"""The Score: validation with clear errors, seconds from tempo, Parquet round trip."""

from __future__ import annotations

import pandas as pd
import pytest

from scorelab.errors import ScoreValidationError
from scorelab.score import Score, Track, read_notes, write_notes, write_rejected


@pytest.mark.parametrize(
    "row, message",
    [
        ((0, 128, 0, 24, 80), "pitch must be 0-127; row 1 has pitch=128"),
        ((0, -1, 0, 24, 80), "pitch must be 0-127"),
        ((0, 60, 0, 0, 80), "duration must be > 0"),
        ((0, 60, -24, 24, 80), "onset must be >= 0; row 1 has onset=-24"),
        ((0, 60, 0, 24, 200), "velocity must be 0-127"),
    ],
)
def test_invalid_notes_raise_naming_piece_and_rule(row, message):
    with pytest.raises(ScoreValidationError, match="bad_piece: " + message.replace("(", r"\(")):
        Score.from_notes([(0, 60, 0, 24, 80), row], piece_id="bad_piece")


def test_track_index_must_exist():
    with pytest.raises(ScoreValidationError, match="track index out of range"):
        Score.from_notes([(1, 60, 0, 24)], tracks=[Track("only")], piece_id="p")


def test_notes_sorted_and_seconds_from_tempo():
    s = Score.from_notes([(1, 50, 24, 12), (0, 60, 24, 24), (0, 64, 0, 24)], tempo=60.0, resolution=24)
    assert s.notes[["track", "pitch", "onset"]].values.tolist() == [[0, 64, 0], [0, 60, 24], [1, 50, 24]]
    # 60 quarter notes per minute: one quarter (24 ticks) is one second
    assert s.notes["onset_s"].tolist() == [0.0, 1.0, 1.0]
    assert s.notes["duration_s"].tolist() == [1.0, 1.0, 0.5]
    assert s.length == 48


def test_parquet_tables_round_trip(tmp_path):
    a = Score.from_notes(
        [(0, 72, 0, 24, 90), (1, 48, 0, 48, 70)],
        tracks=[Track("soprano", 52), Track("bass", 32, False)],
        piece_id="a",
        corpus="c",
        split="train",
        time_signature=(3, 4),
        tempo=96.0,
        key="G major",
        source="a.mxl",
        sha256="ab" * 32,
    )
    b = Score.from_notes([(0, 60, 6, 6)], piece_id="b", corpus="c", split="test")
    write_notes(tmp_path, [a, b])
    back = read_notes(tmp_path)
    assert [s.piece_id for s in back] == ["a", "b"]
    pd.testing.assert_frame_equal(back[0].notes, a.notes)
    assert back[0].tracks == a.tracks and back[0].time_signature == (3, 4) and back[0].key == "G major"
    assert back[0].tempo == 96.0 and back[0].sha256 == "ab" * 32
    only_test = read_notes(tmp_path, split="test")
    assert [s.piece_id for s in only_test] == ["b"]
    write_rejected(tmp_path, [])
    assert pd.read_parquet(tmp_path / "rejected.parquet").columns.tolist() == ["corpus", "source", "reason"]
