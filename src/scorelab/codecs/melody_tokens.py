"""Melody as a token stream on a 16th grid (S4: Velardo's folk-song LSTM preprocessing).

One symbol per grid step: the MIDI pitch number at a note's onset, ``"_"`` while a note
(or a rest) is held, ``"r"`` where a rest starts. Songs are joined into one stream, each
followed by ``delimiter_length`` ``"/"`` symbols, so a model sees where songs end and
sampling can stop at the delimiter.

Choices where S4 (and the tutorial code it follows) leaves room:

* Vocabulary. The paper's 38 symbols were read off its data (the pitches that happen to
  occur). Ours is fixed by the settings, ``["/", "r", "_"]`` + one symbol per MIDI pitch
  in ``[pitch_low, pitch_high)``, so encodings of different corpora agree id for id.
* Rests. A Score has no rest objects, only gaps; a gap is ``"r"`` then ``"_"`` for each
  further step, as Velardo writes one notated rest. Two rests in a row in the source (a
  rest across a bar line) become one run. Rests are not checked against
  ``allowed_durations``: a gap can be several notated rests. The song is encoded from
  tick 0 (a downbeat), so a pickup starts with a rest and bar positions survive.
* Ties. The duration filter sees the Score's notes; a tied note the corpus reader has
  merged (1 + 1.5 = 2.5 quarters) is one note and must itself be an allowed duration,
  where Velardo checked each tied part.
* Monophony. Track 0 is the melody (other tracks are ignored). Overlapping notes are not
  guessed away (keeping the highest would invent a melody): the piece is rejected with
  filter ``"polyphony"``.
* Filter order (the first failing filter is the one counted): ``empty``, ``durations``,
  ``grid`` (an onset off the grid), ``polyphony``, then ``pitch_range`` after transposition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scorelab.codecs.base import CODECS, MELODY_TRACK, Codec, melody_notes
from scorelab.codecs.keys import to_reference_key
from scorelab.constants import DEFAULT_RESOLUTION, MIDI_PITCHES
from scorelab.errors import EncodingFilterError, ParamsError
from scorelab.score import Score

DELIMITER, REST, HOLD = "/", "r", "_"
SPECIAL_SYMBOLS = (DELIMITER, REST, HOLD)  # ids 0, 1, 2; pitches follow
DELIMITER_ID, REST_ID, HOLD_ID = 0, 1, 2
# S4's ACCEPTABLE_DURATIONS, in quarter lengths (16th .. whole note).
S4_DURATIONS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
_EXACT = 1e-9  # tolerance when checking that a duration in quarters is a whole number of ticks


@dataclass(frozen=True)
class MelodyTokenSettings:
    """Settings of :class:`MelodyTokenCodec`; defaults are S4's on the erk_tokens range."""

    steps_per_beat: int = 4  # grid steps per quarter note (4 = 16ths)
    transpose: bool = True  # major keys to C, minor keys to A
    allowed_durations: tuple[float, ...] = S4_DURATIONS  # quarter lengths a note may have
    delimiter_length: int = 64  # "/" symbols after every song
    pitch_low: int = 48  # lowest MIDI pitch in the vocabulary (inclusive)
    pitch_high: int = 96  # highest MIDI pitch in the vocabulary (exclusive)


class MelodyTokenCodec(Codec):
    """Score (track 0, monophonic) <-> int64 token ids, one id per grid step."""

    name = "melody_tokens"
    settings_class = MelodyTokenSettings

    def __init__(self, **settings: Any):
        super().__init__(**settings)
        self.tracks = [MELODY_TRACK]

    def represented_tracks(self) -> str:
        return "first"  # a melody: track 0

    def _validate(self) -> None:
        c = self.config
        if c.steps_per_beat <= 0 or DEFAULT_RESOLUTION % c.steps_per_beat:
            raise ParamsError(
                f"codec melody_tokens: steps_per_beat must divide the resolution "
                f"({DEFAULT_RESOLUTION}), got {c.steps_per_beat}"
            )
        if c.delimiter_length <= 0:
            raise ParamsError(f"codec melody_tokens: delimiter_length must be > 0, got {c.delimiter_length}")
        if not 0 <= c.pitch_low < c.pitch_high <= MIDI_PITCHES:
            raise ParamsError(
                f"codec melody_tokens: need 0 <= pitch_low < pitch_high <= {MIDI_PITCHES}, "
                f"got pitch_low={c.pitch_low}, pitch_high={c.pitch_high}"
            )
        if not c.allowed_durations:
            raise ParamsError("codec melody_tokens: allowed_durations is empty")
        for d in c.allowed_durations:
            steps = d * c.steps_per_beat
            if d <= 0 or abs(steps - round(steps)) > _EXACT:
                raise ParamsError(
                    f"codec melody_tokens: allowed_durations has {d}, not a positive whole "
                    f"number of steps at steps_per_beat={c.steps_per_beat}"
                )

    # Vocabulary -----------------------------------------------------------------------

    @property
    def vocab(self) -> list[str]:
        """Symbols by id: ``["/", "r", "_", "48", ..., "95"]``."""
        return [*SPECIAL_SYMBOLS, *(str(p) for p in range(self.config.pitch_low, self.config.pitch_high))]

    @property
    def step_ticks(self) -> int:
        """Ticks per grid step at the default resolution (6 for 16ths at 24)."""
        return DEFAULT_RESOLUTION // self.config.steps_per_beat

    def describe(self) -> dict:
        """Settings plus vocab, vocab_size, the special ids, step_ticks and the track."""
        vocab = self.vocab
        return {
            **super().describe(),
            "vocab": vocab,
            "vocab_size": len(vocab),
            "delimiter_id": DELIMITER_ID,
            "rest_id": REST_ID,
            "hold_id": HOLD_ID,
            "resolution": DEFAULT_RESOLUTION,
            "step_ticks": self.step_ticks,
        }

    def tokens_to_ids(self, tokens: str | Sequence[str]) -> np.ndarray:
        """Symbols (a list, or one whitespace-separated string like ``"60 _ _ r"``) to ids.

        Raises
        ------
        ValueError
            Naming the first symbol not in the vocabulary.
        """
        if isinstance(tokens, str):
            tokens = tokens.split()
        index = {s: i for i, s in enumerate(self.vocab)}
        for t in tokens:
            if str(t) not in index:
                raise ValueError(f"codec melody_tokens: symbol {t!r} is not in the vocabulary")
        return np.array([index[str(t)] for t in tokens], dtype=np.int64)

    def ids_to_tokens(self, ids: np.ndarray | Sequence[int]) -> list[str]:
        """Ids to symbols; an id outside the vocabulary becomes ``"?"``."""
        vocab = self.vocab
        return [vocab[i] if 0 <= i < len(vocab) else "?" for i in np.asarray(ids, dtype=np.int64).tolist()]

    # One song -------------------------------------------------------------------------

    def encode(self, score: Score) -> np.ndarray:
        """One song (track 0) as int64 ids, one per grid step, without the delimiter.

        Raises
        ------
        EncodingFilterError
            With filter ``empty``, ``durations``, ``grid``, ``polyphony`` or
            ``pitch_range`` (the first that fails, in that order).
        """
        return self._encode(score)[0]

    def _encode(self, score: Score) -> tuple[np.ndarray, bool]:
        """Ids of one song, and whether its key was estimated rather than read."""
        c = self.config
        pid = score.piece_id
        notes, step = melody_notes(score, c.steps_per_beat)
        onset = notes["onset"].to_numpy(np.int64)
        duration = notes["duration"].to_numpy(np.int64)
        pitch = notes["pitch"].to_numpy(np.int64)
        allowed = np.array([round(d * score.resolution) for d in c.allowed_durations])
        bad = ~np.isin(duration, allowed)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise EncodingFilterError(
                "durations",
                f"{pid}: a note lasts {duration[i] / score.resolution:g} quarters at tick "
                f"{onset[i]}, not one of {list(c.allowed_durations)}",
            )
        off = onset % step != 0
        if off.any():
            i = int(np.flatnonzero(off)[0])
            raise EncodingFilterError("grid", f"{pid}: onset at tick {onset[i]} is off the {step}-tick grid")
        overlap = onset[1:] < onset[:-1] + duration[:-1]  # notes are sorted by onset
        if overlap.any():
            i = int(np.flatnonzero(overlap)[0]) + 1
            raise EncodingFilterError("polyphony", f"{pid}: notes overlap at tick {onset[i]}")
        estimated = False
        if c.transpose:
            pitch, estimated = to_reference_key(score.key, pitch, duration)
        out = (pitch < c.pitch_low) | (pitch >= c.pitch_high)
        if out.any():
            i = int(np.flatnonzero(out)[0])
            raise EncodingFilterError(
                "pitch_range",
                f"{pid}: pitch {pitch[i]} (after transposition) is outside [{c.pitch_low}, {c.pitch_high})",
            )
        start, end = onset // step, (onset + duration) // step
        n_steps = int(end[-1])
        covered = np.zeros(n_steps + 1, dtype=np.int64)
        np.add.at(covered, start, 1)
        np.add.at(covered, end, -1)
        sounding = np.cumsum(covered)[:n_steps] > 0
        ids = np.full(n_steps, HOLD_ID, dtype=np.int64)
        # A rest starts at every silent step that follows a sounding one (or opens the song).
        ids[~sounding & np.concatenate([[True], sounding[:-1]])] = REST_ID
        ids[start] = len(SPECIAL_SYMBOLS) + pitch - c.pitch_low
        return ids, estimated

    def decode(self, array: np.ndarray, **meta: Any) -> Score:
        """Ids of one song back to a Score with one track, ``"melody"``.

        Leading delimiters are skipped (a sample may start from the delimiter, as
        Velardo's generator seeds it), then the song stops at the next delimiter, as S4's
        sampling does. Ids outside the vocabulary are dropped (they take no time). A
        note lasts from its pitch symbol to the next pitch or rest symbol; holds before
        any note are silence. Notes are at ``resolution`` ticks per quarter (24 unless
        ``meta`` says otherwise: 6 ticks per 16th).
        """
        ids = np.asarray(array, dtype=np.int64).ravel()
        ids = ids[(ids >= 0) & (ids < len(SPECIAL_SYMBOLS) + self.config.pitch_high - self.config.pitch_low)]
        first = np.flatnonzero(ids != DELIMITER_ID)
        ids = ids[first[0] :] if len(first) else ids[:0]
        stop = np.flatnonzero(ids == DELIMITER_ID)
        if len(stop):
            ids = ids[: stop[0]]
        resolution = meta.setdefault("resolution", DEFAULT_RESOLUTION)
        step = resolution // self.config.steps_per_beat
        events = np.flatnonzero(ids != HOLD_ID)  # every pitch or rest symbol
        lengths = np.diff(np.append(events, len(ids)))
        is_note = ids[events] >= len(SPECIAL_SYMBOLS)
        pitch = ids[events[is_note]] - len(SPECIAL_SYMBOLS) + self.config.pitch_low
        rows = np.stack(
            [np.zeros_like(pitch), pitch, events[is_note] * step, lengths[is_note] * step], axis=1
        )
        return Score.from_notes(rows, tracks=[MELODY_TRACK], **meta)

    # One split ------------------------------------------------------------------------

    def _encode_piece(self, score: Score) -> tuple[np.ndarray, bool]:
        return self._encode(score)

    def _stack(self, kept: list[tuple[Score, Any]]) -> dict[str, np.ndarray]:
        """``x`` the int64 stream (song, delimiter, song, delimiter, ...) and where each song is."""
        delimiter = np.full(self.config.delimiter_length, DELIMITER_ID, dtype=np.int64)
        lengths = np.array([len(ids) for _, (ids, _) in kept], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths + len(delimiter))[:-1]]).astype(np.int64)
        return {
            "x": np.concatenate([part for _, (ids, _) in kept for part in (ids, delimiter)]),
            "song_starts": starts,
            "song_lengths": lengths,
            "piece_ids": np.array([s.piece_id for s, _ in kept], dtype=np.str_),
        }

    def _split_summary(self, kept: list[tuple[Score, Any]], arrays: dict[str, np.ndarray]) -> dict:
        """How many kept songs had their key estimated (no readable key in the score)."""
        return {"keys_estimated": int(sum(est for _, (_, est) in kept)), "vocab_size": len(self.vocab)}

    def decode_split(self, arrays: dict[str, np.ndarray], **meta: Any) -> list[Score]:
        """Cut the stream back into songs (transposed, as the model sees them); ``meta`` to all."""
        x = arrays["x"]
        return [
            self.decode(x[s : s + n], **{**meta, "piece_id": str(pid)})
            for s, n, pid in zip(
                arrays["song_starts"], arrays["song_lengths"], arrays["piece_ids"], strict=True
            )
        ]

    def noise(self, arrays: dict[str, np.ndarray], n: int, seed: int) -> list[Score]:
        """Songs of i.i.d. symbols drawn with the stream's symbol frequencies (a unigram model).

        Lengths are drawn from the split's song lengths; the delimiter is never drawn.
        """
        x = arrays["x"]
        counts = np.bincount(x, minlength=len(self.vocab)).astype(np.float64)
        counts[DELIMITER_ID] = 0.0
        rng = np.random.default_rng(seed)
        lengths = rng.choice(arrays["song_lengths"], size=n)
        return [
            self.decode(
                rng.choice(len(counts), size=int(k), p=counts / counts.sum()), piece_id=f"noise_{i:03d}"
            )
            for i, k in enumerate(lengths)
        ]


CODECS.register(MelodyTokenCodec.name, MelodyTokenCodec)
