"""What a codec loses, note by note, on pieces whose losses are known by hand."""

from __future__ import annotations

import pytest

from scorelab.codecs import get_codec
from scorelab.codecs.fidelity import fidelity, match_notes, roundtrip
from scorelab.score import Score, Track

ROLL = dict(steps_per_beat=4, bars_per_sample=1, hop_bars=1, pitch_low=48, pitch_high=84, min_notes=1)
TOKENS = dict(
    steps_per_beat=4,
    transpose=True,
    allowed_durations=[0.25, 0.5, 1.0, 2.0],
    delimiter_length=4,
    pitch_low=36,
    pitch_high=96,
)


def test_a_roll_merges_repeats_rounds_onsets_and_drops_out_of_range():
    """At 24 ticks per quarter a 16th step is 6 ticks. Of 5 notes in two voices:
    C4 twice without a gap (the second merges into the first: dropped; the first lasts
    48 ticks: lengthened), E4 from tick 2 to 24 (its onset rounds to 0: moved, and it now
    lasts 24: lengthened), a 32nd G4 of 3 ticks (one step, 6 ticks: lengthened), and C7
    above the range (out of range, not counted as dropped).
    """
    two = [Track("s"), Track("a")]
    score = Score.from_notes(
        [(0, 60, 0, 24), (0, 60, 24, 24), (1, 64, 2, 22), (1, 67, 48, 3), (1, 96, 72, 24)],
        tracks=two,
        piece_id="p",
    )
    codec = get_codec("pianoroll", {**ROLL, "time_signature": "4/4"})
    f = fidelity(codec, [score])
    assert f["notes"] == 5 and f["pieces_filtered"] == 0 and f["meter_changed"] == 0
    assert f["out_of_range"] == pytest.approx(1 / 5)
    assert f["dropped"] == pytest.approx(1 / 5)
    assert f["moved"] == pytest.approx(1 / 5)
    assert f["lengthened"] == pytest.approx(3 / 5)
    assert f["shortened"] == 0 and f["extra"] == 0
    assert f["mean_onset_shift_ticks"] == pytest.approx(2 / 3)  # 0 + 2 + 0 over the 3 matched


def test_merged_tracks_lose_unisons_and_other_meters_are_filtered():
    unison = Score.from_notes([(0, 60, 0, 96), (1, 60, 0, 96)], tracks=[Track("s"), Track("a")], piece_id="u")
    waltz = Score.from_notes(
        [(0, 60, 0, 72)], tracks=[Track("s"), Track("a")], piece_id="w", time_signature=(3, 4)
    )
    codec = get_codec("pianoroll", {**ROLL, "time_signature": "4/4", "merge_tracks": True})
    f = fidelity(codec, [unison, waltz])
    assert f["filtered_by"] == {"time_signature": 1} and f["pieces_filtered"] == 0.5
    assert f["notes"] == 2 and f["dropped"] == 0.5


def test_melody_tokens_keep_kept_songs_whole_in_their_own_key_but_not_their_meter():
    song = Score.from_notes(
        [(0, 62, 0, 12), (0, 66, 12, 12), (0, 69, 24, 48)],
        tracks=[Track("m")],
        piece_id="d",
        key="D major",
        time_signature=(3, 4),
    )
    odd = Score.from_notes([(0, 62, 0, 30)], tracks=[Track("m")], piece_id="x", key="D major")
    codec = get_codec("melody_tokens", TOKENS)
    back = roundtrip(codec, song)
    assert back.notes["pitch"].tolist() == [62, 66, 69]  # transposed to C and back
    f = fidelity(codec, [song, odd])
    assert f["filtered_by"] == {"durations": 1}
    assert (f["dropped"], f["moved"], f["shortened"], f["lengthened"]) == (0, 0, 0, 0)
    assert f["meter_changed"] == 1.0  # the 3/4 tune comes back in 4/4


def test_one_decoded_note_answers_for_one_original_note():
    import pandas as pd

    orig = pd.DataFrame(
        {"piece": [0, 0], "track": [0, 0], "pitch": [60, 60], "onset": [0, 2], "duration": [6, 6]}
    )
    dec = pd.DataFrame({"piece": [0], "track": [0], "pitch": [60], "onset": [0], "duration": [12]})
    m = match_notes(orig, dec, 3)
    assert m["d_onset"].notna().tolist() == [True, False]
