"""Multi-track piano roll on a beat grid (S0's JSB Chorales input; S1's LPD rolls).

A roll is a boolean array ``(n_tracks, n_steps, n_pitches)``: True where a pitch sounds
in a track during a grid step. A split becomes windows of whole bars (S0: 2 bars of 4/4
at 4 steps per beat = 32 steps x 128 pitches per track).

The grid cannot tell a held note from the same pitch struck again with no gap, so
decoding merges such repeats into one long note; that is a property of the
representation (MuseGAN's rolls have it too), not of the code.

``merge_tracks`` reduces every piece to one "piano" track before rolling (S1 trains on
"the chorales reduced to one piano track"), so the roll has one track.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from scorelab.codecs.base import CODECS, WindowedCodec, count_notes, half_up  # noqa: F401  (count_notes: users import it from here)
from scorelab.constants import DEFAULT_RESOLUTION, MIDI_PITCHES
from scorelab.errors import EncodingFilterError, ParamsError
from scorelab.score import Score, Track

QUARTERS_PER_WHOLE = 4  # a bar of n/d holds n * 4/d quarter notes
PIANO_TRACK = Track("piano", 0)  # the one track of merge_tracks (S1: "one piano track")


@dataclass(frozen=True)
class PianoRollSettings:
    """Settings of :class:`PianoRollCodec`; defaults are S0's."""

    steps_per_beat: int = 4  # grid steps per quarter note (4 = 16ths)
    bars_per_sample: int = 2  # window length in bars
    hop_bars: int = 1  # a window starts every hop_bars bars
    pitch_low: int = 0  # lowest MIDI pitch kept (inclusive)
    pitch_high: int = MIDI_PITCHES  # highest MIDI pitch kept (exclusive)
    min_notes: int = 1  # windows with fewer notes are dropped
    time_signature: str = "4/4"  # pieces in another meter are rejected
    merge_tracks: bool = False  # every track's notes into one "piano" track (S1)


def parse_time_signature(text: str) -> tuple[int, int]:
    """``"3/4"`` -> ``(3, 4)``; raise ValueError on anything else."""
    num, den = (int(x) for x in text.strip().split("/"))
    if num <= 0 or den <= 0:
        raise ValueError(text)
    return num, den


class PianoRollCodec(WindowedCodec):
    """Score <-> multi-track boolean piano roll, windowed by bars for training.

    A note covers steps ``[round(onset / step), round(end / step))`` (half up), at least
    one step, so a note shorter than half a step still sounds. Notes outside
    ``[pitch_low, pitch_high)`` are dropped.
    """

    name = "pianoroll"
    settings_class = PianoRollSettings

    def __init__(self, **settings: Any):
        super().__init__(**settings)
        if self.config.merge_tracks:
            self.tracks = [PIANO_TRACK]

    def represented_tracks(self) -> str:
        return "merged" if self.config.merge_tracks else "all"

    def _validate(self) -> None:
        c = self.config
        for key in ("steps_per_beat", "bars_per_sample", "hop_bars"):
            if getattr(c, key) <= 0:
                raise ParamsError(f"codec pianoroll: {key} must be > 0, got {getattr(c, key)}")
        if DEFAULT_RESOLUTION % c.steps_per_beat:
            raise ParamsError(
                f"codec pianoroll: steps_per_beat={c.steps_per_beat} does not divide the "
                f"resolution ({DEFAULT_RESOLUTION} ticks per quarter)"
            )
        if not 0 <= c.pitch_low < c.pitch_high <= MIDI_PITCHES:
            raise ParamsError(
                f"codec pianoroll: need 0 <= pitch_low < pitch_high <= {MIDI_PITCHES}, "
                f"got pitch_low={c.pitch_low}, pitch_high={c.pitch_high}"
            )
        if c.min_notes < 0:
            raise ParamsError(f"codec pianoroll: min_notes must be >= 0, got {c.min_notes}")
        try:
            num, den = parse_time_signature(c.time_signature)
        except ValueError:
            raise ParamsError(
                f"codec pianoroll: time_signature must look like '4/4', got {c.time_signature!r}"
            ) from None
        if (c.steps_per_beat * QUARTERS_PER_WHOLE * num) % den:
            raise ParamsError(
                f"codec pianoroll: a bar of {c.time_signature} is not a whole number of steps "
                f"at steps_per_beat={c.steps_per_beat}"
            )

    # Derived values -------------------------------------------------------------------

    @property
    def step_ticks(self) -> int:
        """Ticks per grid step at the default resolution."""
        return DEFAULT_RESOLUTION // self.config.steps_per_beat

    @property
    def steps_per_bar(self) -> int:
        """Grid steps in one bar of the configured time signature."""
        num, den = parse_time_signature(self.config.time_signature)
        return self.config.steps_per_beat * QUARTERS_PER_WHOLE * num // den

    @property
    def n_pitches(self) -> int:
        """Pitch rows of the roll."""
        return self.config.pitch_high - self.config.pitch_low

    @property
    def window_steps(self) -> int:
        """Steps in one training window."""
        return self.config.bars_per_sample * self.steps_per_bar

    def describe(self) -> dict:
        """Settings plus step_ticks, steps_per_bar, window shape and tracks."""
        info = super().describe()
        info.update(
            resolution=DEFAULT_RESOLUTION,
            step_ticks=self.step_ticks,
            steps_per_bar=self.steps_per_bar,
            window_steps=self.window_steps,
            n_pitches=self.n_pitches,
            shape=[info["n_tracks"], self.window_steps, self.n_pitches],
        )
        return info

    # One piece ------------------------------------------------------------------------

    def encode(self, score: Score) -> np.ndarray:
        """The whole piece as a bool roll ``(n_tracks, n_steps, n_pitches)``.

        ``n_tracks`` is ``len(score.tracks)``, or 1 with ``merge_tracks`` (every track's
        notes in one "piano" track); ``n_steps`` ends at the last note's last step.

        Raises
        ------
        EncodingFilterError
            ("grid") When the score's resolution is not a multiple of steps_per_beat.
        """
        if score.resolution % self.config.steps_per_beat:
            raise EncodingFilterError(
                "grid",
                f"{score.piece_id}: resolution {score.resolution} is not divisible by "
                f"steps_per_beat={self.config.steps_per_beat}",
            )
        if self.config.merge_tracks:
            score = merge_tracks(score)
        step = score.resolution // self.config.steps_per_beat
        notes = score.notes
        low, high = self.config.pitch_low, self.config.pitch_high
        notes = notes[(notes["pitch"] >= low) & (notes["pitch"] < high)]
        track = notes["track"].to_numpy(np.int64)
        pitch = notes["pitch"].to_numpy(np.int64) - low
        onset = notes["onset"].to_numpy(np.int64)
        start = half_up(onset / step)
        end = np.maximum(half_up((onset + notes["duration"].to_numpy(np.int64)) / step), start + 1)
        n_steps = int(end.max()) if len(end) else 0
        # Mark +1 at each start and -1 at each end, then a running sum along time: a step
        # is on where the count is positive (overlapping same-pitch notes simply merge).
        delta = np.zeros((len(score.tracks), n_steps + 1, self.n_pitches), dtype=np.int32)
        np.add.at(delta, (track, start, pitch), 1)
        np.add.at(delta, (track, end, pitch), -1)
        return np.cumsum(delta, axis=1)[:, :n_steps] > 0  # (K, T, P)

    def decode(self, array: np.ndarray, threshold: float = 0.5, **meta: Any) -> Score:
        """A roll ``(n_tracks, T, P)`` (or ``(T, P)`` for one track) back to a Score.

        Float arrays (model outputs) are on where ``>= threshold`` (as the sampler
        binarises); bool and integer arrays where non-zero. Each run of consecutive on
        steps of one pitch in one track becomes one note (repeats with no gap merge: the
        grid cannot show them). Tracks are named from the codec's tracks when known.
        ``meta`` goes to the Score; ``time_signature`` defaults to the codec's.
        """
        array = np.asarray(array)
        if array.ndim == 2:
            array = array[None]
        if array.ndim != 3 or array.shape[2] != self.n_pitches:
            raise ValueError(
                f"codec pianoroll: expected (n_tracks, T, {self.n_pitches}), got shape {array.shape}"
            )
        on = array >= threshold if np.issubdtype(array.dtype, np.floating) else array != 0
        on = np.pad(on.transpose(0, 2, 1), ((0, 0), (0, 0), (1, 1)))  # (K, P, T+2)
        edges = np.diff(on.astype(np.int8), axis=2)
        # argwhere is row-major, so starts and ends of the same (track, pitch) pair in order.
        starts = np.argwhere(edges == 1)  # (n, 3): track, pitch, step
        ends = np.argwhere(edges == -1)
        resolution = meta.setdefault("resolution", DEFAULT_RESOLUTION)
        step = resolution // self.config.steps_per_beat
        rows = np.stack(
            [
                starts[:, 0],
                starts[:, 1] + self.config.pitch_low,
                starts[:, 2] * step,
                (ends[:, 2] - starts[:, 2]) * step,
            ],
            axis=1,
        )
        meta.setdefault("time_signature", parse_time_signature(self.config.time_signature))
        return Score.from_notes(rows, tracks=self._track_list(array.shape[0]), **meta)

    def _track_list(self, n: int) -> list[Track]:
        """The codec's tracks when they match ``n``, else generic names."""
        if self.tracks is not None and len(self.tracks) == n:
            return list(self.tracks)
        return [Track(f"track{i}") for i in range(n)]

    # One split ------------------------------------------------------------------------

    def _start_split(self, scores: list[Score]) -> None:
        """Fix the expected tracks from the first piece unless already known."""
        if self.tracks is None and scores:
            self.tracks = list(scores[0].tracks)

    def _encode_piece(self, score: Score) -> tuple[np.ndarray, np.ndarray, int]:
        """Windows of one piece: (windows (N, K, T, P), start steps (N,), windows dropped).

        Raises
        ------
        EncodingFilterError
            "time_signature", "tracks", "length" (shorter than one window) or "min_notes"
            (no window has enough notes).
        """
        meter = parse_time_signature(self.config.time_signature)
        if tuple(score.time_signature) != meter:
            sig = "/".join(map(str, score.time_signature))
            raise EncodingFilterError(
                "time_signature", f"{score.piece_id} is in {sig}, not {self.config.time_signature}"
            )
        n_tracks = 1 if self.config.merge_tracks else len(score.tracks)
        expected = len(self.tracks) if self.tracks is not None else n_tracks
        if n_tracks != expected:
            raise EncodingFilterError(
                "tracks", f"{score.piece_id} has {n_tracks} tracks, expected {expected}"
            )
        roll = self.encode(score)
        bar, window = self.steps_per_bar, self.window_steps
        n_bars = -(-roll.shape[1] // bar)
        if n_bars < self.config.bars_per_sample:
            raise EncodingFilterError(
                "length",
                f"{score.piece_id} has {n_bars} bars, fewer than bars_per_sample="
                f"{self.config.bars_per_sample}",
            )
        roll = np.pad(roll, ((0, 0), (0, n_bars * bar - roll.shape[1]), (0, 0)))
        starts = np.arange(0, n_bars - self.config.bars_per_sample + 1, self.config.hop_bars) * bar
        windows = np.stack([roll[:, s : s + window] for s in starts])  # (N, K, T, P)
        keep = count_notes(windows) >= self.config.min_notes
        if not keep.any():
            raise EncodingFilterError(
                "min_notes", f"{score.piece_id}: no window has {self.config.min_notes} notes or more"
            )
        return windows[keep], starts[keep], int((~keep).sum())

    def noise(self, arrays: dict[str, np.ndarray], n: int, seed: int) -> list[Score]:
        """Independent Bernoulli cells at each (track, pitch)'s occupancy rate in ``arrays["x"]``.

        The rate is per track and pitch, so the baseline plays in each voice's range as
        often as the data does, with no time structure at all.
        """
        x = arrays["x"]  # (N, C, T, P)
        rate = x.mean(axis=(0, 2), dtype=np.float64)  # (C, P)
        rng = np.random.default_rng(seed)
        cells = rng.random((n, x.shape[1], x.shape[2], x.shape[3])) < rate[None, :, None, :]
        return [self.decode(c.astype(np.uint8), piece_id=f"noise_{i:03d}") for i, c in enumerate(cells)]


def merge_tracks(score: Score) -> Score:
    """The score with every track's notes in one track, :data:`PIANO_TRACK` (drums included)."""
    return score.with_notes(score.notes.assign(track=0), tracks=[PIANO_TRACK])


CODECS.register(PianoRollCodec.name, PianoRollCodec)
