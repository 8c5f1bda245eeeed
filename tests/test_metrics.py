"""Every metric against numbers computed by hand on small hand-written Scores."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from scorelab.metrics import (
    PCH_KEYS,
    SET_KEYS,
    bar_ticks,
    empty_bar_rate,
    empty_bars_percent,
    evaluate_set,
    in_scale_ratio,
    n_bars_of,
    pitch_class_histogram,
    pitch_histogram,
    pitch_histogram_manhattan,
    pitch_mean,
    pitch_std,
    qualified_notes_percent,
    round_sig,
    unique_pitches,
    used_pitch_classes_per_bar,
)
from scorelab.score import Score, Track

STEP = 6  # a 16th note at 24 ticks per quarter


def two_track_score() -> Score:
    """2 tracks, 2 bars of 4/4 (96 ticks each); the bass is silent in bar 2.

    soprano: C4 (bar 1), E4 (bar 1), G4 (bar 2, 96 ticks), F#4 (bar 2, 12 ticks)
    bass:    C3 (bar 1, whole bar)
    """
    rows = [
        (0, 60, 0, 48),
        (0, 64, 48, 48),
        (0, 67, 96, 96),
        (0, 66, 96, 12),
        (1, 48, 0, 96),
    ]
    return Score.from_notes(rows, tracks=[Track("soprano", 52), Track("bass", 32)], piece_id="a")


def empty_score() -> Score:
    return Score.from_notes([], tracks=[Track("solo")], piece_id="empty")


# --- bars --------------------------------------------------------------------------


def test_bar_ticks_from_time_signature():
    assert bar_ticks(two_track_score()) == 96.0
    s = Score.from_notes([(0, 60, 0, 6)], time_signature=(6, 8))
    assert bar_ticks(s) == 72.0
    s = Score.from_notes([(0, 60, 0, 6)], time_signature=(3, 4), resolution=4)
    assert bar_ticks(s) == 12.0


def test_empty_bar_rate_one_of_four_cells_empty():
    s = two_track_score()
    assert n_bars_of(s) == 2
    assert empty_bar_rate(s) == 0.25
    assert empty_bars_percent(s) == 25.0


def test_note_sounds_in_every_bar_it_overlaps():
    # 72..120 crosses the bar line at 96: both bars sound.
    crossing = Score.from_notes([(0, 60, 72, 48)])
    assert empty_bar_rate(crossing) == 0.0
    # 0..96 ends exactly on the bar line: bar 2 stays empty when asked for 2 bars.
    whole = Score.from_notes([(0, 60, 0, 96)])
    assert empty_bar_rate(whole) == 0.0
    assert empty_bar_rate(whole, n_bars=2) == 0.5


def test_empty_bar_rate_explicit_n_bars_cuts_later_notes():
    s = Score.from_notes([(0, 60, 0, 24), (0, 62, 3 * 96, 24)])
    assert n_bars_of(s) == 4
    assert empty_bar_rate(s) == 0.5  # bars 2 and 3 empty
    assert empty_bar_rate(s, n_bars=2) == 0.5  # bar 4's note is outside the window
    assert empty_bar_rate(s, n_bars=1) == 0.0


def test_drum_track_counts_for_empty_bars_not_for_pitch():
    s = Score.from_notes([(0, 60, 0, 96), (1, 36, 96, 24)], tracks=[Track("piano"), Track("kit", 0, True)])
    assert empty_bar_rate(s) == 0.5  # piano empty in bar 2, kit empty in bar 1
    assert unique_pitches(s) == 1
    assert pitch_mean(s) == 60.0
    assert used_pitch_classes_per_bar(s) == 1.0


def test_used_pitch_classes_per_bar():
    # cells: soprano bar 1 {C, E} = 2, soprano bar 2 {G, F#} = 2, bass bar 1 {C} = 1
    assert used_pitch_classes_per_bar(two_track_score()) == pytest.approx(5 / 3)
    # octaves are one pitch class; a sustained note counts in both bars
    s = Score.from_notes([(0, 60, 0, 192), (0, 72, 0, 24), (0, 62, 96, 24)])
    # bar 1 {C} = 1, bar 2 {C, D} = 2
    assert used_pitch_classes_per_bar(s) == 1.5


# --- pitch -------------------------------------------------------------------------


def test_unique_pitches_and_in_scale_ratio():
    s = two_track_score()
    assert unique_pitches(s) == 5
    assert in_scale_ratio(s) == 0.8  # F# is the one note outside C major
    assert in_scale_ratio(s, scale=(0, 4, 7)) == 0.8  # C, E, G, C in a C triad
    assert in_scale_ratio(s, scale=(6,)) == 0.2


def test_pitch_mean_and_std():
    s = two_track_score()
    # (60 + 64 + 67 + 66 + 48) / 5 = 61; deviations -1, 3, 6, 5, -13 -> var 240 / 5 = 48
    assert pitch_mean(s) == 61.0
    assert pitch_std(s) == pytest.approx(math.sqrt(48))
    assert pitch_std(Score.from_notes([(0, 60, 0, 6)])) == 0.0


def test_pitch_class_histogram_counts_notes():
    h = pitch_class_histogram(two_track_score())
    expected = np.zeros(12)
    expected[[0, 4, 6, 7]] = [0.4, 0.2, 0.2, 0.2]  # C twice (C4, C3), E, F#, G
    np.testing.assert_allclose(h, expected)
    assert h.sum() == pytest.approx(1.0)


def test_pitch_histogram_manhattan():
    a = [Score.from_notes([(0, 60, 0, 6), (0, 62, 6, 6)])]
    b = [Score.from_notes([(0, 60, 0, 6), (0, 60, 6, 6)])]
    assert pitch_histogram(a)[[60, 62]].tolist() == [1, 1]
    # normalised: |0.5 - 1| + |0.5 - 0| = 1; raw counts: |1 - 2| + |1 - 0| = 2
    assert pitch_histogram_manhattan(a, b) == 1.0
    assert pitch_histogram_manhattan(a, b, normalize=False) == 2.0
    assert pitch_histogram_manhattan(a, a) == 0.0
    disjoint = [Score.from_notes([(0, 70, 0, 6)])]
    assert pitch_histogram_manhattan(b, disjoint) == 2.0
    assert math.isnan(pitch_histogram_manhattan(a, [empty_score()]))


# --- duration ----------------------------------------------------------------------


def test_qualified_notes_percent():
    # threshold 3 steps * 6 ticks = 18: the 12-tick F# is the one short note
    assert qualified_notes_percent(two_track_score(), STEP) == 80.0
    # >= 54 ticks: only the two 96-tick notes (48, 48, 96, 12, 96)
    assert qualified_notes_percent(two_track_score(), STEP, min_steps=9) == 40.0
    exact = Score.from_notes([(0, 60, 0, 18), (0, 62, 18, 17)])
    assert qualified_notes_percent(exact, STEP) == 50.0
    with pytest.raises(ValueError):
        qualified_notes_percent(exact, 0)


# --- edge cases --------------------------------------------------------------------


def test_empty_score_returns_nan_as_documented():
    s = empty_score()
    assert math.isnan(empty_bar_rate(s))
    assert empty_bar_rate(s, n_bars=2) == 1.0
    assert unique_pitches(s) == 0
    for value in (
        in_scale_ratio(s),
        used_pitch_classes_per_bar(s),
        qualified_notes_percent(s, STEP),
        pitch_mean(s),
        pitch_std(s),
    ):
        assert math.isnan(value)
    assert np.isnan(pitch_class_histogram(s)).all()


# --- sets --------------------------------------------------------------------------


def test_evaluate_set_keys_and_means():
    m = evaluate_set([two_track_score(), empty_score()], step_ticks=STEP)
    assert list(m) == list(SET_KEYS)
    assert m["n_pieces"] == 2 and m["n_notes"] == 5
    assert m["empty_bar_rate"] == 0.25  # the empty piece has no bars: left out
    assert m["EB"] == 25.0
    assert m["unique_pitches"] == 2.5  # (5 + 0) / 2: a count, the empty piece counts
    assert m["in_scale_ratio"] == 0.8
    assert m["UPC"] == round_sig(5 / 3) == 1.66667
    assert m["QN"] == 80.0
    assert m["pitch_mean"] == 61.0
    assert m["pitch_std"] == 6.9282
    assert [m[k] for k in PCH_KEYS] == [0.4, 0, 0, 0, 0.2, 0, 0.2, 0.2, 0, 0, 0, 0]
    json.dumps(m, allow_nan=False)


def test_evaluate_set_fixed_bars_and_reference():
    m = evaluate_set([two_track_score(), empty_score()], step_ticks=STEP, n_bars=2)
    assert m["empty_bar_rate"] == 0.625  # (0.25 + 1.0) / 2
    ref = evaluate_set([two_track_score()], step_ticks=STEP, reference=[two_track_score()])
    assert ref["pitch_hist_manhattan"] == 0.0
    assert "pitch_hist_manhattan" not in m


def test_evaluate_empty_set_is_json_safe():
    m = evaluate_set([], step_ticks=STEP)
    assert m["n_pieces"] == 0 and m["n_notes"] == 0
    assert all(m[k] is None for k in SET_KEYS if k not in ("n_pieces", "n_notes"))
    assert json.loads(json.dumps(m, allow_nan=False)) == m


def test_round_sig():
    assert round_sig(1 / 3) == 0.333333
    assert round_sig(123456789.0) == 123457000.0
    assert round_sig(float("nan")) is None
    assert isinstance(round_sig(np.float64(2.5)), float)


def test_note_set_diversity_by_hand():
    from scorelab.metrics import note_set_diversity

    a = Score.from_notes([(0, 60, 0, 24), (0, 62, 24, 24)])
    b = Score.from_notes([(0, 62, 24, 24), (0, 64, 48, 24)])
    # |A & B| = 1, |A | B| = 3: distance 2/3; a set of one piece has no pairs
    assert note_set_diversity([a, b]) == pytest.approx(2 / 3)
    assert note_set_diversity([a, a, a]) == 0.0
    # pairs (a,a)=0, (a,b)=2/3, (a,b)=2/3 -> mean 4/9
    assert note_set_diversity([a, a, b]) == pytest.approx(4 / 9)
    assert math.isnan(note_set_diversity([a]))


def test_unique_pitches_std_by_hand():
    """S4's "pitch std": the spread across pieces of the number of distinct pitches."""
    from scorelab.metrics.sets import evaluate_set

    two = Score.from_notes([(0, 60, 0, 24), (0, 62, 24, 24), (0, 60, 48, 24)])  # 2 pitches
    four = Score.from_notes([(0, 60, 0, 24), (0, 62, 24, 24), (0, 64, 48, 24), (0, 65, 72, 24)])  # 4
    m = evaluate_set([two, four, four, two], step_ticks=6)
    assert m["unique_pitches"] == 3.0
    assert m["unique_pitches_std"] == 1.0  # population std of (2, 4, 4, 2)
    assert evaluate_set([four, four], step_ticks=6)["unique_pitches_std"] == 0.0  # collapse
    assert evaluate_set([], step_ticks=6)["unique_pitches_std"] is None
