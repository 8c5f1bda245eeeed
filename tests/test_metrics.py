"""Every metric against values computed by hand, including the traps other libraries fall in."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from scorelab.metrics import PIECE_METRICS, NoteSet, evaluate_scores, read_midi_set, round_sig
from scorelab.metrics.registry import compute_piece_metrics, piece_metric
from scorelab.metrics.sets import evaluate_notes, s4_manhattan
from scorelab.score import Score, Track

STEP = 6  # a 16th note at 24 ticks per quarter


def two_track_score(piece_id: str = "a", scale: int = 1) -> Score:
    """2 tracks, 2 bars of 4/4 (96 ticks each at 24 per quarter); the bass is silent in bar 2.

    soprano: C4 0-48, E4 48-96 (bar 1), G4 96-192 and F#4 96-108 (bar 2)
    bass:    C3 0-96 (bar 1)
    ``scale`` multiplies every tick (and the resolution): the same music in finer ticks.
    """
    rows = [(0, 60, 0, 48), (0, 64, 48, 48), (0, 67, 96, 96), (0, 66, 96, 12), (1, 48, 0, 96)]
    rows = [(t, p, o * scale, d * scale) for t, p, o, d in rows]
    return Score.from_notes(
        rows, tracks=[Track("soprano", 52), Track("bass", 32)], piece_id=piece_id, resolution=24 * scale
    )


def metrics_of(*scores: Score, n_bars: int | None = None, step: int = STEP) -> dict[str, np.ndarray]:
    return compute_piece_metrics(NoteSet.from_scores(list(scores), n_bars=n_bars, step_ticks=step))


def one(table: dict, key: str) -> float:
    return float(table[key][0])


def test_bars_tracks_and_pitch_classes_by_hand():
    m = metrics_of(two_track_score())
    assert one(m, "empty_bar_rate") == 0.25  # bass bar 2 of 4 (track, bar) cells
    assert one(m, "EB") == 25.0
    assert (one(m, "EB_track.t0"), one(m, "EB_track.t1")) == (0.0, 50.0)  # MuseGAN: per track
    assert one(m, "UPC") == pytest.approx(5 / 3)  # {C, E}, {G, F#}, {C}
    assert one(m, "empty_measure_rate") == 0.0
    assert one(m, "bar_used_pitch") == 2.5  # {60, 64, 48}, {67, 66}
    assert one(m, "bar_used_note") == 2.5  # 3 onsets in bar 1, 2 in bar 2
    assert one(m, "total_used_note") == 5


def test_pitch_metrics_by_hand():
    m = metrics_of(two_track_score())
    assert one(m, "unique_pitches") == 5
    assert one(m, "n_pitch_classes_used") == 4
    assert one(m, "pitch_range") == 19  # 67 - 48
    assert one(m, "in_scale_ratio") == 0.8  # F# is out of C major
    assert one(m, "scale_consistency") == 1.0  # all in G major
    assert one(m, "pitch_entropy") == pytest.approx(math.log2(5))
    pc = -(0.4 * math.log2(0.4) + 3 * 0.2 * math.log2(0.2))  # C twice, E, G, F#
    assert one(m, "pitch_class_entropy") == pytest.approx(pc)
    # MGEval's histogram weighs seconds x velocity (equal velocities here): C 48 + 96 ticks,
    # E 48, G 96, F# 12 of 300
    assert one(m, "pitch_class_histogram.C") == pytest.approx(0.48)
    assert one(m, "pitch_class_histogram.F#") == pytest.approx(0.04)
    assert one(m, "avg_pitch_shift") == pytest.approx(7 / 3)  # 60 64 66 67 in the soprano
    assert one(m, "pitch_class_transitions.C>E") == 1 and one(m, "pitch_class_transitions.F#>G") == 1
    assert sum(one(m, f"pitch_class_transitions.{a}>{b}") for a in "CEG" for b in "CEG") == 1


def test_duration_and_rhythm_by_hand():
    m = metrics_of(two_track_score())
    assert one(m, "QN") == 100.0  # every note is at least a 32nd (3 ticks at 24 per quarter)
    assert one(m, "long_notes") == 80.0  # F# lasts 12 ticks < 3 steps of 6
    # polyphony: 2 notes sound 0-108, 1 note 108-192, of 192 ticks
    assert one(m, "polyphony_rate") == pytest.approx(108 / 192)
    assert one(m, "polyphony") == pytest.approx((2 * 108 + 84) / 192)
    assert one(m, "empty_beat_rate") == 0.0
    # onsets at ticks {0, 48} in bar 1 and {0} in bar 2: Hamming 1 of 96 positions
    assert one(m, "groove_consistency") == pytest.approx(1 - 1 / 96)
    assert one(m, "avg_IOI") == pytest.approx(0.5)  # sorted onsets 0 0 48 96 96 ticks, 1/48 s each
    # S4's note-length classes: min(int(seconds * 8), 7); 1 s and 2 s -> 7, 0.25 s -> 2
    assert one(m, "note_length_histogram.7") == 0.8 and one(m, "note_length_histogram.2") == 0.2


def test_qn_is_musical_time_not_grid_steps():
    """MuseGAN: qualified = at least three of its 24 steps per beat, a 32nd note (3 ticks at 24)."""
    s = Score.from_notes([(0, 60, 0, 2), (0, 62, 2, 3), (0, 64, 5, 96)], tracks=[Track("m")])
    assert one(metrics_of(s), "QN") == pytest.approx(200 / 3)  # 2 ticks is shorter than a 32nd
    fine = Score.from_notes([(0, 60, 0, 20), (0, 62, 20, 30)], tracks=[Track("m")], resolution=240)
    assert one(metrics_of(fine, step=0), "QN") == 50.0  # 30 ticks = a 32nd at 240 per quarter
    assert math.isnan(one(metrics_of(fine, step=0), "long_notes"))  # no grid, no grid measure


def test_tonal_distance_by_hand():
    """Bar 1 only (the bass is silent in bar 2): soprano C and E half each, bass C."""

    def phi(ell):
        return np.array(
            [
                np.sin(ell * 7 * np.pi / 6),
                np.cos(ell * 7 * np.pi / 6),
                np.sin(ell * 3 * np.pi / 2),
                np.cos(ell * 3 * np.pi / 2),
                0.5 * np.sin(ell * 2 * np.pi / 3),
                0.5 * np.cos(ell * 2 * np.pi / 3),
            ]
        )

    expected = np.linalg.norm(0.5 * phi(0) + 0.5 * phi(4) - phi(0))
    assert expected == pytest.approx(0.5 * math.sqrt(3.75))
    assert one(metrics_of(two_track_score()), "TD") == pytest.approx(expected)
    assert math.isnan(one(metrics_of(Score.from_notes([(0, 60, 0, 24)], tracks=[Track("m")])), "TD"))


def test_drum_pattern_and_drums_out_of_pitch_metrics():
    rows = [(0, 60, 0, 24), (1, 36, 0, 6), (1, 38, 6, 6), (1, 42, 3, 6)]
    s = Score.from_notes(rows, tracks=[Track("piano"), Track("drums", 0, True)])
    m = metrics_of(s)
    assert one(m, "DP") == pytest.approx(200 / 3)  # ticks 0 and 6 are on the 16th grid, 3 is not
    # MuseGAN's tolerance: one of its 24 steps per beat either side of a 16th counts
    late = [(1, 36, 1, 6), (1, 38, 5, 6), (1, 42, 2, 6), (1, 42, 10, 6)]  # 1 late, 1 early, 2 and 4 off
    off = metrics_of(Score.from_notes(late, tracks=[Track("piano"), Track("drums", 0, True)]))
    assert one(off, "DP") == 50.0
    assert one(m, "unique_pitches") == 1 and one(m, "pitch_range") == 0
    assert math.isnan(one(metrics_of(two_track_score()), "DP"))  # no drums


def test_drum_in_pattern_rates_as_muspy_defines_them():
    """At 24 ticks per quarter the duple mask is every 6 ticks, the triple every 8. Drum
    onsets at 0 (both), 6 (duple), 16 (triple), 3 (neither); the piano note does not count.
    """
    rows = [(0, 60, 1, 24), (1, 36, 0, 6), (1, 38, 6, 6), (1, 42, 16, 6), (1, 46, 3, 6)]
    s = Score.from_notes(rows, tracks=[Track("piano"), Track("drums", 0, True)])
    m = metrics_of(s, step=0)
    assert one(m, "drum_in_duple_pattern_rate") == 0.5 and one(m, "drum_in_triple_pattern_rate") == 0.5
    assert one(m, "drum_pattern_consistency") == 0.5
    # 10 ticks per quarter: no quarter subdivision, so duple falls back to halves (every 5),
    # triple to the beat itself; onsets 0, 5, 3 -> duple 2/3, triple 1/3
    coarse = Score.from_notes(
        [(0, 36, 0, 2), (0, 38, 5, 2), (0, 42, 3, 2)], tracks=[Track("drums", 0, True)], resolution=10
    )
    m = metrics_of(coarse, step=0)
    assert one(m, "drum_in_duple_pattern_rate") == pytest.approx(2 / 3)
    assert one(m, "drum_in_triple_pattern_rate") == pytest.approx(1 / 3)
    assert one(m, "drum_pattern_consistency") == pytest.approx(2 / 3)
    assert math.isnan(one(metrics_of(two_track_score()), "drum_pattern_consistency"))  # no drums


def test_a_note_ending_on_a_line_leaves_the_next_beat_and_bar_empty():
    """MusPy's empty_beat_rate marks beat ``end // resolution`` too; a note sounds end-exclusive."""
    s = Score.from_notes([(0, 60, 0, 24)], tracks=[Track("m")])  # one quarter note, ends on beat 2
    m = metrics_of(s, n_bars=1)
    assert one(m, "empty_beat_rate") == 0.75
    whole = Score.from_notes([(0, 60, 0, 96)], tracks=[Track("m")])  # ends on the bar line
    m = metrics_of(whole, n_bars=2)
    assert one(m, "empty_measure_rate") == 0.5 and one(m, "empty_bar_rate") == 0.5


def test_two_sustained_pitches_are_polyphony():
    """More than one pitch sounding counts, onsets or not (a held chord is polyphony)."""
    s = Score.from_notes([(0, 60, 0, 96), (0, 64, 0, 96)], tracks=[Track("m")])
    assert one(metrics_of(s), "polyphony_rate") == 1.0
    seq = Score.from_notes(
        [(0, 60, 0, 48), (0, 64, 48, 48)], tracks=[Track("m")]
    )  # touching, not overlapping
    assert one(metrics_of(seq), "polyphony_rate") == 0.0


def test_a_pitch_doubled_on_two_tracks_is_one_pitch():
    """Polyphony counts pitches, as MusPy's merged roll does: soprano and alto in unison on C5
    for the first half bar, then alto on E5 under it: 1 pitch for 48 ticks, 2 for 48.
    """
    s = Score.from_notes(
        [(0, 72, 0, 96), (1, 72, 0, 48), (1, 76, 48, 48), (2, 76, 60, 12)],
        tracks=[Track(n) for n in ("s", "a", "t")],
    )
    m = metrics_of(s, n_bars=1)
    assert one(m, "polyphony_rate") == 0.5  # the tenor's E5 doubles the alto's: still 2 pitches
    assert one(m, "polyphony") == pytest.approx((48 * 1 + 48 * 2) / 96)


def test_groove_consistency_takes_the_bar_in_the_notes_unit():
    """The bar length is counted in the notes' own ticks: 96 positions at 24 per quarter, 1920 at
    480 (MusPy's measure_resolution, given in the wrong unit, would divide by 4 or by 96).
    """
    coarse = one(metrics_of(two_track_score()), "groove_consistency")
    fine = one(metrics_of(two_track_score(scale=20), step=0), "groove_consistency")
    assert coarse == pytest.approx(1 - 1 / 96) and fine == pytest.approx(1 - 1 / 1920)


def test_other_meters_use_their_own_bars():
    """3/4: bars of 72 ticks; a note from 0 to 96 sounds in bars 1 and 2 of 3."""
    s = Score.from_notes([(0, 60, 0, 96)], tracks=[Track("m")], time_signature=(3, 4))
    assert one(metrics_of(s, n_bars=3), "empty_bar_rate") == pytest.approx(1 / 3)


def test_empty_piece_counts_zero_and_ratios_undefined():
    m = metrics_of(Score.from_notes([], tracks=[Track("m")]), n_bars=2)
    assert one(m, "unique_pitches") == 0 and one(m, "total_used_note") == 0
    assert one(m, "empty_bar_rate") == 1.0
    for key in ("UPC", "QN", "in_scale_ratio", "pitch_entropy", "pitch_range", "avg_IOI", "polyphony"):
        assert math.isnan(one(m, key)), key


def test_many_pieces_at_once_equal_one_at_a_time():
    scores = [two_track_score("a"), Score.from_notes([(0, 61, 0, 30)], tracks=[Track("m")], piece_id="b")]
    together = metrics_of(*scores)
    for i, s in enumerate(scores):
        alone = metrics_of(s)
        for key, values in alone.items():
            assert np.array_equal(together[key][i], values[0], equal_nan=True), key


def test_diversity_and_used_pitch_spread_by_hand():
    a = Score.from_notes([(0, 60, 0, 24), (0, 62, 24, 24)], tracks=[Track("m")], piece_id="a")
    b = Score.from_notes(
        [(0, 62, 24, 24), (0, 64, 48, 24), (0, 65, 72, 24)], tracks=[Track("m")], piece_id="b"
    )
    ev = evaluate_scores([a, b])
    assert ev.stats["diversity"]["value"] == pytest.approx(1 - 1 / 4)  # 1 shared note of 4
    assert ev.stats["unique_pitches_std"]["value"] == 0.5  # 2 and 3 pitches: population std
    assert evaluate_scores([a, a]).stats["diversity"]["value"] == 0.0


def test_s4_manhattan_as_its_code_computes_it():
    """Runs of +1 semitones, zip-truncated: [60 61 62] [65] against [60] [62 63] -> 0 + 3."""
    a = Score.from_notes([(0, p, 24 * i, 24) for i, p in enumerate([60, 61, 62, 65])], tracks=[Track("m")])
    b = Score.from_notes([(0, p, 24 * i, 24) for i, p in enumerate([60, 62, 63])], tracks=[Track("m")])
    na, nb = NoteSet.from_scores([a]), NoteSet.from_scores([b])
    assert s4_manhattan(na, nb) == 3.0
    ev = evaluate_scores([a], reference=[b])
    assert ev.pairs["s4_manhattan"] == 3.0
    # pitch histograms: 60 and 62 at 1/4 vs 1/3, 61 and 65 only in a, 63 only in b
    assert ev.pairs["pitch_hist_l1"] == pytest.approx(2 * (1 / 3 - 1 / 4) + 1 / 4 + 1 / 4 + 1 / 3)


def test_intervals_json_and_headline():
    ev = evaluate_scores([two_track_score("a"), two_track_score("b")])
    st = ev.stats["EB"]
    assert st["value"] == st["lo"] == st["hi"] == 25.0  # identical pieces: no spread
    full = json.loads(json.dumps(ev.to_json()))  # valid JSON, NaN written as null
    assert full["metrics"]["EB"] == {
        "value": 25.0,
        "ci95": [25.0, 25.0],
        "unit": "%",
        "source": PIECE_METRICS["EB"].source,
    }
    assert full["metrics"]["DP"]["value"] is None
    head = ev.headline()
    assert set(head) == {"EB", "UPC", "unique_pitches", "in_scale_ratio", "diversity", "unique_pitches_std"}
    assert len(ev.frame()) == 2 and ev.frame()["piece_id"].tolist() == ["a", "b"]


def test_bootstrap_interval_covers_the_mean_and_is_seeded():
    scores = [
        Score.from_notes([(0, 60 + k, 0, 24)] * 1, tracks=[Track("m")], piece_id=str(k)) for k in range(4)
    ]
    scores += [Score.from_notes([(0, 60, 0, 24), (0, 62, 24, 24)], tracks=[Track("m")], piece_id="x")]
    a, b = evaluate_scores(scores, seed=3), evaluate_scores(scores, seed=3)
    st = a.stats["unique_pitches"]
    assert st["value"] == pytest.approx(6 / 5) and st["lo"] < st["value"] < st["hi"]
    assert json.dumps(a.to_json()) == json.dumps(b.to_json())


def test_registering_a_metric_puts_it_everywhere():
    @piece_metric("test_highest_pitch", "MIDI", "this test")
    def highest(ns: NoteSet) -> np.ndarray:
        out = np.zeros(ns.n_pieces)
        np.maximum.at(out, ns.piece, ns.pitch)
        return out

    try:
        ev = evaluate_notes(NoteSet.from_scores([two_track_score()]))
        assert ev.stats["test_highest_pitch"]["value"] == 67
        assert "test_highest_pitch" in ev.to_json()["metrics"] and "test_highest_pitch" in ev.frame()
    finally:
        del PIECE_METRICS["test_highest_pitch"]


def test_subset_with_repeats():
    ns = NoteSet.from_scores([two_track_score("a"), Score.from_notes([(0, 70, 0, 6)], tracks=[Track("m")])])
    sub = ns.subset(np.array([1, 1, 0]))
    assert sub.n_pieces == 3 and sub.piece_ids == ("piece", "piece", "a")
    assert sub.pitch.tolist() == [70, 70, 60, 48, 64, 66, 67]  # onset, then track, then pitch
    assert sub.piece.tolist() == [0, 1, 2, 2, 2, 2, 2]


def test_read_midi_set_reads_and_rejects(tmp_path):
    from scorelab.io.midi import write_midi

    write_midi(two_track_score(), tmp_path / "a.mid")
    (tmp_path / "bad.mid").write_bytes(b"MThd not really")
    ns, rejected = read_midi_set([tmp_path / "a.mid", tmp_path / "bad.mid"])
    assert ns.n_pieces == 1 and sorted(ns.pitch.tolist()) == [48, 60, 64, 66, 67]
    assert [r[0] for r in rejected] == [str(tmp_path / "bad.mid")] and rejected[0][1]
    m = compute_piece_metrics(ns)
    assert one(m, "unique_pitches") == 5 and one(m, "in_scale_ratio") == 0.8


def test_round_sig():
    assert round_sig(0.1234567) == 0.123457
    assert round_sig(float("nan")) is None and round_sig(float("inf")) is None


def test_shared_intermediates_are_cached_per_set_read_only_and_not_inherited():
    """Polyphony and the pitch metrics share one sweep and one histogram per set: a second
    call gives the same values, nobody can change the cached arrays, and a subset (or a
    bootstrap draw) starts with its own empty cache.
    """
    ns = NoteSet.from_scores([two_track_score("a"), two_track_score("b", scale=2)], step_ticks=STEP)
    first = compute_piece_metrics(ns)
    assert {"sounding", "pitch_histograms"} <= set(ns.cache)
    again = compute_piece_metrics(ns)
    for k in first:
        np.testing.assert_array_equal(first[k], again[k])
    with pytest.raises(ValueError):
        ns.cache["pitch_histograms"][0, 60] = 99
    sub = ns.subset(np.array([1]))
    assert sub.cache == {}
    np.testing.assert_array_equal(compute_piece_metrics(sub)["polyphony"], first["polyphony"][1:])


def test_note_order_is_piece_onset_track_pitch_by_any_route():
    """The combined-key sort, the already-sorted shortcut and the lexsort fallback (keys too
    large for one int64) give the same order.
    """
    rng = np.random.default_rng(0)
    n = 200
    piece, track, pitch = rng.integers(0, 3, n), rng.integers(0, 4, n), rng.integers(0, 128, n)
    for onset in (rng.integers(0, 500, n), rng.integers(0, 500, n) * 10**15):
        ns = NoteSet.from_arrays(
            piece,
            track,
            pitch,
            onset,
            np.ones(n, int),
            resolution=np.full(3, 24),
            ts_num=np.full(3, 4),
            ts_den=np.full(3, 4),
            track_drum=np.zeros((3, 4), bool),
        )
        want = np.lexsort((pitch, track, onset, piece))
        np.testing.assert_array_equal(ns.onset, onset[want])
        np.testing.assert_array_equal(ns.pitch, pitch[want])
        again = NoteSet.from_arrays(
            ns.piece,
            ns.track,
            ns.pitch,
            ns.onset,
            ns.duration,
            resolution=np.full(3, 24),
            ts_num=np.full(3, 4),
            ts_den=np.full(3, 4),
            track_drum=np.zeros((3, 4), bool),
        )
        np.testing.assert_array_equal(again.pitch, ns.pitch)


def test_musegan_code_metrics_by_hand():
    """MuseGAN v1's code: UPC counts blocks of 7 adjacent semitones of MIDI 24-107, QN
    counts note parts of >= 2 of 24 steps per beat, a mean of per-bar ratios."""
    m = metrics_of(two_track_score())
    # blocks (p - 24) // 7: C4 60 and E4 64 -> 5; G4 67 and F#4 66 -> 6; C3 48 -> 3: one per cell
    assert one(m, "UPC_musegan_code") == 1.0 and one(m, "UPC") == pytest.approx(5 / 3)
    assert one(m, "QN_musegan_code") == 100.0
    # bar 1: a 1-step note and a 2-step one (50 %); bar 2: a note of 4 steps (100 %) -> 75 %
    rows = [(0, 60, 0, 1), (0, 62, 1, 2), (0, 64, 96, 4)]
    short = metrics_of(Score.from_notes(rows, tracks=[Track("m")]))
    assert one(short, "QN_musegan_code") == 75.0
    # the true QN (a 32nd note = 3 ticks at 24 per quarter) keeps only the 4-tick note: 1 of 3
    assert one(short, "QN") == pytest.approx(100 / 3)
    # a pitch outside MuseGAN's 84 (MIDI 108) is not in its roll
    assert math.isnan(
        one(metrics_of(Score.from_notes([(0, 110, 0, 24)], tracks=[Track("m")])), "UPC_musegan_code")
    )


def test_whole_songs_for_s4s_manhattan(tmp_path):
    """S4 measured whole files: the data keeps up to 100 whole training songs and their values."""
    import json

    from scorelab.metrics.sets import s4_manhattan
    from scorelab.pipeline.evaluate import whole_song_manhattan, write_whole_songs

    def song(pid, pitches):
        return Score.from_notes(
            [(0, p, 6 * i, 6) for i, p in enumerate(pitches)], tracks=[Track("m")], piece_id=pid
        )

    songs = [song("a", [60, 61, 62, 60]), song("b", [60, 62, 64, 65, 67]), song("c", [67, 65, 64])]
    write_whole_songs(tmp_path, songs)
    got = json.loads((tmp_path / "whole_songs.json").read_text())
    ns = NoteSet.from_scores(songs)
    assert got["pieces"] == 3
    assert got["s4_manhattan"] == pytest.approx(s4_manhattan(ns, ns, same=True), rel=1e-5)
    assert got["unique_pitches"] == pytest.approx(11 / 3)  # 3, 5 and 3 pitches
    assert got["unique_pitches_std"] == pytest.approx(np.std([3, 5, 3]), rel=1e-5)
    generated = NoteSet.from_scores([song("g", [60, 60, 60])])
    assert whole_song_manhattan(generated, tmp_path)["s4_manhattan"] == pytest.approx(
        s4_manhattan(generated, ns), rel=1e-5
    )
