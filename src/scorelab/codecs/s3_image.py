"""S3's MIDI images: 88 keys x 200 columns of 0.05 s (10 s), in the paper's three flavours.

S3 (section 4.1) paints a performance on a time grid, not a beat grid (MAESTRO's MIDI
is played, not quantised): a column is 0.05 s, a row one of the 88 piano keys. Its
three flavours, as ``channels``:

- 1: one channel, 125 at a note's first column ("onset"), 255 on the columns it is
  held ("sustain"), 0 elsewhere. The onset value is what tells a re-struck key from a
  held one, so decoding splits runs there;
- 3: that channel, plus the note's velocity and its instrument (General MIDI program
  + 1, so 0 stays "no note") painted over the same cells;
- 4: painted at the onset cell only: the note's length in columns, its velocity, its
  instrument (program + 1) and the piece's tempo (quarter notes per minute). Values are
  clipped to 255 (a note longer than 12.75 s is cut there).

Arrays are uint8 ``(channels, 88, columns)``, row 0 the highest key (108), as a picture
reads; models see them scaled to [0, 1] (``x / 255``), and :meth:`S3ImageCodec.decode`
takes either. A note covers columns ``[round(onset_s / 0.05), round(end_s / 0.05))``,
half up, at least one. Decoded Scores are on a 150-qpm grid at 24 ticks per quarter,
where a column is exactly 3 ticks, so a decoded note's seconds are its columns'; the
4-channel tempo is data the models see, not the decoded Score's clock.

Augmentation (S3 section 4.3), training split only, as settings: ``transpose`` adds a
copy of every piece shifted by each of the given semitones; ``pitch_noise`` adds a copy
in which that share of the notes moves by ``round(N(0, 1))`` semitones (seeded).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from scorelab.codecs.base import CODECS, WindowedCodec, half_up
from scorelab.constants import DEFAULT_RESOLUTION
from scorelab.errors import EncodingFilterError, ParamsError
from scorelab.score import Score, Track

ONSET, SUSTAIN = 125, 255  # S3's channel-0 values
PIANO_LOW, PIANO_HIGH = 21, 109  # the 88 keys, A0..C8
AUGMENTED = re.compile(r"\+(t[+-]\d+|noise)$")  # the piece-id suffix of augment()'s copies
DECODE_TEMPO = 150.0  # qpm: 0.05 s = 1/8 quarter = 3 ticks at 24 per quarter
TICKS_PER_COLUMN = 3
FLAVOURS = (1, 3, 4)


@dataclass(frozen=True)
class S3ImageSettings:
    """Settings of :class:`S3ImageCodec`; defaults are S3's."""

    channels: int = 1  # 1, 3 or 4: S3's three flavours
    seconds_per_column: float = 0.05
    columns: int = 200  # an image: 200 columns = 10 s
    hop_columns: int = 200  # a window starts every hop_columns columns
    min_notes: int = 1  # windows with fewer note onsets are dropped
    transpose: tuple[int, ...] = ()  # training split only: extra copies shifted by these semitones
    pitch_noise: float = 0.0  # training split only: a copy with this share of notes moved
    augment_seed: int = 0  # of the pitch noise


class S3ImageCodec(WindowedCodec):
    """Score <-> S3's 88-key time-grid image (1, 3 or 4 channels), windowed by columns."""

    name = "s3_image"
    settings_class = S3ImageSettings

    decoded_time = "seconds"  # decoded on its own 150 qpm grid; S3's columns are 0.05 s

    def represented_tracks(self) -> str:
        return "merged" if self.config.channels == 1 else "all"  # 3/4 channels keep the instrument

    def _validate(self) -> None:
        c = self.config
        if c.channels not in FLAVOURS:
            raise ParamsError(f"codec s3_image: channels must be one of {FLAVOURS}, got {c.channels}")
        if c.seconds_per_column <= 0:
            raise ParamsError(f"codec s3_image: seconds_per_column must be > 0, got {c.seconds_per_column}")
        for key in ("columns", "hop_columns"):
            if getattr(c, key) <= 0:
                raise ParamsError(f"codec s3_image: {key} must be > 0, got {getattr(c, key)}")
        if c.min_notes < 0:
            raise ParamsError(f"codec s3_image: min_notes must be >= 0, got {c.min_notes}")
        if not 0.0 <= c.pitch_noise <= 1.0:
            raise ParamsError(f"codec s3_image: pitch_noise is a share in [0, 1], got {c.pitch_noise}")
        if any(abs(t) > 24 for t in c.transpose):
            raise ParamsError(f"codec s3_image: transpose shifts beyond two octaves: {list(c.transpose)}")

    def describe(self) -> dict:
        info = super().describe()
        info.update(
            n_pitches=PIANO_HIGH - PIANO_LOW,
            pitch_low=PIANO_LOW,
            pitch_high=PIANO_HIGH,
            shape=[self.config.channels, PIANO_HIGH - PIANO_LOW, self.config.columns],
            decode_tempo=DECODE_TEMPO,
            resolution=DEFAULT_RESOLUTION,
            step_ticks=TICKS_PER_COLUMN,  # a column of the decoded Scores' grid
            scale=255,  # models see x / scale, in [0, 1]
        )
        return info

    # One piece ------------------------------------------------------------------------

    def _cells(self, score: Score):
        """Per kept note: row, start column, end column, velocity, program + 1."""
        n = score.notes
        keep = (n["pitch"] >= PIANO_LOW) & (n["pitch"] < PIANO_HIGH)
        n = n[keep]
        spc = self.config.seconds_per_column
        start = half_up(n["onset_s"].to_numpy(np.float64) / spc)
        end = half_up((n["onset_s"].to_numpy(np.float64) + n["duration_s"].to_numpy(np.float64)) / spc)
        end = np.maximum(end, start + 1)
        row = PIANO_HIGH - 1 - n["pitch"].to_numpy(np.int64)
        programs = np.array([t.program for t in score.tracks] or [0], np.int64)
        instrument = programs[n["track"].to_numpy(np.int64)] + 1
        velocity = n["velocity"].to_numpy(np.int64)
        return row, start, end, velocity, instrument

    def encode(self, score: Score) -> np.ndarray:
        """The whole piece: uint8 ``(channels, 88, n_columns)``, ending at the last note's end."""
        row, start, end, velocity, instrument = self._cells(score)
        width = int(end.max()) if len(end) else 0
        img = np.zeros((self.config.channels, PIANO_HIGH - PIANO_LOW, width), np.uint8)
        if self.config.channels == 4:
            img[0, row, start] = np.clip(end - start, 1, 255)
            img[1, row, start] = np.clip(velocity, 0, 255)
            img[2, row, start] = np.clip(instrument, 0, 255)
            img[3, row, start] = int(np.clip(round(score.tempo), 1, 255))
            return img
        # sustain over every held cell first, then every onset on top (a re-struck key
        # shows its new onset even where an earlier note still sounds)
        length = end - start
        cell_row = np.repeat(row, length)
        cell_col = np.repeat(start, length) + _ramp(length)
        img[0, cell_row, cell_col] = SUSTAIN
        if self.config.channels == 3:
            img[1, cell_row, cell_col] = np.clip(np.repeat(velocity, length), 0, 255)
            img[2, cell_row, cell_col] = np.clip(np.repeat(instrument, length), 0, 255)
        img[0, row, start] = ONSET
        if self.config.channels == 3:  # the onset cell's own velocity and instrument
            img[1, row, start] = np.clip(velocity, 0, 255)
            img[2, row, start] = np.clip(instrument, 0, 255)
        return img

    def decode(self, array: np.ndarray, **meta: Any) -> Score:
        """An image ``(channels, 88, T)`` (uint8, or floats in [0, 1] from a model) to a Score.

        Channel 0 of the 1- and 3-channel flavours is read as the nearest of 0, 125 and
        255; a note starts at an onset cell or at a held cell after a silent one, and
        lasts while the cells are held. The 4-channel flavour has a note wherever the
        length channel is at least 1 (after rounding). Velocity and instrument come from
        the note's first cell; each instrument becomes one track.
        """
        img = np.asarray(array)
        if img.ndim == 2:
            img = img[None]
        if img.ndim != 3 or img.shape[:2] != (self.config.channels, PIANO_HIGH - PIANO_LOW):
            raise ValueError(f"codec s3_image: expected ({self.config.channels}, 88, T), got {img.shape}")
        if np.issubdtype(img.dtype, np.floating):
            img = np.rint(np.clip(img, 0.0, 1.0) * 255.0)
        img = img.astype(np.int64)
        if self.config.channels == 4:
            row, start = np.nonzero(img[0] >= 1)
            length = img[0, row, start]
            velocity, instrument = img[1, row, start], img[2, row, start]
        else:
            level = np.digitize(img[0], [(ONSET + 0) / 2, (ONSET + SUSTAIN) / 2])  # 0 silent, 1 onset, 2 held
            on = level > 0
            before = np.zeros_like(on)
            before[:, 1:] = on[:, :-1]
            starts = (level == 1) | (on & ~before)
            row, start = np.nonzero(starts)
            # a note runs until the next start or silent cell of its row
            nxt = np.zeros_like(on)
            nxt[:, :-1] = starts[:, 1:] | ~on[:, 1:]
            nxt[:, -1] = True
            end_row, end_col = np.nonzero(on & nxt)  # the last cell of every run, row-major
            length = end_col - start + 1
            assert np.array_equal(end_row, row)
            if self.config.channels == 3:
                velocity, instrument = img[1, row, start], img[2, row, start]
            else:
                velocity = np.full(len(row), 80)
                instrument = np.ones(len(row), np.int64)
        program = np.clip(instrument - 1, 0, 127)
        programs = sorted(set(program.tolist())) or [0]
        track_of = {p: i for i, p in enumerate(programs)}
        ticks = TICKS_PER_COLUMN
        rows = (
            np.stack(
                [
                    np.array([track_of[p] for p in program.tolist()], np.int64),
                    PIANO_HIGH - 1 - row,
                    start * ticks,
                    np.maximum(length, 1) * ticks,
                    np.clip(velocity, 1, 127),
                ],
                axis=1,
            )
            if len(row)
            else np.zeros((0, 5), np.int64)
        )
        tracks = [Track("piano" if p == 0 else f"program{p}", int(p)) for p in programs]
        meta.setdefault("resolution", DEFAULT_RESOLUTION)
        meta.setdefault("tempo", DECODE_TEMPO)
        return Score.from_notes(rows, tracks=tracks, **meta)

    # One split ------------------------------------------------------------------------

    def augment(self, scores: list[Score], split: str) -> list[Score]:
        """S3's augmentation on the training split: transposed and pitch-noised copies."""
        c = self.config
        if split != "train" or not (c.transpose or c.pitch_noise):
            return scores
        out = list(scores)
        for shift in c.transpose:
            if shift == 0:
                continue
            for s in scores:
                notes = s.notes.assign(pitch=s.notes["pitch"] + shift)
                notes = notes[(notes["pitch"] >= 0) & (notes["pitch"] < 128)]
                if len(notes):
                    copy = s.with_notes(notes.reset_index(drop=True))
                    copy.piece_id = f"{s.piece_id}+t{shift:+d}"
                    out.append(copy)
        if c.pitch_noise:
            rng = np.random.default_rng(c.augment_seed)
            for s in scores:
                moved = rng.random(len(s.notes)) < c.pitch_noise
                step = np.rint(rng.standard_normal(len(s.notes))).astype(np.int64) * moved
                pitch = np.clip(s.notes["pitch"].to_numpy(np.int64) + step, 0, 127)
                copy = s.with_notes(s.notes.assign(pitch=pitch))
                copy.piece_id = f"{s.piece_id}+noise"
                out.append(copy)
        return out

    def unaugmented(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The corpus's own windows: the copies :meth:`augment` named ``+t<shift>``/``+noise`` dropped."""
        ids = arrays["piece_ids"]
        copy = np.array([bool(AUGMENTED.search(str(p))) for p in ids], dtype=bool)
        if not copy.any():
            return arrays
        keep = ~copy[arrays["piece_index"]]
        return {**{k: v[keep] for k, v in arrays.items() if k != "piece_ids"}, "piece_ids": ids}

    def _encode_piece(self, score: Score) -> tuple[np.ndarray, np.ndarray, int]:
        """Windows of one piece: (windows (N, C, 88, columns), start columns, windows dropped)."""
        img = self.encode(score)
        w, hop = self.config.columns, self.config.hop_columns
        if img.shape[2] == 0:
            raise EncodingFilterError("empty", f"{score.piece_id}: no note on the 88 keys")
        n = max(1, -(-max(img.shape[2] - w, 0) // hop) + 1)
        img = np.pad(img, ((0, 0), (0, 0), (0, (n - 1) * hop + w - img.shape[2])))
        starts = np.arange(n) * hop
        windows = np.stack([img[:, :, s : s + w] for s in starts])
        onsets = self._onsets(windows)
        keep = onsets >= self.config.min_notes
        if not keep.any():
            raise EncodingFilterError(
                "min_notes", f"{score.piece_id}: no window has {self.config.min_notes} notes or more"
            )
        return windows[keep], starts[keep], int((~keep).sum())

    def _onsets(self, windows: np.ndarray) -> np.ndarray:
        """Notes starting in each window (a note held in from the last window counts once)."""
        if self.config.channels == 4:
            return (windows[:, 0] > 0).sum(axis=(1, 2))
        ch = windows[:, 0]
        on = ch > 0
        before = np.zeros_like(on)
        before[:, :, 1:] = on[:, :, :-1]
        return ((ch == ONSET) | (on & ~before)).sum(axis=(1, 2))

    def noise(self, arrays: dict[str, np.ndarray], n: int, seed: int) -> list[Score]:
        """Cells drawn independently per (channel, key) from the data's values at that key.

        Each cell is empty with the key's empty rate, else one of the non-zero values seen
        at that key, drawn with their frequencies: the data's pitch and value marginals
        with no time structure.
        """
        x = arrays["x"]  # (N, C, 88, W)
        rng = np.random.default_rng(seed)
        out = np.zeros((n, *x.shape[1:]), np.uint8)
        occupied = x[:, 0] > 0  # (N, 88, W)
        rate = occupied.mean(axis=(0, 2))  # per key
        for k in range(x.shape[2]):
            cells = rng.random((n, x.shape[3])) < rate[k]
            if not cells.any():
                continue
            seen = np.moveaxis(x[:, :, k, :], 1, -1)[occupied[:, k, :]]  # (m, C) values of occupied cells
            pick = seen[rng.integers(0, len(seen), int(cells.sum()))]
            idx = np.nonzero(cells)
            out[idx[0], :, k, idx[1]] = pick
        return [self.decode(c, piece_id=f"noise_{i:03d}") for i, c in enumerate(out)]


def _ramp(lengths: np.ndarray) -> np.ndarray:
    """``[0..l0-1, 0..l1-1, ...]`` for run lengths ``l``."""
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, np.int64)
    starts = np.cumsum(lengths) - lengths
    return np.arange(total) - np.repeat(starts, lengths)


CODECS.register(S3ImageCodec.name, S3ImageCodec)
