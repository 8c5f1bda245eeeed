"""S2's MIDI images: mido messages -> 96 x 96 pictures of 12 ticks per beat, as S2 made them.

S2 (section 3.1) works on a MIDI file's messages with mido, and this codec does too: a
Score is first written as the type-1 MIDI file :func:`scorelab.io.midi.score_to_midifile`
makes (one MIDI track per Score track), then each MIDI track goes through S2's steps:

1. keep only ``note_on`` and ``note_off``; also drop a ``note_on`` of velocity 0 and a
   ``note_off`` whose key is not sounding. A dropped message's delta time is not lost:
   S2's three worked examples (``note_off 70`` with no open note, ``note_on 80 vel 0``,
   control changes and tempo changes) all add it to the next kept message
   (256 -> 768), which keeps every kept message's absolute time. (S2's prose says "added
   to the last message that was saved", and so does docs/papers.md, "the previous
   kept one"; the examples, which are S2's own output, are followed here, because
   adding to the previous message would move notes, which S2 says the filter must not
   do: "so the sequences remain the same".) A ``note_on`` of velocity 0 on a sounding
   key is that key's release, as MIDI defines it;
2. rescale each delta to 12 ticks per beat, ``round(t * 12 / ticks_per_beat)`` with
   Python's ``round`` (half to even), delta by delta as S2 does, so rounding errors add up
   along a track exactly as in S2's images;
3. paint: walking the messages, each message's delta paints the keys sounding before
   it (``image[96 - pitch][now : now + delta] = 255``), then the message opens or closes
   its key. Row ``96 - pitch`` holds pitches 1-96; S2's Python lists would wrap a higher
   pitch into a low row (``image[-4]``) and fail on pitch 0, so notes outside 1-96 are
   dropped here and counted (``describe``/summary: ``notes_outside``).

The tracks' images are concatenated along time (S2: "the images created for each track
are then concatenated to one"; cutting into 96-wide images only makes sense that way),
and the song is cut into ``track_duration // 96`` images of 96 columns (8 beats, 2 bars
of 4/4); the remainder is dropped, as S2's count says.

Decoding binarises at ``threshold`` (a model's [0, 1] output; S2: "binarized (white or
black)"), and each run of white cells in a row is one note at 12 ticks per beat
(2 ticks per column at 24 per quarter), velocity :data:`DEFAULT_VELOCITY`, one piano track.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mido
import numpy as np

from scorelab.codecs.base import CODECS, WindowedCodec, count_notes
from scorelab.constants import DEFAULT_RESOLUTION, DEFAULT_VELOCITY
from scorelab.errors import EncodingFilterError, ParamsError
from scorelab.score import Score, Track

S2_TICKS_PER_BEAT = 12
SIDE = 96  # image height (pitch rows) and width (columns per image)
WHITE = 255
PIANO = Track("piano", 0)


@dataclass(frozen=True)
class S2ImageSettings:
    """Settings of :class:`S2ImageCodec`; defaults are S2's."""

    width: int = SIDE  # columns per image (S2: 96 = 8 beats)
    threshold: float = 0.5  # decoding: a cell is a note where the [0, 1] value is >= this
    min_notes: int = 1  # images with fewer notes are dropped (S2 kept every cut)


def filter_messages(track: list) -> list[tuple[str, int, int]]:
    """S2's filter on one MIDI track: ``(kind, note, delta)`` of the kept note messages.

    ``kind`` is ``"on"`` or ``"off"``; deltas are in the file's ticks, a dropped message's
    delta carried to the next kept one.
    """
    kept: list[tuple[str, int, int]] = []
    carry = 0
    sounding: dict[int, int] = {}  # key -> open count
    for msg in track:
        carry += int(msg.time)
        if msg.type == "note_on" and msg.velocity > 0:
            kept.append(("on", msg.note, carry))
            sounding[msg.note] = sounding.get(msg.note, 0) + 1
            carry = 0
        elif msg.type in ("note_off", "note_on") and sounding.get(msg.note, 0) > 0:
            kept.append(("off", msg.note, carry))
            sounding[msg.note] -= 1
            carry = 0
        # anything else (and an off of a silent key) is dropped; its delta stays in carry
    return kept


def paint_track(kept: list[tuple[str, int, int]], ticks_per_beat: int) -> tuple[np.ndarray, int]:
    """S2's painting of one filtered track at 12 ticks per beat: (image (96, T) uint8, notes dropped)."""
    deltas = [round(t * S2_TICKS_PER_BEAT / ticks_per_beat) for _, _, t in kept]
    width = int(sum(deltas))
    img = np.zeros((SIDE, width), np.uint8)
    now, active, outside = 0, {}, 0
    for (kind, note, _), delta in zip(kept, deltas, strict=True):
        if delta:
            for key in active:
                img[SIDE - key, now : now + delta] = WHITE
            now += delta
        if not 1 <= note <= SIDE:
            outside += kind == "on"
            continue
        if kind == "on":
            active[note] = active.get(note, 0) + 1
        elif note in active:
            active[note] -= 1
            if not active[note]:
                del active[note]
    return img, outside


def midi_to_image(midi: mido.MidiFile) -> tuple[np.ndarray, int]:
    """A whole song: every track's image, concatenated along time; and the notes outside 1-96."""
    images, outside = [], 0
    for track in midi.tracks:
        img, out = paint_track(filter_messages(track), midi.ticks_per_beat)
        images.append(img)
        outside += out
    return (np.concatenate(images, axis=1) if images else np.zeros((SIDE, 0), np.uint8)), outside


class S2ImageCodec(WindowedCodec):
    """Score <-> S2's 96 x 96 piano-roll picture (through S2's mido message rules)."""

    name = "s2_image"
    settings_class = S2ImageSettings

    def __init__(self, **settings: Any):
        super().__init__(**settings)
        self.tracks = [PIANO]

    decoded_time = "beats"  # decoded at its own resolution; S2's grid is in beats

    def represented_tracks(self) -> str:
        return "merged"  # one piano image (S2 concatenates a type-1 file's tracks in time)

    def _validate(self) -> None:
        c = self.config
        if c.width <= 0:
            raise ParamsError(f"codec s2_image: width must be > 0, got {c.width}")
        if not 0.0 <= c.threshold <= 1.0:
            raise ParamsError(f"codec s2_image: threshold must be in [0, 1], got {c.threshold}")
        if c.min_notes < 0:
            raise ParamsError(f"codec s2_image: min_notes must be >= 0, got {c.min_notes}")

    def describe(self) -> dict:
        info = super().describe()
        step = DEFAULT_RESOLUTION // S2_TICKS_PER_BEAT
        info.update(
            shape=[1, SIDE, self.config.width],
            ticks_per_beat=S2_TICKS_PER_BEAT,
            resolution=DEFAULT_RESOLUTION,
            step_ticks=step,
            pitch_low=1,
            pitch_high=SIDE + 1,
            scale=255,  # models see x / scale, in [0, 1]
        )
        return info

    def encode(self, score: Score) -> np.ndarray:
        """The whole song as S2 paints it: uint8 ``(1, 96, T)``."""
        from scorelab.io.midi import score_to_midifile

        img, _ = midi_to_image(score_to_midifile(score))
        return img[None]

    def decode(self, array: np.ndarray, threshold: float | None = None, **meta: Any) -> Score:
        """An image ``(96, T)`` or ``(1, 96, T)`` to a one-track Score; runs of white cells are notes."""
        img = np.asarray(array)
        if img.ndim == 3:
            img = img[0]
        if img.ndim != 2 or img.shape[0] != SIDE:
            raise ValueError(f"codec s2_image: expected (1, 96, T), got {np.asarray(array).shape}")
        if np.issubdtype(img.dtype, np.floating):
            on = img >= (self.config.threshold if threshold is None else threshold)
        else:
            on = img >= WHITE / 2
        padded = np.pad(on, ((0, 0), (1, 1))).astype(np.int8)
        edges = np.diff(padded, axis=1)
        starts, ends = np.argwhere(edges == 1), np.argwhere(edges == -1)  # row-major: paired
        step = DEFAULT_RESOLUTION // S2_TICKS_PER_BEAT
        rows = np.stack(
            [
                np.zeros(len(starts), np.int64),
                SIDE - starts[:, 0],
                starts[:, 1] * step,
                (ends[:, 1] - starts[:, 1]) * step,
                np.full(len(starts), DEFAULT_VELOCITY),
            ],
            axis=1,
        )
        meta.setdefault("resolution", DEFAULT_RESOLUTION)
        return Score.from_notes(rows, tracks=[PIANO], **meta)

    def _encode_piece(self, score: Score) -> tuple[np.ndarray, np.ndarray, int]:
        img = self.encode(score)[0]
        w = self.config.width
        n = img.shape[1] // w
        if n == 0:
            raise EncodingFilterError("length", f"{score.piece_id}: {img.shape[1]} columns, fewer than {w}")
        windows = img[:, : n * w].reshape(SIDE, n, w).transpose(1, 0, 2)[:, None]  # (n, 1, 96, w)
        starts = np.arange(n) * w
        keep = count_notes(windows, time_axis=3) >= self.config.min_notes
        if not keep.any():
            raise EncodingFilterError(
                "min_notes", f"{score.piece_id}: no image has {self.config.min_notes} notes"
            )
        return windows[keep], starts[keep], int((~keep).sum())

    def noise(self, arrays: dict[str, np.ndarray], n: int, seed: int) -> list[Score]:
        """Independent white cells at each row's white rate in the data."""
        x = arrays["x"] > 0  # (N, 1, 96, W)
        rate = x.mean(axis=(0, 1, 3))
        rng = np.random.default_rng(seed)
        cells = rng.random((n, SIDE, x.shape[3])) < rate[None, :, None]
        return [
            self.decode(c.astype(np.uint8) * WHITE, piece_id=f"noise_{i:03d}") for i, c in enumerate(cells)
        ]


CODECS.register(S2ImageCodec.name, S2ImageCodec)
