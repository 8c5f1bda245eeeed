"""note_index codec (S4's GAN input): hand-written Scores, hand-computed ids and values."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scorelab.codecs import load_codec
from scorelab.codecs.note_index import (
    NoteIndexCodec,
    ids_to_unit,
    nearest_symbol,
    parse_symbol,
    symbol_text,
    unit_to_ids,
)
from scorelab.errors import EncodingFilterError, ParamsError
from scorelab.score import Score, Track

Q = 24  # ticks per quarter (Score default resolution)
S = 6  # ticks per 16th = one grid step at steps_per_beat 4


def rows(score: Score) -> list[tuple[int, int, int, int]]:
    """The (track, pitch, onset, duration) rows of a score, in the Score's order."""
    cols = score.notes[["track", "pitch", "onset", "duration"]].to_numpy()
    return [tuple(int(v) for v in r) for r in cols]


def song(piece_id: str = "song", corpus: str = "s4", **meta) -> Score:
    """C-E-G together for a beat, D for a half note, a quarter rest, F for a 16th."""
    notes = [
        (0, 60, 0, Q),
        (0, 64, 0, Q),
        (0, 67, 0, Q),
        (0, 62, Q, 2 * Q),
        (0, 65, 4 * Q, S),
    ]
    return Score.from_notes(notes, piece_id=piece_id, corpus=corpus, **meta)


def texts(codec: NoteIndexCodec, score: Score) -> list[str]:
    return [symbol_text(s) for s in codec.events(score)[0]]


# One song --------------------------------------------------------------------------------


def test_events_of_a_hand_written_song():
    codec = NoteIndexCodec()
    assert texts(codec, song()) == ["60.64.67:4", "62:8", "r:4", "65:1"]


def test_round_trip_with_durations_and_rests_and_through_floats():
    codec = NoteIndexCodec()
    score = song()
    ids = codec.encode(score)
    assert ids.dtype == np.int64 and ids.shape == (4,)
    decoded = codec.decode(ids)
    assert rows(decoded) == rows(score)
    assert [t.name for t in decoded.tracks] == ["melody"]
    floats = ids_to_unit(ids, codec.vocab_size)  # what the GAN sees and generates
    assert floats.dtype == np.float32
    assert rows(codec.decode(floats)) == rows(decoded)


def test_without_durations_pitches_survive_rests_vanish():
    codec = NoteIndexCodec(keep_durations=False)  # S4's choice; fixed_duration_steps=2
    score = song()
    assert texts(codec, score) == ["60.64.67", "62", "65"]
    e = 2 * S  # an eighth: S4's 0.5 quarter offset
    assert rows(codec.decode(codec.encode(score))) == [
        (0, 60, 0, e),
        (0, 64, 0, e),
        (0, 67, 0, e),
        (0, 62, e, e),
        (0, 65, 2 * e, e),
    ]


def test_without_rests_events_close_up():
    codec = NoteIndexCodec(keep_rests=False)
    assert texts(codec, song()) == ["60.64.67:4", "62:8", "65:1"]
    assert rows(codec.decode(codec.encode(song())))[-1] == (0, 65, 3 * Q, S)


def test_leading_rest_grid_and_overlap_clipping():
    codec = NoteIndexCodec()
    score = Score.from_notes(
        [
            (0, 48, Q + 1, 4 * Q),  # onset rounds to step 4; held past the next onset: clipped
            (0, 60, 2 * Q, 2),  # shorter than half a step: still one step
            (0, 64, 2 * Q + 2, 3 * Q),  # onset rounds to the same step: one chord, longest note
            (1, 30, 0, Q),  # track 1 is ignored
        ],
        piece_id="p",
    )
    symbols, estimated, clipped = codec.events(score)
    assert [symbol_text(s) for s in symbols] == ["r:4", "48:4", "60.64:12"]
    assert (estimated, clipped) == (False, 1)


def test_scaling_formula_by_hand():
    np.testing.assert_array_equal(ids_to_unit(np.array([0, 1, 2, 3]), 4), [-1.0, -0.5, 0.0, 0.5])
    np.testing.assert_array_equal(unit_to_ids(np.array([0.49, -1.3, 0.99, -0.26, 0.0]), 4), [3, 0, 3, 1, 2])
    # S4 truncated: int(0.49 * 2 + 2) = 2; we round to 3, the nearest entry.
    codec = NoteIndexCodec()
    codec.encode(song())  # 4 symbols: V = 4
    assert codec.vocab_size == 4
    decoded = codec.decode(np.array([0.49, -1.3, 0.99]))
    np.testing.assert_array_equal(codec.encode(decoded), [3, 0, 3])


def test_vocab_is_sorted_musically_and_survives_encoding_json(tmp_path):
    codec = NoteIndexCodec(seq_len=2)
    score = Score.from_notes(
        [
            (0, 72, 0, Q),
            (0, 60, Q, Q),
            (0, 67, Q, Q),
            (0, 60, 2 * Q, 2 * Q),
            (0, 55, 5 * Q, Q),
            (0, 59, 5 * Q, Q),
            (0, 62, 5 * Q, Q),
            (0, 60, 6 * Q, Q),
        ],
        piece_id="v",
    )
    codec.encode_split([score])
    vocab = codec.describe()["vocab"]
    assert vocab == ["r:4", "55.59.62:4", "60:4", "60:8", "60.67:4", "72:4"]
    assert vocab != sorted(vocab)  # not string order
    info = json.loads(codec.save(tmp_path).read_text())
    assert info["vocab"] == vocab and info["vocab_size"] == 6 and info["step_ticks"] == 6
    assert info["shape"] == [2] and info["value_range"] == [-1.0, 1.0]
    again = load_codec(tmp_path)
    assert isinstance(again, NoteIndexCodec) and again == codec
    assert again.describe() == codec.describe()
    assert again != NoteIndexCodec()  # the vocabulary is part of equality


def test_restore_rejects_a_vocab_of_the_other_kind():
    codec = NoteIndexCodec()
    codec.encode(song())
    info = {"codec": "note_index", **codec.describe(), "settings": {"keep_durations": False}}
    info.update(keep_durations=False)
    with pytest.raises(ParamsError, match="keep_durations"):
        load_codec(info)
    with pytest.raises(ParamsError, match="vocab"):
        load_codec({"codec": "note_index", "settings": {}, "vocab": ["60:x"]})


def test_symbols_parse_and_print():
    for text, symbol in [
        ("60.64.67:4", ((60, 64, 67), 4)),
        ("r:2", ((), 2)),
        ("60", ((60,), None)),
    ]:
        assert parse_symbol(text) == symbol and symbol_text(symbol) == text
    for bad in ("64.60:4", "r", "60:0", "128", "c4", ""):
        with pytest.raises(ValueError):
            parse_symbol(bad)


def test_nearest_symbol():
    vocab = [parse_symbol(t) for t in ["r:4", "55:4", "60:4", "60:8", "60.64:4", "72:4"]]
    assert vocab[nearest_symbol(parse_symbol("r:16"), vocab)] == parse_symbol("r:4")
    assert vocab[nearest_symbol(parse_symbol("61:4"), vocab)] == parse_symbol("60:4")
    assert vocab[nearest_symbol(parse_symbol("60:7"), vocab)] == parse_symbol("60:8")
    assert vocab[nearest_symbol(parse_symbol("60.63:4"), vocab)] == parse_symbol("60.64:4")
    assert vocab[nearest_symbol(parse_symbol("60.64.67:4"), vocab)] == parse_symbol("60.64:4")


def test_filters_and_transposition():
    codec = NoteIndexCodec(transpose=True)
    with pytest.raises(EncodingFilterError) as err:
        codec.events(Score.from_notes([(1, 60, 0, Q)], tracks=[Track("a"), Track("b")]))
    assert err.value.filter == "empty"
    with pytest.raises(EncodingFilterError) as err:
        codec.events(Score.from_notes([(0, 125, 0, Q)], key="G major"))  # up 5: 130
    assert err.value.filter == "pitch_range"
    g_major = Score.from_notes([(0, 67, 0, Q), (0, 71, Q, Q)], key="G major")
    assert texts(codec, g_major) == ["72:4", "76:4"]
    assert codec.events(Score.from_notes([(0, 67, 0, Q), (0, 71, Q, Q)]))[1] is True  # key estimated


def test_bad_settings_name_the_key():
    for key, value in [("steps_per_beat", 5), ("seq_len", 0), ("hop", -1), ("fixed_duration_steps", 0)]:
        with pytest.raises(ParamsError, match=key):
            NoteIndexCodec(**{key: value})


def test_decode_needs_a_vocabulary():
    with pytest.raises(ValueError, match="no vocabulary"):
        NoteIndexCodec().decode(np.array([0, 1]))


# One split -------------------------------------------------------------------------------


def test_split_windows_and_unknown_events():
    codec = NoteIndexCodec(seq_len=4)
    a = song("a")  # 4 events
    b = Score.from_notes([(0, 60, 0, Q), (0, 62, Q, 2 * Q), (0, 65, 3 * Q, S)], piece_id="b")  # 3 events
    empty = Score.from_notes([], piece_id="empty")
    arrays, summary = codec.encode_split([a, empty, b])
    # vocab: 60:4 < 60.64.67:4 < 62:8 < 65:1, after the rest r:4
    assert codec.describe()["vocab"] == ["r:4", "60:4", "60.64.67:4", "62:8", "65:1"]
    np.testing.assert_array_equal(arrays["stream"], [2, 3, 0, 4, 1, 3, 4])
    np.testing.assert_array_equal(arrays["song_starts"], [0, 4])
    np.testing.assert_array_equal(arrays["song_lengths"], [4, 3])
    assert arrays["piece_ids"].tolist() == ["a", "b"]
    x = arrays["x"]
    assert x.shape == (7 - 4 + 1, 4) and x.dtype == np.float32
    assert (x >= -1).all() and (x < 1).all()
    np.testing.assert_allclose(x[1], (np.array([3, 0, 4, 1]) - 2.5) / 2.5)
    assert summary["items"] == 4 and summary["events"] == 7 and summary["unknown_events"] == 0
    assert summary["rejected"] == {"empty": 1} and summary["vocab_size"] == 5

    # A later split keeps the train vocabulary; unseen events snap to the nearest entry.
    valid = Score.from_notes([(0, 61, 0, Q), (0, 62, Q, 2 * Q), (0, 61, 3 * Q, Q), (0, 65, 4 * Q, S)])
    arrays, summary = codec.encode_split([valid])
    np.testing.assert_array_equal(arrays["stream"], [1, 3, 1, 4])  # 61:4 -> 60:4
    assert summary["unknown_events"] == 2 and codec.vocab_size == 5


def test_hop():
    codec = NoteIndexCodec(seq_len=2, hop=2)
    arrays, _ = codec.encode_split([song("a")])  # 4 events: windows at 0 and 2
    assert arrays["x"].shape == (2, 2)


def test_split_shorter_than_seq_len_has_no_window_but_decodes():
    codec = NoteIndexCodec()
    arrays, summary = codec.encode_split([song("a")])
    assert arrays["x"].shape == (0, 100) and summary["items"] == 0 and summary["events"] == 4
    assert len(codec.decode_split(arrays)) == 1  # the only, partial window


def test_decode_split_non_overlapping_windows():
    codec = NoteIndexCodec(seq_len=3)
    arrays, _ = codec.encode_split([song("a"), song("b")])  # 8 events
    windows = codec.decode_split(arrays)
    assert [w.piece_id for w in windows] == ["window@0", "window@3"]  # events 6-7 dropped
    assert rows(windows[0]) == rows(song())[:4]  # chord, D, then the rest (not a note)
    assert rows(windows[1]) == [
        (0, 65, 0, S),
        (0, 60, S, Q),
        (0, 64, S, Q),
        (0, 67, S, Q),
        (0, 62, S + Q, 2 * Q),
    ]
    only = codec.decode_split({"stream": arrays["stream"][:2]})
    assert [w.piece_id for w in only] == ["window@0"] and len(only[0].notes) == 4


def test_noise_is_unigram_and_seeded():
    codec = NoteIndexCodec(seq_len=5)
    melody = [(0, p, i * Q, Q) for i, p in enumerate([60, 62, 60, 64, 60, 67])]
    arrays, _ = codec.encode_split([Score.from_notes(melody)])
    # vocab 60:4, 62:4, 64:4, 67:4; drop 64:4 (id 2) from the counts
    arrays["stream"] = arrays["stream"][arrays["stream"] != 2]
    noise = codec.noise(arrays, n=3, seed=7)
    assert [len(s.notes) for s in noise] == [5, 5, 5]  # every symbol is one note
    assert [s.piece_id for s in noise] == ["noise_000", "noise_001", "noise_002"]
    assert set(np.concatenate([s.notes["pitch"] for s in noise])) <= {60, 62, 67}
    again = codec.noise(arrays, n=3, seed=7)
    assert [rows(s) for s in noise] == [rows(s) for s in again]
