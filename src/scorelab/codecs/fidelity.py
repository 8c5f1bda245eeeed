"""What a codec loses: encode -> decode over a real corpus, note by note.

Every number computed on a dataset is computed on what its codec kept, so a researcher
has to know what the 16th-note grid, the pitch range and the filters did to the music
before trusting any of it. For each piece of the corpus:

- a piece a filter refuses (a meter other than the codec's, polyphony in a melody
  codec, a duration the vocabulary lacks...) is counted under its filter's name;
- a kept piece is encoded whole and decoded back (:func:`roundtrip`; transposition
  undone, so pitches compare), and its notes are matched to the decoded ones: same
  track and pitch, the nearest onset within half a grid step (what rounding to the grid
  can move a note by). Each decoded note answers for one original note at most.

Shares are of the notes of kept pieces on the tracks the codec represents (track 0 for
melody codecs; every track for rolls, all in one with ``merge_tracks``):

``out_of_range``
    outside the codec's pitch range, so not encoded;
``dropped``
    in range but with no decoded note: merged into a neighbour (a repeated pitch with
    no gap, two voices in unison on one merged track), or shorter than what survives;
``moved``
    matched, but its onset is not where it was (rounded to the grid);
``shortened`` / ``lengthened``
    matched, with a shorter / longer duration;
``extra``
    decoded notes no original note matches (per original note);
``meter_changed``
    kept pieces whose decoded meter is not their own (a melody codec keeps no meter:
    every tune comes back in the codec's 4/4), per kept piece.

The roll codecs cut pieces into windows after this: a note crossing a window edge is
cut there, which this whole-piece round trip does not count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from scorelab.codecs.base import Codec
from scorelab.codecs.keys import to_reference_key
from scorelab.errors import EncodingFilterError
from scorelab.score import Score

HEADLINE_FIDELITY = ("pieces_filtered", "dropped", "moved", "shortened", "meter_changed")


def represented_notes(codec: Codec, score: Score) -> pd.DataFrame:
    """The notes ``codec`` sets out to represent: (track, pitch, onset, duration)."""
    kind = codec.represented_tracks()
    notes = score.notes[["track", "pitch", "onset", "duration"]]
    if kind == "first":  # a melody codec: track 0 only
        return notes[notes["track"] == 0].reset_index(drop=True)
    notes = notes.copy()
    if kind == "merged":
        notes["track"] = 0
    return notes.reset_index(drop=True)


def grid_step(codec: Codec, score: Score) -> float:
    """The codec's time grid in ``score``'s ticks (half of it: how far rounding moves a note)."""
    d = codec.describe()
    if "seconds_per_column" in d:  # S3: a grid in seconds
        return float(d["seconds_per_column"]) * score.tempo / 60.0 * score.resolution
    return score.resolution / int(d.get("steps_per_beat") or d["ticks_per_beat"])


def in_original_time(back: Score, score: Score, decoded_time: str) -> Score:
    """``back`` (decoded on the codec's own grid) in ``score``'s ticks: through beats or seconds."""
    if decoded_time == "ticks" or len(back.notes) == 0:
        return back
    if decoded_time == "beats":
        factor = score.resolution / back.resolution
        start = back.notes["onset"].to_numpy(np.float64) * factor
        end = start + back.notes["duration"].to_numpy(np.float64) * factor
    else:  # seconds, at the original's single tempo
        factor = score.tempo / 60.0 * score.resolution
        start = back.notes["onset_s"].to_numpy(np.float64) * factor
        end = start + back.notes["duration_s"].to_numpy(np.float64) * factor
    notes = back.notes.copy()
    notes["onset"] = np.rint(start).astype(np.int64)
    notes["duration"] = np.maximum(np.rint(end).astype(np.int64) - notes["onset"], 1)
    return replace(back, resolution=score.resolution, tempo=score.tempo).with_notes(notes)


def pitch_shift(codec: Codec, score: Score) -> int:
    """Semitones the codec transposes ``score`` by (0 unless it transposes)."""
    if codec.settings().get("transpose") is not True:  # S3's `transpose` lists augmentation shifts
        return 0
    notes = score.track_notes(0)
    pitch = notes["pitch"].to_numpy(np.int64)
    # every note, as the codec passes them: the key is estimated from them when unread
    moved, _ = to_reference_key(score.key, pitch, notes["duration"].to_numpy(np.int64))
    return int(moved[0] - pitch[0])


def roundtrip(codec: Codec, score: Score) -> Score:
    """``score`` encoded whole and decoded back at its own resolution, in its own key."""
    if codec.decoded_time == "ticks":
        back = codec.decode(codec.encode(score), resolution=score.resolution, piece_id=score.piece_id)
    else:
        back = in_original_time(
            codec.decode(codec.encode(score), piece_id=score.piece_id), score, codec.decoded_time
        )
    shift = pitch_shift(codec, score)
    if shift:
        notes = back.notes.copy()
        notes["pitch"] = notes["pitch"] - shift
        back = back.with_notes(notes)
    return back


def match_notes(original: pd.DataFrame, decoded: pd.DataFrame, tolerance: int) -> pd.DataFrame:
    """Each original note with its decoded partner (NaN columns when none).

    Same piece, track and pitch, nearest onset within ``tolerance`` ticks; when two
    original notes find one decoded note, the nearer keeps it.
    """
    keys = ["piece", "track", "pitch"]
    original = original.astype({k: np.int64 for k in [*keys, "onset", "duration"]})
    decoded = decoded.astype({k: np.int64 for k in [*keys, "onset", "duration"]})
    left = original.reset_index(drop=True).assign(_i=lambda d: np.arange(len(d)))
    right = decoded.rename(columns={"onset": "d_onset", "duration": "d_duration"}).assign(
        _j=lambda d: np.arange(len(d)), _on=lambda d: d["d_onset"]
    )
    if len(left) == 0 or len(right) == 0:
        return left.assign(d_onset=np.nan, d_duration=np.nan)
    m = pd.merge_asof(
        left.sort_values("onset").assign(_on=lambda d: d["onset"]),
        right.sort_values("_on")[[*keys, "_on", "_j", "d_onset", "d_duration"]],
        on="_on",
        by=keys,
        direction="nearest",
        tolerance=tolerance,
    ).sort_values("_i")
    dist = (m["onset"] - m["d_onset"]).abs()
    taken = m.assign(_d=dist).sort_values(["_j", "_d", "_i"]).duplicated("_j", keep="first") & m["_j"].notna()
    m.loc[taken[taken].index, ["d_onset", "d_duration", "_j"]] = np.nan
    return m.drop(columns=["_on"])


def fidelity(codec: Codec, scores: Sequence[Score]) -> dict:
    """What ``codec`` loses of ``scores`` (see the module docstring); JSON-ready."""
    filtered: Counter = Counter()
    originals, decoded = [], []
    tolerances = []
    meter_changed = 0
    described = codec.describe()
    low, high = described.get("pitch_low", 0), described.get("pitch_high", 128)
    for i, score in enumerate(scores):
        try:
            codec._encode_piece(score)  # the filters, exactly as encode@ applies them
        except EncodingFilterError as exc:
            filtered[exc.filter] += 1
            continue
        back = roundtrip(codec, score)
        meter_changed += tuple(back.time_signature) != tuple(score.time_signature)
        originals.append(represented_notes(codec, score).assign(piece=i))
        decoded.append(back.notes[["track", "pitch", "onset", "duration"]].assign(piece=i))
        tolerances.append(int(grid_step(codec, score) // 2))
    n_pieces, kept = len(scores), len(scores) - sum(filtered.values())
    empty = pd.DataFrame(
        {c: pd.Series(dtype=np.int64) for c in ("piece", "track", "pitch", "onset", "duration")}
    )
    orig = pd.concat([empty, *originals], ignore_index=True)
    dec = pd.concat([empty, *decoded], ignore_index=True)
    in_range = (orig["pitch"] >= low) & (orig["pitch"] < high)
    tol = max(tolerances, default=0)
    matched = match_notes(orig[in_range], dec, tol)
    found = matched["d_onset"].notna()
    m = matched[found]
    n = len(orig)

    def share(count: float, of: int) -> float | None:
        return round(float(count) / of, 6) if of else None

    return {
        "pieces": n_pieces,
        "pieces_kept": kept,
        "pieces_filtered": share(n_pieces - kept, n_pieces),
        "filtered_by": dict(sorted(filtered.items())),
        "notes": n,
        "out_of_range": share(int((~in_range).sum()), n),
        "dropped": share(int((~found).sum()), n),
        "moved": share(int((m["d_onset"] != m["onset"]).sum()), n),
        "shortened": share(int((m["d_duration"] < m["duration"]).sum()), n),
        "lengthened": share(int((m["d_duration"] > m["duration"]).sum()), n),
        "extra": share(max(len(dec) - len(m), 0), n),
        "meter_changed": share(meter_changed, kept),
        "mean_onset_shift_ticks": None
        if m.empty
        else round(float((m["d_onset"] - m["onset"]).abs().mean()), 6),
        "tolerance_ticks": tol,
    }
