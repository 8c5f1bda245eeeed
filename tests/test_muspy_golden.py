"""Golden values from muspy 0.5.0 where the definitions agree, and hand values where muspy errs.

``tests/data/muspy_golden`` holds 14 Bach chorales (evenly spread over the corpus, with
its 3/2 and 12/8 pieces and one with long silent stretches), four small trap pieces and
a piece with drums,
as MIDI, with the values muspy 0.5.0 gave for them (``muspy_values.json``, written by
``python benchmarks/muspy_metrics.py --golden``; muspy is not a test dependency). On
all 348 chorales the benchmark finds the same agreement.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from scorelab.metrics.notes import read_midi_set
from scorelab.metrics.registry import compute_piece_metrics

GOLDEN = Path(__file__).parent / "data" / "muspy_golden"
AGREE = (
    "pitch_range",
    "unique_pitches",
    "n_pitch_classes_used",
    "polyphony",
    "in_scale_ratio",
    "scale_consistency",
    "pitch_entropy",
    "pitch_class_entropy",
    "drum_in_duple_pattern_rate",
    "drum_in_triple_pattern_rate",
    "drum_pattern_consistency",
)


@pytest.fixture(scope="module")
def golden():
    recorded = json.loads((GOLDEN / "muspy_values.json").read_text())
    paths = sorted(GOLDEN.glob("*.mid"))
    ns, rejected = read_midi_set(paths)
    assert not rejected and ns.n_pieces == len(paths) == 19
    ours = compute_piece_metrics(ns)
    names = [p.name for p in paths]
    theirs = {k: np.array([v[n] for n in names], float) for k, v in recorded["values"].items()}
    return ns, names, ours, theirs


def test_same_values_as_muspy_where_the_definitions_agree(golden):
    _, names, ours, theirs = golden
    drums = names.index("drums.mid")
    assert ours["drum_in_duple_pattern_rate"][drums] == 0.6  # 0, 6, 48 of 0, 6, 16, 3, 48
    for key in AGREE:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=0, atol=1e-9, err_msg=key)


def test_polyphony_rate_agrees_on_muspys_time_base(golden):
    """Ours is over the judged bars, muspy's up to the last note's end (threshold=1: two
    pitches or more): the same count of polyphonic ticks over a different length.
    """
    ns, _, ours, theirs = golden
    length = np.zeros(ns.n_pieces)
    np.maximum.at(length, ns.piece, ns.end)
    judged = ns.n_bars * ns.bar_unit / ns.ts_den
    np.testing.assert_allclose(ours["polyphony_rate"] * judged / length, theirs["polyphony_rate"], atol=1e-9)


def _at(names, values, name):
    return float(values[names.index(name)])


def test_where_muspy_errs_our_values_are_the_hand_computed_ones(golden):
    _, names, ours, theirs = golden

    def both(key, name, theirs_key=None):
        return _at(names, ours[key], name), _at(names, theirs[theirs_key or key], name)

    # a whole note ends on the bar line, bar 2 is silent, a whole note fills bar 3:
    # 4 of 12 beats and 1 of 3 bars are empty. muspy marks the beat and the bar after
    # each end (end inclusive) and adds a beat/bar past the end: 3/13 beats, 0 bars.
    assert both("empty_beat_rate", "trap_end_on_bar_line.mid") == pytest.approx((4 / 12, 3 / 13))
    assert both("empty_measure_rate", "trap_end_on_bar_line.mid") == pytest.approx((1 / 3, 0.0))
    # a quarter note ending on beat 2, then a silent half bar... 3 of 8 beats empty; muspy 2/9
    assert both("empty_beat_rate", "trap_end_on_beat.mid") == pytest.approx((3 / 8, 2 / 9))
    # two pitches held through a bar: polyphonic all the time; muspy's default threshold
    # (more than two pitches) says never
    assert both("polyphony_rate", "trap_two_sustained.mid", "polyphony_rate_default") == (1.0, 0.0)
    # three bars with the same four onsets, ending on the bar line: a steady groove (1);
    # muspy compares the last bar with an empty bar past the end: 1 - 4 / (96 * 3)
    assert both("groove_consistency", "trap_steady_groove.mid") == pytest.approx((1.0, 1 - 4 / 288))


def test_groove_and_empty_measures_agree_where_muspys_extra_bar_does_not_arise(golden):
    """muspy's bar count ``length // bar + 1`` equals ours (``ceil(length / bar)``) when a
    piece does not end on a bar line; there the two groove consistencies agree.
    """
    ns, names, ours, theirs = golden
    length = np.zeros(ns.n_pieces, np.int64)
    np.maximum.at(length, ns.piece, ns.end)
    bar = ns.bar_unit // ns.ts_den
    chorale = np.array([n.startswith("bwv") for n in names])
    off_line = chorale & (length % bar != 0)
    assert off_line.sum() >= 5
    np.testing.assert_allclose(ours["groove_consistency"][off_line], theirs["groove_consistency"][off_line])
    # empty measures: every chorale agrees but the one with silent bars, where notes
    # ending on bar lines make muspy count the next bar as sounding
    same = chorale & np.array([n != "bwv248.42-4.mid" for n in names])
    np.testing.assert_allclose(ours["empty_measure_rate"][same], theirs["empty_measure_rate"][same])
    assert both_differ(names, ours, theirs, "empty_measure_rate", "bwv248.42-4.mid")


def both_differ(names, ours, theirs, key, name) -> bool:
    return abs(_at(names, ours[key], name) - _at(names, theirs[key], name)) > 0.05
