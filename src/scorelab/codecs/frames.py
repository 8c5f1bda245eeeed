"""Whole pieces as binary key frames: the polyphonic likelihood benchmark's form (the JSB ladder).

Boulanger-Lewandowski et al. (2012) scored polyphonic models on whole pieces sampled
once per quarter note (their JSB pickle: 229/76/77 chorales, already transposed to C
major or C minor), each frame a vector of 88 piano keys (MIDI 21-108), and reported the
mean negative log-likelihood of a test frame. Every later paper on that split (the DMM
of Krishnan et al. 2017, whose Tables 3-4 the report quotes) keeps that protocol, so
this codec keeps exactly that form: no windows, no transposition, one frame per grid
step from the piece's first step to the end of its last note, every track in one roll.

A split's arrays: ``x`` uint8 ``(F, K)``, the frames of every piece one after another;
``starts``/``lengths`` (int64, per piece) cut it back into pieces; ``piece_ids``.

The corpus reader (:func:`scorelab.corpora.jsb.chord_frames_notes`) turned each pitch
held over consecutive frames into one note; rolling those notes back on the same grid
gives the pickle's frames again (a held pitch and a struck-again pitch look the same on
a frame grid, in the pickle as here), so the encoded test split is the benchmark's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from scorelab.codecs.base import CODECS, Codec, half_up
from scorelab.constants import DEFAULT_RESOLUTION, MIDI_PITCHES
from scorelab.errors import EncodingFilterError, ParamsError
from scorelab.score import Score, Track

FRAMES_TRACK = Track("piano", 0)
PIANO_LOW, PIANO_HIGH = 21, 109  # the 88 keys (A0..C8) of the benchmark's frames


@dataclass(frozen=True)
class FrameSettings:
    """Settings of :class:`FramesCodec`; defaults are the benchmark's (quarter notes, 88 keys)."""

    steps_per_beat: int = 1  # frames per quarter note (1: the JSB benchmark)
    pitch_low: int = PIANO_LOW  # lowest key (inclusive)
    pitch_high: int = PIANO_HIGH  # highest key (exclusive)
    min_frames: int = 1  # shorter pieces are rejected (a piece's first frame is scored too)


class FramesCodec(Codec):
    """Score <-> whole-piece binary frames ``(T, K)``: every track's notes in one roll."""

    name = "frames"
    settings_class = FrameSettings
    frame_likelihood = True

    def __init__(self, **settings: Any):
        super().__init__(**settings)
        self.tracks = [FRAMES_TRACK]

    def represented_tracks(self) -> str:
        return "merged"

    def _validate(self) -> None:
        c = self.config
        if c.steps_per_beat <= 0 or DEFAULT_RESOLUTION % c.steps_per_beat:
            raise ParamsError(
                f"codec frames: steps_per_beat must be > 0 and divide {DEFAULT_RESOLUTION}, "
                f"got {c.steps_per_beat}"
            )
        if not 0 <= c.pitch_low < c.pitch_high <= MIDI_PITCHES:
            raise ParamsError(
                f"codec frames: need 0 <= pitch_low < pitch_high <= {MIDI_PITCHES}, "
                f"got {c.pitch_low}, {c.pitch_high}"
            )
        if c.min_frames < 1:
            raise ParamsError(f"codec frames: min_frames must be >= 1, got {c.min_frames}")

    @property
    def step_ticks(self) -> int:
        """Ticks per frame at the default resolution."""
        return DEFAULT_RESOLUTION // self.config.steps_per_beat

    @property
    def n_keys(self) -> int:
        """Keys per frame."""
        return self.config.pitch_high - self.config.pitch_low

    def describe(self) -> dict:
        """Settings plus the grid step and the frame width."""
        info = super().describe()
        info.update(resolution=DEFAULT_RESOLUTION, step_ticks=self.step_ticks, n_keys=self.n_keys)
        return info

    # One piece ------------------------------------------------------------------------

    def encode(self, score: Score) -> np.ndarray:
        """The piece as bool frames ``(T, K)``, T ending with its last note's last frame.

        A note covers frames ``[round(onset / step), round(end / step))`` (half up), at
        least one; keys outside ``[pitch_low, pitch_high)`` are dropped.

        Raises
        ------
        EncodingFilterError
            ("grid") When the resolution is not a multiple of ``steps_per_beat``.
        """
        if score.resolution % self.config.steps_per_beat:
            raise EncodingFilterError(
                "grid",
                f"{score.piece_id}: resolution {score.resolution} is not divisible by "
                f"steps_per_beat={self.config.steps_per_beat}",
            )
        step = score.resolution // self.config.steps_per_beat
        notes = score.notes
        low, high = self.config.pitch_low, self.config.pitch_high
        notes = notes[(notes["pitch"] >= low) & (notes["pitch"] < high)]
        onset = notes["onset"].to_numpy(np.int64)
        start = half_up(onset / step)
        end = np.maximum(half_up((onset + notes["duration"].to_numpy(np.int64)) / step), start + 1)
        n = int(end.max()) if len(end) else 0
        delta = np.zeros((n + 1, self.n_keys), dtype=np.int32)  # +1 at starts, -1 at ends, summed
        key = notes["pitch"].to_numpy(np.int64) - low
        np.add.at(delta, (start, key), 1)
        np.add.at(delta, (end, key), -1)
        return np.cumsum(delta, axis=0)[:n] > 0

    def decode(self, array: np.ndarray, **meta: Any) -> Score:
        """Frames ``(T, K)`` (non-zero = on) to a one-track Score; a run of on frames is one note."""
        on = np.asarray(array) != 0
        if on.ndim != 2 or on.shape[1] != self.n_keys:
            raise ValueError(f"codec frames: expected (T, {self.n_keys}), got shape {on.shape}")
        edges = np.diff(np.pad(on.T.astype(np.int8), ((0, 0), (1, 1))), axis=1)  # (K, T+1)
        starts, ends = np.argwhere(edges == 1), np.argwhere(edges == -1)  # row-major: paired
        step = meta.setdefault("resolution", DEFAULT_RESOLUTION) // self.config.steps_per_beat
        rows = np.stack(
            [
                np.zeros(len(starts), dtype=np.int64),
                starts[:, 0] + self.config.pitch_low,
                starts[:, 1] * step,
                (ends[:, 1] - starts[:, 1]) * step,
            ],
            axis=1,
        )
        return Score.from_notes(rows, tracks=[FRAMES_TRACK], **meta)

    # One split ------------------------------------------------------------------------

    def _encode_piece(self, score: Score) -> np.ndarray:
        """The piece's frames; "length" when it has fewer than ``min_frames``."""
        frames = self.encode(score)
        if len(frames) < self.config.min_frames:
            raise EncodingFilterError(
                "length", f"{score.piece_id} has {len(frames)} frames, fewer than {self.config.min_frames}"
            )
        return frames

    def _stack(self, kept: list[tuple[Score, Any]]) -> dict[str, np.ndarray]:
        """``x`` (F, K) uint8, every piece's frames in order; ``starts``, ``lengths``, ``piece_ids``."""
        lengths = np.array([len(f) for _, f in kept], dtype=np.int64)
        return {
            "x": np.concatenate([f for _, f in kept]).astype(np.uint8),
            "starts": np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64),
            "lengths": lengths,
            "piece_ids": np.array([s.piece_id for s, _ in kept], dtype=np.str_),
        }

    def _split_summary(self, kept: list[tuple[Score, Any]], arrays: dict[str, np.ndarray]) -> dict:
        """Frames in the split (the likelihood's denominator) and the frame width."""
        return {"frames": int(len(arrays["x"])), "n_keys": self.n_keys}

    def decode_split(self, arrays: dict[str, np.ndarray], **meta: Any) -> list[Score]:
        """One Score per piece, its own ``piece_id``; ``meta`` to every Score."""
        x = arrays["x"]
        return [
            self.decode(x[s : s + n], **{**meta, "piece_id": str(pid)})
            for s, n, pid in zip(arrays["starts"], arrays["lengths"], arrays["piece_ids"], strict=True)
        ]

    def noise(self, arrays: dict[str, np.ndarray], n: int, seed: int) -> list[Score]:
        """Independent keys on at their frequency in ``arrays["x"]``, pieces as long as the split's.

        The same independent-keys model as the ladder's first naive reference
        (:func:`scorelab.metrics.likelihood.independent_keys`, without its add-one), sampled.
        """
        rate = arrays["x"].mean(axis=0, dtype=np.float64)  # (K,)
        rng = np.random.default_rng(seed)
        lengths = rng.choice(arrays["lengths"], size=n)
        return [
            self.decode(
                (rng.random((int(t), self.n_keys)) < rate).astype(np.uint8), piece_id=f"noise_{i:03d}"
            )
            for i, t in enumerate(lengths)
        ]


CODECS.register(FramesCodec.name, FramesCodec)
