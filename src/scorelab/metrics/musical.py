"""Per-piece metrics of the seeds, MuseGAN, MusPy and MGEval, over a whole NoteSet at once.

Each function takes a :class:`~scorelab.metrics.notes.NoteSet` and returns one value per
piece (or a row of bins). NaN marks a value that is undefined for a piece (a ratio of
notes in a piece without notes); counts are 0 there, so an empty sample still pulls a
set's mean down. Drum tracks are left out of every pitch metric (a drum note's MIDI
number names an instrument). Where a library gets a definition wrong, the docstring says
what it does and what we do; ``tests/test_metrics*.py`` pin each against hand-computed
values.

Sources: S0 (empty bar rate, unique pitches, in-scale ratio); MuseGAN, Dong et al. 2018,
sec. 5 and its code (EB, UPC, QN, DP, TD); MusPy, Dong et al. 2020, ``muspy.metrics``;
MGEval, Yang & Lerch 2020, ``mgeval/core.py``; S4's appendix A.3 code.
"""

from __future__ import annotations

import numpy as np

from scorelab.constants import C_MAJOR_PITCH_CLASSES, MIDI_PITCHES, PITCH_CLASSES
from scorelab.metrics.notes import INT, NoteSet
from scorelab.metrics.registry import piece_metric

NAN = float("nan")
MAJOR_STEPS = np.array(C_MAJOR_PITCH_CLASSES)
# 12 major-scale pitch-class sets; a natural minor scale has the same set as its relative
# major, so these 12 masks cover MusPy's 24 (root, mode) scales.
SCALE_MASKS = np.array([np.isin(np.arange(12), (MAJOR_STEPS + r) % 12) for r in range(12)], np.float64)
NOTE_LENGTH_CLASSES = 8  # S4's A.3.3: min(int(seconds * 8), 7)


def _ratio(num: np.ndarray, den: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """num / den per piece, NaN where den is 0."""
    num = np.asarray(num, np.float64)
    den = np.asarray(den, np.float64)
    out = np.full(num.shape, NAN)
    ok = den > 0
    out[ok] = scale * num[ok] / den[ok]
    return out


def _counts(piece: np.ndarray, key: np.ndarray, k: int, n_pieces: int) -> np.ndarray:
    """(P, k) how many entries of each piece have each ``key`` value (0..k-1)."""
    flat = np.bincount(piece * k + key, minlength=n_pieces * k)
    return flat.reshape(n_pieces, k).astype(np.float64)


def _shares(counts: np.ndarray) -> np.ndarray:
    """Each row of counts divided by its sum; NaN rows where the sum is 0 (no notes)."""
    total = counts.sum(1, keepdims=True)
    return np.where(total > 0, counts / np.where(total > 0, total, 1), NAN)


def _cells(ns: NoteSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(note, global cell id, cell offsets): cells are (piece, track, bar), bars judged only.

    Cell id = ``offset[piece] + track * n_bars[piece] + bar``; ``offset`` (P+1,).
    """
    note, bar = ns.bar_spans()
    offsets = np.concatenate([[0], np.cumsum(ns.n_tracks * ns.n_bars)]).astype(INT)
    p = ns.piece[note]
    cell = offsets[p] + ns.track[note] * ns.n_bars[p] + bar
    return note, cell, offsets


def _unique(ids: np.ndarray) -> np.ndarray:
    """``np.unique`` of an integer array, by sorting: numpy 2.4's ``np.unique`` goes
    through a hash table and then sorts, 3-5 times slower on the millions of cell codes a
    noise-like sample set has (measured: 0.71 s against 0.21 s on 3.5 M codes); same
    result, sorted ascending."""
    s = np.sort(ids, axis=None)
    return s[np.concatenate([[True], s[1:] != s[:-1]])] if s.size else s


def _per_piece_unique(ids: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(P,) distinct ``ids`` falling in each piece's range of ``offsets``."""
    u = _unique(ids)
    return np.diff(np.searchsorted(u, offsets)).astype(INT)


# -- S0 and MuseGAN: bars -----------------------------------------------------------------
@piece_metric("empty_bar_rate", "ratio 0-1", "S0; MuseGAN sec. 5 (EB as a ratio)")
def empty_bar_rate(ns: NoteSet) -> np.ndarray:
    """Share of (track, bar) cells in which no note sounds, every declared track counted.

    A note sounds in every bar it overlaps, end exclusive (a piano roll's view, as
    MuseGAN computes it): a note ending on a bar line leaves the next bar empty. A silent
    declared track makes all its bars empty. NaN for a piece with no cells.
    """
    _, cell, offsets = _cells(ns)
    return 1.0 - _ratio(_per_piece_unique(cell, offsets), np.diff(offsets))


@piece_metric("EB", "%", "MuseGAN sec. 5 (S1): ratio of empty bars, pooled over tracks", headline=True)
def empty_bars_percent(ns: NoteSet) -> np.ndarray:
    """MuseGAN's EB in percent, pooled over tracks: ``100 * empty_bar_rate``."""
    return 100.0 * empty_bar_rate(ns)


@piece_metric("EB_track", "%", "MuseGAN sec. 5, Table 2: EB per track", binned=True)
def empty_bars_per_track(ns: NoteSet) -> tuple[np.ndarray, list[str]]:
    """EB of each track (MuseGAN reports it per track): columns ``t0 .. t{T-1}``, NaN past a
    piece's own tracks.
    """
    _, cell, offsets = _cells(ns)
    occupied = _unique(cell)
    p = np.searchsorted(offsets, occupied, side="right") - 1
    track = (occupied - offsets[p]) // ns.n_bars[p]
    t_max = max(int(ns.n_tracks.max(initial=0)), 1)
    counts = _counts(p, track, t_max, ns.n_pieces)  # occupied bars per (piece, track)
    out = 100.0 * (1.0 - counts / np.maximum(ns.n_bars, 1)[:, None])
    out[np.arange(t_max)[None, :] >= ns.n_tracks[:, None]] = NAN
    out[ns.n_bars == 0] = NAN
    return out, [f"t{i}" for i in range(t_max)]


@piece_metric("UPC", "pitch classes", "MuseGAN sec. 5 (S1): used pitch classes per bar", headline=True)
def used_pitch_classes_per_bar(ns: NoteSet) -> np.ndarray:
    """Distinct pitch classes sounding per non-empty (track, bar), averaged (0-12).

    Empty cells are left out (an empty bar says nothing about harmony; EB reports it);
    drum tracks are left out. NaN when no pitched note sounds in a judged bar.
    """
    note, cell, offsets = _cells(ns)
    keep = ns.pitched[note]
    cell, pc = cell[keep], ns.pitch[note[keep]] % PITCH_CLASSES
    used = _unique(cell * PITCH_CLASSES + pc)
    return _ratio(np.diff(np.searchsorted(used // PITCH_CLASSES, offsets)), _per_piece_unique(cell, offsets))


@piece_metric("QN", "%", "MuseGAN sec. 5 (S1): qualified notes, at least a 32nd note long")
def qualified_notes_percent(ns: NoteSet) -> np.ndarray:
    """Share of pitched notes lasting at least a 32nd note (in %).

    MuseGAN: "no shorter than three time steps (i.e. a 32th note)" of its 24 steps per
    beat, so the threshold is musical time, ``resolution / 8`` ticks, not three steps of
    whatever grid a codec uses. On data quantized to 16ths it is 100 % by construction;
    :func:`long_notes_percent` is the grid-based fragmentation measure.
    """
    ok = ns.pitched
    qualified = ok & (ns.duration * 8 >= ns.resolution[ns.piece])
    return _ratio(ns.count(qualified), ns.count(ok), 100.0)


# -- MuseGAN's released code, for like-for-like with S1's published numbers -----------------
# MuseGAN v1's evaluation (``v1/musegan/eval/metrics.py``, class ``Metrics``) works on bars
# of a (96 steps, 84 pitches) roll: 24 steps per beat, MIDI pitches 24-107. Its
# ``to_chroma`` is ``bar.reshape(96, 12, -1).sum(axis=2)``: the twelve "pitch classes" are
# twelve blocks of seven *adjacent* semitones, not C, C#, ...; its qualified-note ratio
# counts runs of at least ``threshold=2`` steps, not the paper's 3. S1 cites MuseGAN's
# metrics; on the data its UPC (3.28) is the size the block count gives, so these two
# stand beside S1's table labelled as the code's, next to the correct UPC and QN.
MUSEGAN_STEPS_PER_BEAT = 24
MUSEGAN_LOW, MUSEGAN_PITCHES, MUSEGAN_BLOCK = 24, 84, 7


def _musegan_segments(ns: NoteSet):
    """(note, cell, steps inside the bar) of every note's part in each judged bar, at
    MuseGAN's 24 steps per beat, for pitched notes of MuseGAN's 84-pitch range only."""
    note, cell, offsets = _cells(ns)
    keep = (
        ns.pitched[note] & (ns.pitch[note] >= MUSEGAN_LOW) & (ns.pitch[note] < MUSEGAN_LOW + MUSEGAN_PITCHES)
    )
    note, cell = note[keep], cell[keep]
    p = ns.piece[note]
    res = ns.resolution[p]
    bar_ticks_x_den = ns.bar_unit[p]  # bar length in ticks, times the meter's denominator
    bar = cell - offsets[p] - ns.track[note] * ns.n_bars[p]
    den = ns.ts_den[p]
    start = np.maximum(ns.onset[note] * den, bar * bar_ticks_x_den)
    stop = np.minimum(ns.end[note] * den, (bar + 1) * bar_ticks_x_den)
    steps = ((stop * MUSEGAN_STEPS_PER_BEAT) // (res * den)) - (
        (start * MUSEGAN_STEPS_PER_BEAT) // (res * den)
    )
    return note, cell, offsets, steps


@piece_metric(
    "UPC_musegan_code",
    "blocks of 7 semitones",
    "MuseGAN v1 code (eval/metrics.py, metric_num_chroma_used): adjacent 7-semitone blocks per bar",
)
def upc_musegan_code(ns: NoteSet) -> np.ndarray:
    """Blocks of seven adjacent semitones (of MIDI 24-107) sounding per non-empty
    (track, bar), averaged: what MuseGAN's released code reports as used pitch classes.

    Not a pitch-class count: C4 and C5 fall in different blocks, C4 and F#4 often in one.
    On 100 chorales it gave 1.58 where the true count is 3.15. NaN without notes.
    """
    note, cell, offsets, _ = _musegan_segments(ns)
    block = (ns.pitch[note] - MUSEGAN_LOW) // MUSEGAN_BLOCK
    used = _unique(cell * 12 + block)
    return _ratio(np.diff(np.searchsorted(used // 12, offsets)), _per_piece_unique(cell, offsets))


@piece_metric(
    "QN_musegan_code",
    "%",
    "MuseGAN v1 code (eval/metrics.py, metric_qualified_note_ratio): runs of >= 2 of 24 steps per beat",
)
def qn_musegan_code(ns: NoteSet) -> np.ndarray:
    """Per non-empty (track, bar), the share of note parts lasting at least 2 of MuseGAN's
    24 steps per beat (its code's ``threshold=2``; the paper says 3), averaged over bars
    (the code's mean of per-bar ratios), in %. A note crossing a bar line is one part per
    bar, as in the code's bar-wise roll; same-pitch notes that touch stay two (the code's
    binary roll would merge them). NaN without notes.
    """
    note, cell, offsets, steps = _musegan_segments(ns)
    if not len(cell):
        return np.full(ns.n_pieces, NAN)
    cells, inverse = np.unique(cell, return_inverse=True)
    total = np.bincount(inverse)
    good = np.bincount(inverse, weights=(steps >= 2).astype(np.float64))
    ratio = good / total
    piece_of_cell = np.searchsorted(offsets, cells, side="right") - 1
    sums = np.bincount(piece_of_cell, weights=ratio, minlength=ns.n_pieces)
    counts = np.bincount(piece_of_cell, minlength=ns.n_pieces)
    return _ratio(sums, counts, 100.0)


@piece_metric("long_notes", "%", "ours: grid fragmentation (what QN measured before it was fixed)")
def long_notes_percent(ns: NoteSet) -> np.ndarray:
    """Share of pitched notes at least 3 steps of the codec's grid long (in %).

    On a 16th-note grid that is a dotted eighth: a fragmentation measure in grid steps,
    not MuseGAN's QN. NaN when the notes are not on a grid (``step_ticks`` 0).
    """
    ok = ns.pitched
    long = ok & (ns.duration >= 3 * ns.step_ticks[ns.piece])
    out = _ratio(ns.count(long), ns.count(ok), 100.0)
    out[ns.step_ticks <= 0] = NAN
    return out


@piece_metric("DP", "%", "MuseGAN sec. 5: drum notes in 8- or 16-beat patterns (its code's tolerance)")
def drum_pattern_percent(ns: NoteSet) -> np.ndarray:
    """Share of drum notes whose onset is within 1/24 of a beat of a 16th-note position (in %).

    MuseGAN's DP: "ratio of notes in 8- or 16-beat patterns", common in 4/4 rock; the
    8-beat pattern's positions are a subset of the 16-beat one's. MuseGAN's code
    (``metrics.py``, ``_drum_pattern_mask``) reads a roll of 24 steps per beat through a
    mask that is 1 on each 16th and ``tolerance = 0.1`` on the step either side: a drum
    played one step off the grid still counts for something. Counting onsets (the
    paper's prose) and demanding the exact tick made DP say nothing about performed MIDI
    (a drum track 13 ticks late at 480 per quarter scored 0 %). So here an onset within
    one of MuseGAN's steps (``resolution / 24`` ticks) of a 16th position counts in full;
    MuseGAN's partial weight of 0.1 for those and its counting of sounding cells rather
    than onsets are not reproduced (on a 16th grid, where every onset is on a 16th, the
    two agree). NaN without drum notes.
    """
    res = ns.resolution[ns.piece]
    r = (ns.onset * 4) % res  # the onset's offset from the previous 16th, in quarter-ticks
    in_pattern = ns.drum & (np.minimum(r, res - r) * 6 <= res)  # within res/24 ticks
    return _ratio(ns.count(in_pattern), ns.count(ns.drum), 100.0)


def _drum_rate(ns: NoteSet, parts: tuple[int, ...]) -> np.ndarray:
    """Share of drum notes whose onset is on a beat's subdivision into the first of
    ``parts`` that the resolution (ticks per quarter) divides evenly, else on the beat:
    MusPy's pattern masks. NaN without drum notes.
    """
    res = ns.resolution[ns.piece]
    step = res
    for k in reversed(parts):  # the first of parts that fits wins
        step = np.where(res % k == 0, res // k, step)
    return _ratio(ns.count(ns.drum & (ns.onset % step == 0)), ns.count(ns.drum))


@piece_metric("drum_in_duple_pattern_rate", "ratio 0-1", "MusPy drum_in_pattern_rate(meter='duple')")
def drum_in_duple_pattern_rate(ns: NoteSet) -> np.ndarray:
    """Share of drum notes starting on a 16th-note position of a beat (MusPy's duple mask:
    quarters of a beat when the resolution allows, else halves, else the beat).
    """
    return _drum_rate(ns, (4, 2))


@piece_metric("drum_in_triple_pattern_rate", "ratio 0-1", "MusPy drum_in_pattern_rate(meter='triple')")
def drum_in_triple_pattern_rate(ns: NoteSet) -> np.ndarray:
    """Share of drum notes starting on a triplet-8th position of a beat (thirds of a beat
    when the resolution allows, else the beat). NaN without drum notes.
    """
    return _drum_rate(ns, (3,))


@piece_metric("drum_pattern_consistency", "ratio 0-1", "MusPy drum_pattern_consistency")
def drum_pattern_consistency(ns: NoteSet) -> np.ndarray:
    """The larger of the duple and triple drum-in-pattern rates; NaN without drum notes."""
    return np.fmax(drum_in_duple_pattern_rate(ns), drum_in_triple_pattern_rate(ns))


def tonal_centroids(chroma: np.ndarray) -> np.ndarray:
    """Harte et al. 2006 tonal centroid of chroma rows (n, 12) -> (n, 6).

    Each row is normalised to sum 1 (L1), then projected on the circles of fifths,
    minor thirds and major thirds with radii 1, 1 and 0.5, as MuseGAN's ``tonal_dist``.
    """
    ell = np.arange(12)
    phi = np.stack(
        [
            np.sin(ell * 7 * np.pi / 6),
            np.cos(ell * 7 * np.pi / 6),
            np.sin(ell * 3 * np.pi / 2),
            np.cos(ell * 3 * np.pi / 2),
            0.5 * np.sin(ell * 2 * np.pi / 3),
            0.5 * np.cos(ell * 2 * np.pi / 3),
        ]
    )  # (6, 12)
    total = chroma.sum(1, keepdims=True)
    norm = np.divide(chroma, total, out=np.zeros_like(chroma, dtype=np.float64), where=total > 0)
    return norm @ phi.T


TD_MAX_TRACKS = 16  # tracks of a piece that tonal distance pairs (the cost is quadratic in them)


@piece_metric("TD", "tonal distance", "MuseGAN sec. 5: tonal distance between tracks (Harte et al. 2006)")
def tonal_distance(ns: NoteSet) -> np.ndarray:
    """Mean tonal distance between every pair of pitched tracks, over bars where both sound.

    Per (track, bar): the chroma weighted by how long each pitch class sounds in the bar,
    its tonal centroid (:func:`tonal_centroids`), and the Euclidean distance between the
    two tracks' centroids. Averaged over bars and track pairs. Smaller: the tracks agree
    harmonically. NaN with fewer than two pitched tracks sounding together.

    Only a piece's first :data:`TD_MAX_TRACKS` tracks are paired (120 pairs at most):
    MuseGAN's five tracks and every dataset here are far below it, and a file of 5,000
    one-note tracks had kept ``scorelab evaluate`` busy for minutes over 12.5 million
    pairs (issue 22).
    """
    note, cell, offsets = _cells(ns)
    p = ns.piece[note]
    bar = (cell - offsets[p]) % np.maximum(ns.n_bars[p], 1)
    bar_len = ns.bar_unit[p] / ns.ts_den[p]  # ticks
    lo = np.maximum(ns.onset[note], bar * bar_len)
    hi = np.minimum(ns.end[note], (bar + 1) * bar_len)
    keep = ns.pitched[note]
    chroma = np.zeros((int(offsets[-1]), PITCH_CLASSES))
    np.add.at(chroma, (cell[keep], ns.pitch[note[keep]] % PITCH_CLASSES), (hi - lo)[keep])
    centroid = tonal_centroids(chroma)
    sounding = chroma.sum(1) > 0
    bar_piece = np.repeat(np.arange(ns.n_pieces), ns.n_bars)
    bar_index = np.arange(len(bar_piece)) - np.repeat(np.cumsum(ns.n_bars) - ns.n_bars, ns.n_bars)
    sums = np.zeros(ns.n_pieces)
    counts = np.zeros(ns.n_pieces)
    t_max = min(int(ns.n_tracks.max(initial=0)), TD_MAX_TRACKS)
    for t1 in range(t_max):
        for t2 in range(t1 + 1, t_max):
            ok = (ns.n_tracks[bar_piece] > t2) & ~ns.track_drum[bar_piece, t1] & ~ns.track_drum[bar_piece, t2]
            bp, bi = bar_piece[ok], bar_index[ok]
            c1 = offsets[bp] + t1 * ns.n_bars[bp] + bi
            c2 = offsets[bp] + t2 * ns.n_bars[bp] + bi
            both = sounding[c1] & sounding[c2]
            d = np.linalg.norm(centroid[c1[both]] - centroid[c2[both]], axis=1)
            sums += np.bincount(bp[both], weights=d, minlength=ns.n_pieces)
            counts += np.bincount(bp[both], minlength=ns.n_pieces)
    return _ratio(sums, counts)


# -- polyphony: a sweep over note starts and ends -----------------------------------------
def _key_dtype(largest: int) -> type:
    """int32 when every combined sort key fits (half the memory traffic), else int64."""
    return np.int32 if largest < np.iinfo(np.int32).max else np.int64


def _pitch_spans(ns: NoteSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(piece, start, end) of the time each pitch sounds: overlapping notes of one pitch
    (on any tracks) merged into one span, so a doubled pitch counts once.

    One sort of a combined integer key (piece, pitch, onset), not a lexsort of three
    arrays: a third of the time on the 348 chorales.
    """
    ok = ns.pitched
    piece, pitch, on, end = ns.piece[ok], ns.pitch[ok], ns.onset[ok], ns.end[ok]
    if piece.size == 0:
        return (np.zeros(0, INT),) * 3
    span = int(end.max()) + 1
    dtype = _key_dtype((ns.n_pieces + 1) * MIDI_PITCHES * span)
    group = (piece * MIDI_PITCHES + pitch).astype(dtype)
    on, end = on.astype(dtype), end.astype(dtype)
    order = np.argsort(group * span + on)
    group, on, end = group[order], on[order], end[order]
    # running maximum of the ends within each (piece, pitch) group: groups are sorted, so
    # offsetting each by group * span keeps one group's maximum from leaking into the next
    run = np.maximum.accumulate(group * span + end) - group * span
    new = np.ones(len(order), bool)
    new[1:] = (group[1:] != group[:-1]) | (on[1:] >= run[:-1])
    if new.all():  # no two notes of one pitch overlap: every note is its own span
        return group // MIDI_PITCHES, on, end
    first = np.flatnonzero(new)
    return group[first] // MIDI_PITCHES, on[first], np.maximum.reduceat(end, first)


def _sounding(ns: NoteSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per piece, the time (ticks) during which >= 1 and >= 2 distinct pitches sound, and
    the integral of the number of pitches sounding. Ends come before starts at one tick.

    A sweep over the spans' starts and ends, each event one integer
    ``(piece * span + time) * 2 + is_start``: sorting the starts and the ends apart and
    then merging the two sorted runs (a stable sort merges runs in linear time) replaces a
    three-key lexsort. Polyphony and polyphony rate share one sweep (cached on the set).
    """
    cached = ns.cache.get("sounding")
    if cached is not None:
        return cached
    sp, son, send = _pitch_spans(ns)
    span = int(send.max(initial=0)) + 1
    dtype = _key_dtype((ns.n_pieces + 1) * span * 2 + 1)
    base = sp.astype(dtype) * span
    events = np.sort(
        np.concatenate([np.sort((base + son) * 2 + 1), np.sort((base + send) * 2)]), kind="stable"
    )
    # pitches sounding after each event: twice the starts so far minus the events so far
    n = len(events)
    count = 2 * np.cumsum(events & 1, dtype=dtype)[:-1] - np.arange(1, n, dtype=dtype)
    clock = events >> 1  # piece * span + time: one clock over every piece
    dt = np.diff(clock)  # across a piece boundary the count is 0, so the jump weighs nothing
    # per-piece sums as differences of running sums at the pieces' first events
    bounds = np.minimum(np.searchsorted(clock, np.arange(ns.n_pieces + 1) * span), len(dt))

    def per_piece(weights: np.ndarray) -> np.ndarray:
        run = np.concatenate([[0], np.cumsum(weights, dtype=np.int64)])
        return (run[bounds[1:]] - run[bounds[:-1]]).astype(np.float64)

    one = per_piece(np.where(count >= 1, dt, 0))
    two = per_piece(np.where(count >= 2, dt, 0))
    area = np.bincount(sp, weights=(send - son).astype(np.float64), minlength=ns.n_pieces)
    for a in (one, two, area):
        a.setflags(write=False)
    ns.cache["sounding"] = (one, two, area)
    return one, two, area


def _span_ticks(ns: NoteSet) -> np.ndarray:
    """(P,) ticks of the judged bars: ``n_bars * bar length``."""
    return ns.n_bars * ns.bar_unit / ns.ts_den


@piece_metric("polyphony_rate", "ratio 0-1", "MusPy polyphony_rate; BinaryMuseGAN's PR, more than one pitch")
def polyphony_rate(ns: NoteSet) -> np.ndarray:
    """Share of the piece's time (its judged bars) during which more than one pitched note sounds.

    Sustained notes count as long as they sound (two held pitches are polyphony); a note
    that ends where another starts does not overlap it; one pitch doubled on two tracks is
    one pitch, as in MusPy's merged roll. MusPy's default ``threshold=2`` counts only
    steps with more than two pitches, against its own docstring ("multiple pitches"): we
    count two, which is ``muspy.polyphony_rate(music, threshold=1)``. The time is the
    judged bars (MusPy: up to the last note's end, so a piece that stops before its last
    bar line gives a larger MusPy value). NaN for a piece of no length.
    """
    _, two, _ = _sounding(ns)
    return _ratio(two, _span_ticks(ns))


@piece_metric("polyphony", "notes", "MusPy polyphony: mean pitches sounding when any sounds")
def polyphony(ns: NoteSet) -> np.ndarray:
    """Mean number of distinct pitches sounding, over the time when at least one sounds
    (a pitch doubled on two tracks counts once, as in MusPy). NaN without notes.
    """
    one, _, area = _sounding(ns)
    return _ratio(area, one)


# -- pitch ------------------------------------------------------------------------------
def pitch_histograms(ns: NoteSet) -> np.ndarray:
    """(P, 128) count of pitched notes per MIDI pitch (computed once per set, then cached)."""
    if "pitch_histograms" not in ns.cache:
        ok = ns.pitched
        hist = _counts(ns.piece[ok], ns.pitch[ok], MIDI_PITCHES, ns.n_pieces)
        hist.setflags(write=False)  # shared by several metrics: nobody may change it
        ns.cache["pitch_histograms"] = hist
    return ns.cache["pitch_histograms"]


def pitch_class_counts(ns: NoteSet) -> np.ndarray:
    """(P, 12) count of pitched notes per pitch class (folded from the pitch histograms)."""
    if "pitch_class_counts" not in ns.cache:
        hist = pitch_histograms(ns)
        padded = np.zeros((ns.n_pieces, 132), hist.dtype)  # 11 octaves of 12
        padded[:, :MIDI_PITCHES] = hist
        folded = padded.reshape(ns.n_pieces, 11, PITCH_CLASSES).sum(1)
        folded.setflags(write=False)
        ns.cache["pitch_class_counts"] = folded
    return ns.cache["pitch_class_counts"]


@piece_metric(
    "unique_pitches",
    "pitches",
    "S0 'unique pitches'; MusPy n_pitches_used; MGEval total_used_pitch (S4's 'pitch mean')",
    headline=True,
)
def unique_pitches(ns: NoteSet) -> np.ndarray:
    """Number of distinct MIDI pitches used by pitched notes (0 for a piece without notes)."""
    return (pitch_histograms(ns) > 0).sum(1).astype(np.float64)


@piece_metric("n_pitch_classes_used", "pitch classes", "MusPy n_pitch_classes_used")
def pitch_classes_used(ns: NoteSet) -> np.ndarray:
    """Number of distinct pitch classes used by pitched notes (0-12)."""
    return (pitch_class_counts(ns) > 0).sum(1).astype(np.float64)


@piece_metric("pitch_range", "semitones", "MusPy pitch_range; MGEval pitch_range")
def pitch_range(ns: NoteSet) -> np.ndarray:
    """Highest minus lowest pitched note; NaN without pitched notes (MusPy returns 0)."""
    used = pitch_histograms(ns) > 0
    lo = used.argmax(1)
    hi = MIDI_PITCHES - 1 - used[:, ::-1].argmax(1)
    out = (hi - lo).astype(np.float64)
    out[~used.any(1)] = NAN
    return out


@piece_metric(
    "in_scale_ratio", "ratio 0-1", "S0 in-scale ratio (C major); MusPy pitch_in_scale_rate", headline=True
)
def in_scale_ratio(ns: NoteSet) -> np.ndarray:
    """Share of pitched notes in C major (every note once, whatever its length)."""
    counts = pitch_class_counts(ns)
    return _ratio(counts @ SCALE_MASKS[0], counts.sum(1))


@piece_metric("scale_consistency", "ratio 0-1", "MusPy scale_consistency: best of 24 major/minor scales")
def scale_consistency(ns: NoteSet) -> np.ndarray:
    """The largest share of pitched notes inside one major or natural minor scale."""
    counts = pitch_class_counts(ns)
    total = counts.sum(1)
    best = (counts @ SCALE_MASKS.T).max(1)
    return _ratio(best, total)


def _entropy_bits(counts: np.ndarray) -> np.ndarray:
    total = counts.sum(1, keepdims=True)
    prob = np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)
    logp = np.log2(prob, out=np.zeros_like(prob), where=prob > 0)
    out = -(prob * logp).sum(1)
    out[total[:, 0] == 0] = NAN
    return out


@piece_metric("pitch_entropy", "bits", "MusPy pitch_entropy (Wu & Yang 2020)")
def pitch_entropy(ns: NoteSet) -> np.ndarray:
    """Shannon entropy (base 2) of the piece's normalised 128-bin pitch histogram of notes."""
    return _entropy_bits(pitch_histograms(ns))


@piece_metric("pitch_class_entropy", "bits", "MusPy pitch_class_entropy (Wu & Yang 2020)")
def pitch_class_entropy(ns: NoteSet) -> np.ndarray:
    """Shannon entropy (base 2) of the normalised 12-bin pitch-class histogram of notes."""
    return _entropy_bits(pitch_class_counts(ns))


# -- rhythm and structure ----------------------------------------------------------------
@piece_metric("empty_beat_rate", "ratio 0-1", "MusPy empty_beat_rate (a beat is a quarter note)")
def empty_beat_rate(ns: NoteSet) -> np.ndarray:
    """Share of quarter-note beats of the judged bars in which no note sounds (any track).

    End exclusive: a note ending on a beat leaves the next beat empty (MusPy's loop runs
    to ``end // resolution`` inclusive and marks it).
    """
    n_beats = -((-ns.n_bars * ns.bar_unit) // (ns.ts_den * ns.resolution))  # ceil
    note, beat = ns.spans(ns.resolution, np.ones(ns.n_pieces, INT), n_beats)
    offsets = np.concatenate([[0], np.cumsum(n_beats)]).astype(INT)
    used = _per_piece_unique(offsets[ns.piece[note]] + beat, offsets)
    return 1.0 - _ratio(used, n_beats)


@piece_metric("empty_measure_rate", "ratio 0-1", "MusPy empty_measure_rate")
def empty_measure_rate(ns: NoteSet) -> np.ndarray:
    """Share of judged bars in which no note of any track sounds (end exclusive)."""
    note, bar = ns.bar_spans()
    offsets = np.concatenate([[0], np.cumsum(ns.n_bars)]).astype(INT)
    used = _per_piece_unique(offsets[ns.piece[note]] + bar, offsets)
    return 1.0 - _ratio(used, ns.n_bars)


@piece_metric("groove_consistency", "ratio 0-1", "MusPy groove_consistency (Wu & Yang 2020)")
def groove_consistency(ns: NoteSet) -> np.ndarray:
    """1 - mean Hamming distance between the onset patterns of neighbouring bars.

    A bar's pattern is the set of tick positions (in the notes' own unit: ticks of the
    piece's resolution, so the bar length is in ticks too) where a note of any track
    starts. Distance between bars b and b+1, divided by the bar length in ticks, averaged
    over the ``n_bars - 1`` neighbouring pairs. NaN with fewer than two bars.
    """
    unit = ns.bar_unit[ns.piece]
    den = ns.ts_den[ns.piece]
    bar = (ns.onset * den) // unit
    keep = bar < ns.n_bars[ns.piece]
    pos = (ns.onset * den) % unit  # position in the bar, in 1/den ticks
    width = int(ns.bar_unit.max(initial=1))
    nb = int(ns.n_bars.max(initial=0)) + 1
    codes = _unique((ns.piece[keep] * nb + bar[keep]) * width + pos[keep])
    piece_of = codes // (nb * width)
    in_next = np.isin(codes + width, codes)  # same position in the next bar of the same piece
    next_ok = ((codes // width) % nb) + 1 < ns.n_bars[piece_of]
    last_bar = ((codes // width) % nb) == ns.n_bars[piece_of] - 1
    first_bar = ((codes // width) % nb) == 0
    # each onset position of bars 0..n-2 is compared with bar b+1, and of bars 1..n-1 with b-1:
    # Hamming(b, b+1) = |S_b| + |S_b+1| - 2 |S_b & S_b+1|
    size_left = np.bincount(piece_of[~last_bar], minlength=ns.n_pieces)
    size_right = np.bincount(piece_of[~first_bar], minlength=ns.n_pieces)
    shared = np.bincount(piece_of[in_next & next_ok], minlength=ns.n_pieces)
    hamming = size_left + size_right - 2 * shared
    bar_ticks = ns.bar_unit / ns.ts_den
    out = 1.0 - _ratio(hamming, bar_ticks * (ns.n_bars - 1))
    out[ns.n_bars < 2] = NAN
    return out


# -- MGEval (S4) -------------------------------------------------------------------------
@piece_metric("bar_used_pitch", "pitches", "MGEval bar_used_pitch, averaged over bars")
def bar_used_pitch(ns: NoteSet) -> np.ndarray:
    """Distinct pitches sounding per judged bar (empty bars count 0), averaged over bars."""
    note, bar = ns.bar_spans()
    keep = ns.pitched[note]
    offsets = np.concatenate([[0], np.cumsum(ns.n_bars)]).astype(INT)
    gbar = offsets[ns.piece[note[keep]]] + bar[keep]
    used = _unique(gbar * MIDI_PITCHES + ns.pitch[note[keep]])
    return _ratio(np.diff(np.searchsorted(used // MIDI_PITCHES, offsets)), ns.n_bars)


@piece_metric("total_used_note", "notes", "MGEval total_used_note")
def total_used_note(ns: NoteSet) -> np.ndarray:
    """Number of pitched notes."""
    return ns.count(ns.pitched).astype(np.float64)


@piece_metric("bar_used_note", "notes", "MGEval bar_used_note, averaged over bars")
def bar_used_note(ns: NoteSet) -> np.ndarray:
    """Pitched note onsets per judged bar, averaged over bars."""
    bar = (ns.onset * ns.ts_den[ns.piece]) // ns.bar_unit[ns.piece]
    ok = ns.pitched & (bar < ns.n_bars[ns.piece])
    return _ratio(ns.count(ok), ns.n_bars)


def _within_track_pairs(ns: NoteSet) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j) of consecutive pitched notes of the same track, in onset order."""
    ok = np.flatnonzero(ns.pitched)
    order = ok[np.lexsort((ns.pitch[ok], ns.onset[ok], ns.track[ok], ns.piece[ok]))]
    same = (ns.piece[order][1:] == ns.piece[order][:-1]) & (ns.track[order][1:] == ns.track[order][:-1])
    return order[:-1][same], order[1:][same]


@piece_metric("avg_pitch_shift", "semitones", "MGEval avg_pitch_shift")
def avg_pitch_shift(ns: NoteSet) -> np.ndarray:
    """Mean |pitch difference| between consecutive notes of a track (chords in pitch order)."""
    i, j = _within_track_pairs(ns)
    d = np.abs(ns.pitch[j] - ns.pitch[i]).astype(np.float64)
    return _ratio(
        np.bincount(ns.piece[i], weights=d, minlength=ns.n_pieces),
        np.bincount(ns.piece[i], minlength=ns.n_pieces),
    )


@piece_metric("avg_IOI", "s", "MGEval avg_IOI: mean difference of the sorted onsets, chords included")
def avg_ioi(ns: NoteSet) -> np.ndarray:
    """Mean inter-onset interval in seconds, as MGEval: ``mean(diff(sorted onsets))`` over
    every note (a chord's notes give zero intervals), which is ``(last - first) / (n - 1)``.
    """
    ok = ns.pitched
    first = np.full(ns.n_pieces, np.inf)
    last = np.full(ns.n_pieces, -np.inf)
    np.minimum.at(first, ns.piece[ok], ns.onset_s[ok])
    np.maximum.at(last, ns.piece[ok], ns.onset_s[ok])
    n = ns.count(ok)
    out = _ratio(np.where(n > 1, last - first, 0.0), n - 1)
    out[n < 2] = NAN
    return out


PC_LABELS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


@piece_metric(
    "pitch_class_histogram",
    "share",
    "MGEval total_pitch_class_histogram (weighted by seconds x velocity)",
    bins=PC_LABELS,
)
def pitch_class_histogram(ns: NoteSet) -> np.ndarray:
    """(P, 12) share of each pitch class in the piece's sounding notes, weighted by
    duration in seconds times velocity; NaN rows without notes.

    MGEval's ``total_pitch_class_histogram`` sums ``pretty_midi``'s piano roll at 100
    frames per second, whose cells hold the velocity: each note weighs its length in
    10 ms frames times its velocity. Here the length is exact (no 10 ms rounding); an
    earlier version counted notes, which is not MGEval's feature.
    """
    ok = ns.pitched
    key = ns.piece[ok] * 12 + ns.pitch[ok] % 12
    weight = ns.duration_s[ok] * ns.velocity[ok]
    hist = np.bincount(key, weights=weight, minlength=ns.n_pieces * 12).reshape(ns.n_pieces, 12)
    return _shares(hist)


@piece_metric(
    "pitch_class_transitions",
    "count",
    "S4 A.3.2: pitch-class transition matrix (12 x 12)",
    bins=[f"{a}>{b}" for a in PC_LABELS for b in PC_LABELS],
)
def pitch_class_transitions(ns: NoteSet) -> np.ndarray:
    """(P, 144) counts of consecutive pitch-class pairs (row: previous, column: next).

    S4's code walks the notes of every instrument in turn, so it also counts one
    transition across each instrument boundary; we count within tracks only (the same
    on S4's one-track melodies). The set's mean is S4's "average transition matrix".
    """
    i, j = _within_track_pairs(ns)
    return _counts(ns.piece[i], (ns.pitch[i] % 12) * 12 + ns.pitch[j] % 12, 144, ns.n_pieces)


def note_length_class(ns: NoteSet) -> np.ndarray:
    """S4's A.3.3 class of each note: ``min(int(seconds * 8), 7)`` (1/8-second bins)."""
    return np.minimum((ns.duration_s * NOTE_LENGTH_CLASSES).astype(INT), NOTE_LENGTH_CLASSES - 1)


LENGTH_LABELS = tuple(str(i) for i in range(NOTE_LENGTH_CLASSES))


@piece_metric(
    "note_length_histogram", "share", "S4 A.3.3 note-length classes (1/8 s bins)", bins=LENGTH_LABELS
)
def note_length_histogram(ns: NoteSet) -> np.ndarray:
    """(P, 8) share of pitched notes per S4 note-length class; NaN rows without notes."""
    ok = ns.pitched
    return _shares(_counts(ns.piece[ok], note_length_class(ns)[ok], NOTE_LENGTH_CLASSES, ns.n_pieces))


@piece_metric(
    "note_length_transitions",
    "count",
    "S4 A.3.3: note-length transition matrix (8 x 8)",
    bins=[f"{a}>{b}" for a in LENGTH_LABELS for b in LENGTH_LABELS],
)
def note_length_transitions(ns: NoteSet) -> np.ndarray:
    """(P, 64) counts of consecutive note-length class pairs within a track (S4's code)."""
    i, j = _within_track_pairs(ns)
    cls = note_length_class(ns)
    return _counts(ns.piece[i], cls[i] * NOTE_LENGTH_CLASSES + cls[j], NOTE_LENGTH_CLASSES**2, ns.n_pieces)


@piece_metric(
    "pitch_frequency", "share", "S2: per-pitch note frequency", bins=[str(p) for p in range(MIDI_PITCHES)]
)
def pitch_frequency(ns: NoteSet) -> np.ndarray:
    """(P, 128) share of the piece's pitched notes on each MIDI pitch; NaN rows without notes."""
    return _shares(pitch_histograms(ns))
