"""The headline score (scorelab.metrics.headline): hand-computed values, robustness, verdicts,
and the committed run's references (the test split scores as real, the naive baseline as naive)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from scorelab.metrics.headline import (
    HEADLINE_FEATURES,
    calibrate,
    compare_with_references,
    ks_closeness,
    score_set,
    scored_pieces,
    verdict,
)

ROOT = Path(__file__).resolve().parents[1]


def test_ks_closeness_by_hand():
    # ECDFs at 1, 2, 3, 4: set 1/3, 2/3, 1, 1; reference 1/4, 2/4, 3/4, 1 -> largest gap 1/4
    assert ks_closeness(np.array([1.0, 2, 3]), np.array([1.0, 2, 3, 4]))[0] == pytest.approx(0.75)
    # disjoint samples: closeness 0; identical point masses: 1 (no bandwidth to go wrong)
    assert ks_closeness(np.array([5.0, 6]), np.array([1.0, 2]))[0] == 0.0
    assert ks_closeness(np.zeros(7), np.zeros(30))[0] == 1.0
    # undefined (NaN) counts as a value above every defined one: at 1, 1/2 against 1
    assert ks_closeness(np.array([1.0, np.nan]), np.array([1.0, 1.0]))[0] == pytest.approx(0.5)
    assert math.isnan(ks_closeness(np.array([]), np.array([1.0]))[0])


def test_ks_closeness_of_resamples_by_hand():
    draws = np.array([[0, 1, 2], [0, 0, 0], [2, 2, 2]])
    got = ks_closeness(np.array([1.0, 2, 3]), np.array([1.0, 2, 3]), draws)
    # the set itself: 1; [1, 1, 1]: ECDF 1 at 1 against 1/3 -> 1/3; [3, 3, 3]: 0 at 2 against 2/3 -> 1/3
    assert got == pytest.approx([1.0, 1 / 3, 1 / 3])


def _table(**cols):
    return {k: np.asarray(v, dtype=float) for k, v in cols.items()}


def test_iqm_by_hand():
    from scorelab.metrics.headline import iqm

    # twelve values: the lowest and highest three dropped, the middle six averaged
    assert iqm(np.arange(12.0)) == pytest.approx(np.mean([3, 4, 5, 6, 7, 8]))
    assert iqm(np.array([0.0, 1, 1, 1, 1, 1, 1, 1, 100])) == 1.0  # nine: two dropped at each end
    assert iqm(np.array([[1.0, 2], [3, 4], [5, 6], [7, 8]])).tolist() == [4.0, 5.0]  # per column


def test_the_iqm_keeps_one_feature_from_deciding():
    rng = np.random.default_rng(0)
    ref = {f: rng.normal(size=200) for f in HEADLINE_FEATURES}
    like = {f: rng.normal(size=100) for f in HEADLINE_FEATURES}
    broken = dict(like, pitch_range=like["pitch_range"] + 100.0)  # one feature far off
    a, b = score_set(like, ref, 100, seed=1), score_set(broken, ref, 100, seed=1)
    assert b["features"]["pitch_range"] == 0.0
    assert abs(a["score"] - b["score"]) < 0.05  # one feature at 0: the IQM barely moves
    assert b["sensitivity"] < 0.05
    assert len(a["features"]) == len(HEADLINE_FEATURES) and a["left_out"] == []
    lo, hi = a["ci95"]
    assert 0 <= lo <= a["score"] <= hi <= 1


def test_a_feature_undefined_on_the_training_set_is_left_out():
    ref = _table(pitch_range=[1, 2, 3], EB=[np.nan] * 3)
    got = score_set(
        _table(pitch_range=[1, 2, 3], EB=[0, 0, 0]), ref, 3, seed=0, features=("pitch_range", "EB")
    )
    assert got["left_out"] == ["EB"] and list(got["features"]) == ["pitch_range"]
    assert got["score"] == 1.0


def test_calibration_and_verdicts_by_hand():
    assert calibrate(0.6, 0.9, 0.3) == pytest.approx(0.5)
    assert calibrate(0.9, 0.9, 0.3) == 1.0 and calibrate(0.3, 0.9, 0.3) == 0.0
    assert calibrate(0.5, 0.3, 0.3) is None  # references that coincide calibrate nothing
    # ... nor do references a rounding error apart (a tiny run gave 1.2e15 before this)
    assert calibrate(0.2, 1e-16, 0.0) is None
    ceiling, floor = (0.8, 0.95), (0.2, 0.35)
    assert verdict((0.7, 0.85), ceiling, floor) == "like the data"
    assert verdict((0.5, 0.7), ceiling, floor) == "between"
    assert verdict((0.3, 0.5), ceiling, floor) == "no better than naive"
    assert verdict((0.5, 0.7), (0.3, 0.9), (0.2, 0.4)) == "references overlap"
    assert verdict((None, None), ceiling, floor) == "not scored"


def test_every_set_is_scored_at_the_same_number_of_pieces():
    rng = np.random.default_rng(2)
    make = lambda n, shift: {f: rng.normal(shift, size=n) for f in HEADLINE_FEATURES}  # noqa: E731
    got = compare_with_references(make(300, 0.5), make(500, 0), make(80, 0), make(100, 5), seed=0)
    assert scored_pieces(300, 80, 100) == 80
    assert got["pieces"] == got["ceiling"]["pieces"] == got["floor"]["pieces"] == 80
    assert got["floor"]["score"] < got["score"] < got["ceiling"]["score"]
    assert got["verdict"] == "between"
    assert 0 < got["relative"] < 1


def test_overlapping_references_give_a_verdict_and_no_relative_score():
    """Two pieces per set (the tiny profile): test split and noise cannot be told apart, so
    there is no scale to put the set on; the verdict says why instead of a ratio."""
    rng = np.random.default_rng(3)
    make = lambda n, shift: {f: rng.normal(shift, size=n) for f in HEADLINE_FEATURES}  # noqa: E731
    got = compare_with_references(make(2, 0.0), make(50, 0), make(2, 0), make(2, 0.1), seed=0)
    assert got["verdict"] == "references overlap"
    assert got["relative"] is None and got["relative_ci95"] == [None, None]


def _committed(kind: str):
    """Committed metrics files that carry a headline. Audio ones (S3's waveform corpus,
    judged by RMS level; the Hilbert autoencoder, judged by reconstruction error and
    SNR) have no note features and so no headline: they are left out at collection
    rather than collected and skipped."""
    paths = sorted((ROOT / "metrics" / kind).glob("*/*.json"))
    return [p for p in paths if "verdict" in json.loads(p.read_text())]


@pytest.mark.parametrize("path", [p for p in _committed("data") if p.stem in ("test", "noise")], ids=str)
def test_committed_references_score_as_they_must(path):
    """The committed run survives its own references: every dataset's held-out test split
    is "like the data" and its naive baseline "no better than naive", with the baseline's
    interval wholly below the test split's, and no one feature moves either by more than 0.1."""
    m = json.loads(path.read_text())
    want = {"test": "like the data", "noise": "no better than naive"}[path.stem]
    assert m["verdict"] == want
    assert m["sensitivity"] <= 0.1
    if path.stem == "noise":
        test = json.loads((path.parent / "test.json").read_text())
        assert m["score_ci95"][1] < test["score_ci95"][0]


def test_still_improving_by_hand():
    from scorelab.pipeline.evaluate import still_improving

    def row(step, score, lo, hi):
        return {"step": step, "score": score, "score_lo": lo, "score_hi": hi}

    rising = [row(100, 0.2, 0.1, 0.3), row(600, 0.4, 0.3, 0.5), row(800, 0.6, 0.5, 0.7)]
    assert still_improving(rising) == "yes"  # 0.5 > 0.4, the score at 3/4 of 800 steps
    flat = [row(600, 0.55, 0.5, 0.6), row(800, 0.6, 0.5, 0.7)]
    assert still_improving(flat) == "flat"
    falling = [row(600, 0.8, 0.7, 0.9), row(800, 0.6, 0.5, 0.7)]
    assert still_improving(falling) == "falling"
    assert still_improving([row(800, 0.6, 0.5, 0.7)]) == "too few points"


@pytest.mark.parametrize("path", [p for p in _committed("variants") if p.stem != "fidelity"], ids=str)
def test_no_one_feature_moves_a_committed_score(path):
    m = json.loads(path.read_text())
    assert m["score"] is not None and m["sensitivity"] <= 0.1
    assert m["verdict"] in ("like the data", "between", "no better than naive")
