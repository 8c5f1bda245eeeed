"""Codecs: round trips on hand-written Scores, hand-written expected encodings, filters.

Generic tests are parametrized over ``CODECS`` so every registered codec gets them; a new
codec must add a representable example to ``EXAMPLES``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from scorelab.codecs import CODECS, get_codec, load_codec
from scorelab.codecs.keys import estimate_key, key_name, parse_key, transposition_to_reference
from scorelab.codecs.melody_tokens import MelodyTokenCodec
from scorelab.codecs.pianoroll import PianoRollCodec
from scorelab.errors import EmptyCorpusError, EncodingFilterError, ParamsError
from scorelab.score import Score, Track

Q = 24  # ticks per quarter (Score default resolution)
S = 6  # ticks per 16th
BAR = 4 * Q  # one bar of 4/4
PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"


def rows(score: Score) -> list[tuple[int, int, int, int]]:
    """The (track, pitch, onset, duration) rows of a score, in the Score's order."""
    cols = score.notes[["track", "pitch", "onset", "duration"]].to_numpy()
    return [tuple(int(v) for v in r) for r in cols]


def roll_score(piece_id: str = "roll", n_bars: int = 2, corpus: str = "jsb", **meta) -> Score:
    """Two tracks, notes at both range edges, a held note across the bar line, rests."""
    notes = [
        (0, 0, 0, Q),  # lowest pitch of the default range
        (0, 127, Q, 2 * Q + S),  # highest pitch, a held note of 9 steps
        (0, 72, BAR - Q, 2 * Q),  # crosses the bar line
        (1, 48, 0, S),  # a 16th
        (1, 50, 2 * Q, Q),  # after a rest
        (1, 52, (n_bars - 1) * BAR, BAR),  # a whole note filling the last bar
    ]
    return Score.from_notes(
        notes, tracks=[Track("soprano"), Track("bass", 32)], piece_id=piece_id, corpus=corpus, **meta
    )


def melody_score(piece_id: str = "song", key: str | None = "C major", corpus: str = "essen_erk") -> Score:
    """A monophonic C-major tune on the 16th grid with held notes and rests, allowed durations."""
    notes = [
        (0, 48, 0, Q),  # lowest pitch of the erk_tokens range
        (0, 60, Q, 2 * Q),
        (0, 95, 3 * Q + 2 * S, 2 * S),  # highest pitch, after a rest of two 16ths
        (0, 64, 5 * Q, 3 * S),  # dotted eighth
        (0, 67, 6 * Q, 4 * Q),  # whole note
    ]
    return Score.from_notes(notes, piece_id=piece_id, key=key, corpus=corpus)


# A representable Score per codec and the settings that keep it representable.
EXAMPLES = {
    "pianoroll": (dict(), lambda pid: roll_score(pid)),
    "melody_tokens": (dict(transpose=False), lambda pid: melody_score(pid)),
    # A C-E-G chord (1 beat), a half note, a quarter rest, a 16th: 4 events = one window.
    "note_index": (
        dict(seq_len=4),
        lambda pid: Score.from_notes(
            [(0, 60, 0, Q), (0, 64, 0, Q), (0, 67, 0, Q), (0, 62, Q, 2 * Q), (0, 65, 4 * Q, S)], piece_id=pid
        ),
    ),
    # S2's picture: one track on the 12-per-beat grid (2 ticks), 2 images of 96 columns
    # (8 beats), the last note of each ending on the cut; a chord, both pitch edges (1, 96)
    "s2_image": (
        dict(),
        lambda pid: Score.from_notes(
            [
                (0, 60, 0, 2 * Q),
                (0, 64, 0, 2 * Q),
                (0, 1, 2 * Q, Q),
                (0, 96, 3 * Q + 2, 5 * Q - 2),
                (0, 50, 8 * Q, 8 * Q),
            ],
            tracks=[Track("piano", 0)],
            piece_id=pid,
        ),
    ),
    # S3's image (3 channels: velocity and instrument kept) on its 0.05 s column grid, which
    # at 150 qpm is 3 ticks: a chord, both keyboard edges on two instruments, a re-struck key
    "s3_image": (
        dict(channels=3, columns=8, hop_columns=8),
        lambda pid: Score.from_notes(
            [
                (0, 60, 0, 12, 90),
                (0, 64, 0, 12, 70),
                (0, 21, 15, 6, 100),
                (1, 108, 15, 6, 40),
                (0, 60, 18, 3, 30),
                (0, 60, 21, 3, 31),
            ],
            tracks=[Track("piano", 0), Track("violin", 40)],
            tempo=150.0,
            piece_id=pid,
        ),
    ),
    # the JSB ladder's frames (quarter notes, 88 keys): a chord, both keyboard edges, a
    # rest, a repeated pitch after a gap (a repeat with no gap would merge on the grid)
    "frames": (
        dict(),
        lambda pid: Score.from_notes(
            [(0, 60, 0, Q), (0, 64, 0, 2 * Q), (0, 21, Q, Q), (0, 108, 3 * Q, Q), (0, 60, 5 * Q, 3 * Q)],
            tracks=[Track("piano", 0)],
            piece_id=pid,
        ),
    ),
    # S3's Hilbert audio, small: 32 x 32 images of 1,024 samples at 8 kHz (0.128 s); a
    # chord then a note, 1 s of audio -> 8 images; decoding gives the rendering back
    "hilbert_audio": (
        dict(sample_rate=8000, side=32, max_images=0),
        lambda pid: Score.from_notes(
            [(0, 60, 0, Q, 90), (0, 64, 0, Q, 70), (0, 21, Q, Q, 100)],
            tracks=[Track("piano", 0)],
            piece_id=pid,
        ),
    ),
    # MidiTok REMI (the reference Transformer's tokens): two voices on the 16th grid, both
    # ends of its 21-108 range, a chord, a 16th, a note after a rest
    "remi": (
        dict(),
        lambda pid: Score.from_notes(
            [(0, 60, 0, Q), (0, 64, 0, 2 * Q), (0, 21, Q, S), (1, 108, 2 * Q, Q), (1, 48, 4 * Q + S, 3 * S)],
            tracks=[Track("soprano"), Track("bass", 32)],
            piece_id=pid,
        ),
    ),
}
# what a codec derives beyond its settings, which encoding.json must agree with
DERIVED = {"hilbert_audio": "seconds_per_image"}


@pytest.fixture(params=sorted(CODECS))
def name(request) -> str:
    return request.param


# Generic tests, every codec --------------------------------------------------------------


def test_every_codec_has_an_example(name):
    assert name in EXAMPLES, f"add a representable example Score for codec {name}"
    assert CODECS[name].name == name


def test_round_trip(name):
    settings, make = EXAMPLES[name]
    codec = get_codec(name, settings)
    score = make("p")
    if codec.output == "audio":  # audio back: the rendered samples, exactly, then silence
        pcm = codec.render(score, codec.config.program)
        back = codec.decode(codec.encode(score))
        np.testing.assert_array_equal(back[: len(pcm)], pcm)
        assert not back[len(pcm) :].any() and pcm.any()
        return
    assert rows(codec.decode(codec.encode(score))) == rows(score)


def test_split_round_trip(name):
    settings, make = EXAMPLES[name]
    codec = get_codec(name, settings)
    scores = [make("a"), make("b")]
    arrays, summary = codec.encode_split(scores)
    assert summary["pieces_in"] == 2 and summary["pieces_kept"] == 2
    assert summary["rejected"] == {} and summary["rejected_pieces"] == []
    assert summary["items"] == len(arrays["x"])
    decoded = codec.decode_split(arrays)
    if codec.output == "audio":  # one waveform per piece, its images in order
        assert [len(a) for a in decoded] == [
            int((arrays["piece_index"] == i).sum()) * 32 * 32 for i in (0, 1)
        ]
        np.testing.assert_array_equal(decoded[1], codec.decode(codec.encode(scores[1])))
        return
    assert all(isinstance(s, Score) for s in decoded)
    # Real data decoded is in the form samples take, and encodes back to the same items.
    again, _ = codec.encode_split(decoded)
    np.testing.assert_array_equal(again["x"], arrays["x"])


def test_save_load_round_trip(name, tmp_path):
    settings, make = EXAMPLES[name]
    codec = get_codec(name, settings)
    codec.encode_split([make("a")])  # learns the tracks where a codec does
    written = codec.save(tmp_path)
    assert written == tmp_path / "encoding.json"
    info = json.loads(written.read_text())
    assert info["codec"] == name and info["settings"] == codec.settings()
    for source in (tmp_path, written, info):
        again = load_codec(source)
        assert type(again) is type(codec)
        assert again == codec
        assert again.describe() == codec.describe()


def test_load_rejects_a_description_this_code_disagrees_with(name, tmp_path):
    codec = get_codec(name, EXAMPLES[name][0])
    key = DERIVED.get(name, "step_ticks")
    info = {"codec": name, "settings": codec.settings(), **codec.describe(), key: 7}
    with pytest.raises(ParamsError, match=key):
        load_codec(info)


def test_describe_contains_settings_and_is_json(name):
    codec = get_codec(name, {})
    info = codec.describe()
    assert {k: info[k] for k in codec.settings()} == codec.settings()
    assert DERIVED.get(name, "step_ticks") in info and "n_tracks" in info
    json.dumps(info)


def test_unknown_setting_names_the_key(name):
    with pytest.raises(ParamsError, match="step_per_beat"):
        get_codec(name, {"step_per_beat": 4})


@pytest.mark.parametrize("bad", ["four", 4.0, True, None])
def test_wrong_type_names_the_key(name, bad):
    with pytest.raises(ParamsError, match="steps_per_beat"):
        get_codec(name, {"steps_per_beat": bad})


def test_unknown_codec_lists_valid_names():
    with pytest.raises(ValueError, match="melody_tokens.*pianoroll"):
        get_codec("midi_like", {})


def test_params_yaml_datasets_build():
    datasets = yaml.safe_load(PARAMS.read_text())["datasets"]
    for entry in datasets.values():
        settings = {k: v for k, v in entry.items() if k not in ("corpus", "codec")}
        assert isinstance(get_codec(entry["codec"], settings), CODECS[entry["codec"]])


# Piano roll ------------------------------------------------------------------------------


def test_pianoroll_encode_matches_hand_written_roll():
    codec = PianoRollCodec(steps_per_beat=2, pitch_low=60, pitch_high=63)  # 8th grid, 3 pitches
    score = Score.from_notes(
        [
            (0, 60, 0, Q),  # steps 0-1
            (0, 62, 12, 36),  # steps 1-3
            (0, 61, 60, 3),  # 3 ticks: rounds to step 5 (half up), still one step
            (0, 70, 0, Q),  # out of range: dropped
        ]
    )
    expected = np.array(
        [
            [1, 0, 0],
            [1, 0, 1],
            [0, 0, 1],
            [0, 0, 1],
            [0, 0, 0],
            [0, 1, 0],
        ],
        dtype=bool,
    )[None]
    np.testing.assert_array_equal(codec.encode(score), expected)


def test_pianoroll_decode_merges_repeats_and_thresholds_floats():
    codec = PianoRollCodec(pitch_low=60, pitch_high=62)
    score = Score.from_notes([(0, 60, 0, S), (0, 60, S, S)])  # a repeat with no gap
    assert rows(codec.decode(codec.encode(score))) == [(0, 60, 0, 2 * S)]
    probs = np.array([[[0.9, 0.1], [0.6, 0.5], [0.2, 0.7]]])  # (1, T=3, P=2)
    assert rows(codec.decode(probs)) == [(0, 60, 0, 2 * S), (0, 61, S, 2 * S)]  # 0.5 is on
    assert rows(codec.decode(probs, threshold=0.8)) == [(0, 60, 0, S)]


def test_pianoroll_windows_count_and_shape():
    codec = PianoRollCodec()
    score = roll_score("p", n_bars=5)  # notes in bars 0, 1 and 4; bars 2-3 empty
    arrays, summary = codec.encode_split([score])
    # Windows start at bars 0..3; the one over bars 2-3 is empty and dropped by min_notes.
    assert arrays["x"].shape == (3, 2, 32, 128) and arrays["x"].dtype == np.uint8
    np.testing.assert_array_equal(arrays["start_step"], [0, 16, 48])
    np.testing.assert_array_equal(arrays["piece_index"], [0, 0, 0])
    assert arrays["piece_ids"].tolist() == ["p"]
    assert summary["windows_dropped"] == {"min_notes": 1}
    assert codec.describe()["shape"] == [2, 32, 128]
    assert codec.describe()["track_names"] == ["soprano", "bass"]
    first = codec.decode_split(arrays)[0]
    assert first.piece_id == "p@0" and [t.name for t in first.tracks] == ["soprano", "bass"]
    assert rows(first) == [r for r in rows(score) if r[2] < 2 * BAR]


def test_pianoroll_hop_and_bars():
    codec = PianoRollCodec(bars_per_sample=1, hop_bars=2, min_notes=0)
    arrays, _ = codec.encode_split([roll_score("p", n_bars=5)])
    np.testing.assert_array_equal(arrays["start_step"], [0, 32, 64])
    assert arrays["x"].shape == (3, 2, 16, 128)


def test_pianoroll_filters():
    codec = PianoRollCodec()
    good = roll_score("good")
    waltz = roll_score("waltz", time_signature=(3, 4))
    solo = Score.from_notes([(0, 60, 0, BAR * 2)], piece_id="solo", corpus="jsb")
    short = Score.from_notes([(0, 60, 0, Q), (1, 48, 0, Q)], tracks=good.tracks, piece_id="short")
    _, summary = codec.encode_split([good, waltz, solo, short])
    assert summary["pieces_kept"] == 1
    assert summary["rejected"] == {"length": 1, "time_signature": 1, "tracks": 1}
    reasons = dict(summary["rejected_pieces"])
    assert reasons["waltz"].startswith("time_signature:") and "3/4" in reasons["waltz"]


def test_pianoroll_empty_corpus_names_corpus_and_filter():
    codec = PianoRollCodec()
    scores = [roll_score(f"w{i}", time_signature=(3, 4)) for i in range(3)]
    with pytest.raises(EmptyCorpusError, match=r"corpus jsb: .*'time_signature' \(3 of 3 rejected\)"):
        codec.encode_split(scores)


def test_pianoroll_bad_settings():
    with pytest.raises(ParamsError, match="steps_per_beat"):
        PianoRollCodec(steps_per_beat=5)  # 24 ticks per quarter do not split into 5
    with pytest.raises(ParamsError, match="pitch_high"):
        PianoRollCodec(pitch_low=60, pitch_high=60)
    with pytest.raises(ParamsError, match="time_signature"):
        PianoRollCodec(time_signature="four")


# Melody tokens ---------------------------------------------------------------------------


def test_melody_tokens_hand_written():
    codec = MelodyTokenCodec()
    score = Score.from_notes([(0, 60, 0, Q), (0, 64, Q, Q // 2)], key="C major")
    assert codec.ids_to_tokens(codec.encode(score)) == ["60", "_", "_", "_", "64", "_"]


def test_melody_tokens_rests():
    codec = MelodyTokenCodec(transpose=False)
    # A pickup after a quarter rest, then a rest of an eighth between two notes.
    score = Score.from_notes([(0, 62, Q, S), (0, 67, Q + 3 * S, 2 * S)])
    expected = ["r", "_", "_", "_", "62", "r", "_", "67", "_"]
    assert codec.ids_to_tokens(codec.encode(score)) == expected
    assert rows(codec.decode(codec.tokens_to_ids(" ".join(expected)))) == rows(score)


def test_melody_vocab_is_fixed_by_the_range():
    codec = MelodyTokenCodec(pitch_low=60, pitch_high=62)
    info = codec.describe()
    assert info["vocab"] == ["/", "r", "_", "60", "61"]
    assert info["vocab_size"] == 5 and info["delimiter_id"] == 0 and info["step_ticks"] == 6


@pytest.mark.parametrize(
    "key, pitches, expected",
    [
        ("G major", [67, 71, 74], [72, 76, 79]),  # up a fourth to C
        ("e minor", [64, 67, 71], [69, 72, 76]),  # up a fourth to A
        ("F# major", [66, 70], [60, 64]),  # down a tritone (smallest move: -6)
        ("B- minor", [58, 61], [57, 60]),  # music21 flat spelling, down 1 to A
        (None, [67, 71, 74, 67, 72, 66, 67], [72, 76, 79, 72, 77, 71, 72]),  # estimated G major
    ],
)
def test_melody_transposition(key, pitches, expected):
    codec = MelodyTokenCodec()
    score = Score.from_notes([(0, p, i * Q, Q) for i, p in enumerate(pitches)], key=key)
    assert codec.decode(codec.encode(score)).notes["pitch"].tolist() == expected


@pytest.mark.parametrize(
    "notes, filter_name",
    [
        ([(0, 60, 0, 30)], "durations"),  # 1.25 quarters
        ([(0, 60, 0, 8)], "durations"),  # a triplet eighth
        ([(0, 60, 8, S)], "grid"),  # allowed duration, off-grid onset
        ([(0, 60, 0, Q), (0, 100, Q, Q)], "pitch_range"),
        ([(0, 60, 0, Q), (0, 64, 0, Q)], "polyphony"),
        ([], "empty"),
    ],
)
def test_melody_filters(notes, filter_name):
    codec = MelodyTokenCodec(transpose=False)
    with pytest.raises(EncodingFilterError) as err:
        codec.encode(Score.from_notes(notes, tracks=[Track("melody")]))
    assert err.value.filter == filter_name


def test_melody_split_stream_layout():
    codec = MelodyTokenCodec(transpose=False, delimiter_length=3)
    a = Score.from_notes([(0, 60, 0, Q)], piece_id="a", corpus="essen_erk")
    b = Score.from_notes([(0, 62, 0, 2 * S)], piece_id="b", corpus="essen_erk")
    bad = Score.from_notes([(0, 62, 0, 30)], piece_id="bad", corpus="essen_erk")
    arrays, summary = codec.encode_split([a, bad, b])
    assert codec.ids_to_tokens(arrays["x"]) == ["60", "_", "_", "_", "/", "/", "/", "62", "_", "/", "/", "/"]
    assert arrays["x"].dtype == np.int64
    np.testing.assert_array_equal(arrays["song_starts"], [0, 7])
    np.testing.assert_array_equal(arrays["song_lengths"], [4, 2])
    assert arrays["piece_ids"].tolist() == ["a", "b"]
    assert summary["rejected"] == {"durations": 1} and summary["items"] == 12
    back = codec.decode_split(arrays)
    assert [s.piece_id for s in back] == ["a", "b"]
    assert [rows(s) for s in back] == [rows(a), rows(b)]


def test_melody_empty_corpus_names_corpus_and_filter():
    codec = MelodyTokenCodec()
    scores = [Score.from_notes([(0, 60, 0, 30)], piece_id=f"s{i}", corpus="essen_erk") for i in range(2)]
    with pytest.raises(EmptyCorpusError, match=r"corpus essen_erk: .*'durations' \(2 of 2 rejected\)"):
        codec.encode_split(scores)


def test_melody_decode_stops_at_delimiter_and_drops_unknown_ids():
    codec = MelodyTokenCodec(transpose=False)
    ids = codec.tokens_to_ids("/ / 60 _ r 62 / 64 _")
    ids = np.insert(ids, 3, 999)  # unknown id: no time
    assert rows(codec.decode(ids)) == [(0, 60, 0, 2 * S), (0, 62, 3 * S, S)]
    assert len(codec.decode(codec.tokens_to_ids("/ / /")).notes) == 0


def test_melody_bad_settings():
    with pytest.raises(ParamsError, match="allowed_durations"):
        MelodyTokenCodec(allowed_durations=[0.1])
    with pytest.raises(ParamsError, match="allowed_durations"):
        MelodyTokenCodec(allowed_durations=["quarter"])
    with pytest.raises(ValueError, match="'x'"):
        MelodyTokenCodec().tokens_to_ids("60 x")


# Keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, key",
    [
        ("G major", (7, "major")),
        ("e minor", (4, "minor")),
        ("F# major", (6, "major")),
        ("B- minor", (10, "minor")),
        ("Bb major", (10, "major")),
        ("E-flat major", (3, "major")),
        ("c# minor", (1, "minor")),
        ("Am", (9, "minor")),
        ("e", (4, "minor")),  # music21: lower-case tonic is minor
        ("D", (2, "major")),
        ("D dorian", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_key(text, key):
    assert parse_key(text) == key


def test_estimate_key():
    c_major = np.array([60, 62, 64, 65, 67, 69, 71, 72])
    assert estimate_key(c_major, np.array([4, 1, 2, 1, 3, 1, 1, 4])) == (0, "major")
    a_minor = np.array([57, 60, 64, 57, 59, 62, 56, 57])
    assert estimate_key(a_minor, np.array([4, 2, 2, 4, 1, 1, 1, 4])) == (9, "minor")
    assert estimate_key(np.array([], dtype=int)) == (0, "major")


def test_transposition_and_names():
    assert transposition_to_reference(7, "major") == 5
    assert transposition_to_reference(6, "major") == -6
    assert transposition_to_reference(5, "major") == -5
    assert transposition_to_reference(9, "minor") == 0
    assert transposition_to_reference(4, "minor") == 5
    assert key_name(10, "minor") == "b- minor" and key_name(6, "major") == "F# major"


def test_noise_baselines_follow_the_data_rates():
    from scorelab.codecs import get_codec

    roll = get_codec(
        "pianoroll",
        dict(
            steps_per_beat=4,
            bars_per_sample=1,
            hop_bars=1,
            pitch_low=48,
            pitch_high=64,
            min_notes=1,
            time_signature="4/4",
        ),
    )
    x = np.zeros((10, 1, 16, 16), dtype=np.uint8)
    x[:, 0, :, 4] = 1  # one pitch (52) always on, nothing else
    noise = roll.noise({"x": x}, n=3, seed=0)
    assert len(noise) == 3
    for s in noise:
        assert set(s.notes["pitch"]) == {52} and s.notes["duration"].sum() == 16 * 6
    tokens = get_codec(
        "melody_tokens",
        dict(
            steps_per_beat=4,
            transpose=False,
            allowed_durations=[0.25],
            delimiter_length=2,
            pitch_low=60,
            pitch_high=62,
        ),
    )
    stream = tokens.tokens_to_ids("60 61 60 / /")
    songs = tokens.noise({"x": stream, "song_lengths": np.array([3])}, n=2, seed=1)
    assert [len(s.notes) for s in songs] == [3, 3]
    assert set(np.concatenate([s.notes["pitch"] for s in songs])) <= {60, 61}
    again = tokens.noise({"x": stream, "song_lengths": np.array([3])}, n=2, seed=1)
    assert [s.notes["pitch"].tolist() for s in songs] == [s.notes["pitch"].tolist() for s in again]
