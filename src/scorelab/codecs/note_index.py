"""One integer per note or chord, scaled to [-1, 1] (S4's GAN input).

What S4's own code does (paper, Appendix A.2.1):

* each song's notes are read in order (music21 ``flat.notes``): a single note becomes
  its pitch, a chord the ``'.'``-joined pitch set; rests and durations are discarded;
* all songs are concatenated into one stream, and the training sequences are every
  window of 100 consecutive items (stride 1) across the whole stream;
* the integer ids are scaled to [-1, 1] as ``(id - V/2) / (V/2)``, V the vocabulary size;
* generated values are decoded with ``x * V/2 + V/2``, truncated to int and looked up;
  every output item is placed 0.5 quarter notes after the previous one.

What we keep: one item per event, the concatenated stream, windows of ``seq_len`` at
stride ``hop`` (100 and 1 by default), S4's scaling formula. What we change, and why:

* Rounding, not truncation: ``id = round(x * V/2 + V/2)`` clipped to ``[0, V-1]``, the
  nearest vocabulary entry (truncation maps the band just below an id to the one before).
* A musical vocabulary order. S4 sorted the pitch-name strings, so neighbouring ids were
  unrelated notes and a small error in the generator's output became an arbitrary jump.
  Ours sorts rests first, then by (lowest pitch, number of pitches, the pitch tuple,
  duration): a near miss is a nearby note or a chord on the same bass.
* Durations and rests are kept by default (``keep_durations``, ``keep_rests``): a symbol
  is (pitches, duration in grid steps), a gap is a rest symbol, so the output has rhythm.
  ``keep_durations: false`` is S4's choice: pitches only, no rests, every decoded event
  ``fixed_duration_steps`` long (2 steps at 4 per beat = S4's 0.5 quarter offset).

Events. Track 0 only (the melody/lead line; other tracks are ignored). Onsets are
quantised to the grid (half up); the notes starting on one grid step form one event (a
note or a chord; the same pitch twice counts once). A chord lasts as long as its longest
note, quantised (half up, at least one step), but never past the next event's onset:
decoding lays events end to end, so an overlap would shift every later event; such
clipped events are counted in the split summary (``durations_clipped``). The gap from
the end of one event to the next onset is a rest, as is a gap before the first onset
(the song is read from tick 0, as ``melody_tokens`` does). The vocabulary is read off
the first split encoded (train), or off the first piece when :meth:`encode` is called
on a codec that has none; a later event missing from it becomes the nearest entry (see
:func:`nearest_symbol`), counted as ``unknown_events``, never an error.

Symbols in ``encoding.json`` are strings: ``"60.64.67:4"`` (a C major triad for 4 steps),
``"60:8"`` (a note), ``"r:2"`` (a rest); without durations ``"60.64.67"``, ``"60"``.

Shapes: ``encode`` -> int64 ``(E,)`` event ids; a split's ``x`` float32 ``(N, seq_len)``
in [-1, 1), ``N = (len(stream) - seq_len) // hop + 1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scorelab.codecs.base import CODECS, MELODY_TRACK, Codec, half_up, melody_notes
from scorelab.codecs.keys import to_reference_key
from scorelab.constants import DEFAULT_RESOLUTION, MIDI_PITCHES
from scorelab.errors import EncodingFilterError, ParamsError
from scorelab.score import Score

REST = "r"
# (pitches ascending, duration in steps); () is a rest; steps None without durations.
Symbol = tuple[tuple[int, ...], int | None]


@dataclass(frozen=True)
class NoteIndexSettings:
    """Settings of :class:`NoteIndexCodec`; defaults keep rhythm (S4: keep_durations false)."""

    steps_per_beat: int = 4  # grid steps per quarter note (4 = 16ths)
    seq_len: int = 100  # events per training window (S4: 100)
    hop: int = 1  # a window starts every hop events (S4: 1)
    keep_durations: bool = True  # symbol = (pitches, steps); false = pitches only (S4)
    keep_rests: bool = True  # gaps become rest symbols (only with keep_durations)
    fixed_duration_steps: int = 2  # event length when decoding without durations (S4: 0.5 quarter)
    transpose: bool = False  # songs to C major / A minor first (S4's GAN did not)


# Symbols ---------------------------------------------------------------------------------


def symbol_text(symbol: Symbol) -> str:
    """``((60, 64, 67), 4)`` -> ``"60.64.67:4"``; ``((), 2)`` -> ``"r:2"``; ``((60,), None)`` -> ``"60"``."""
    pitches, steps = symbol
    head = ".".join(str(p) for p in pitches) if pitches else REST
    return head if steps is None else f"{head}:{steps}"


def parse_symbol(text: str) -> Symbol:
    """Inverse of :func:`symbol_text`.

    Raises
    ------
    ValueError
        When ``text`` is not a symbol (pitches not ascending, out of 0-127, a duration
        that is not a positive integer, a rest without a duration).
    """
    head, sep, tail = str(text).partition(":")
    try:
        steps = int(tail) if sep else None
        pitches = () if head == REST else tuple(int(p) for p in head.split("."))
    except ValueError:
        raise ValueError(f"not a note_index symbol: {text!r}") from None
    ascending = all(a < b for a, b in zip(pitches, pitches[1:], strict=False))
    in_range = all(0 <= p < MIDI_PITCHES for p in pitches)
    if not ascending or not in_range or (steps is not None and steps <= 0) or (not pitches and steps is None):
        raise ValueError(f"not a note_index symbol: {text!r}")
    return pitches, steps


def symbol_sort_key(symbol: Symbol) -> tuple:
    """Rests first (by length), then (lowest pitch, number of pitches, pitches, duration)."""
    pitches, steps = symbol
    return (1 if pitches else 0, pitches[0] if pitches else 0, len(pitches), pitches, steps or 0)


def symbol_distance(a: Symbol, b: Symbol) -> tuple[int, ...]:
    """How far apart two symbols are, compared in the order of :func:`symbol_sort_key`.

    ``(rest vs note, |lowest pitch difference|, |difference in pitch count|, pitches in
    one but not the other, |duration difference|)``, compared as a tuple.
    """
    (pa, sa), (pb, sb) = a, b
    return (
        int(bool(pa) != bool(pb)),
        abs((pa[0] if pa else 0) - (pb[0] if pb else 0)),
        abs(len(pa) - len(pb)),
        len(set(pa) ^ set(pb)),
        abs((sa or 0) - (sb or 0)),
    )


def nearest_symbol(symbol: Symbol, vocab: Sequence[Symbol]) -> int:
    """Id of the vocabulary entry nearest ``symbol`` by :func:`symbol_distance` (first on ties)."""
    return min(range(len(vocab)), key=lambda i: symbol_distance(symbol, vocab[i]))


# Scaling (S4) ----------------------------------------------------------------------------


def ids_to_unit(ids: np.ndarray, vocab_size: int) -> np.ndarray:
    """S4's scaling of ids to [-1, 1): ``(id - V/2) / (V/2)``, float32."""
    half = np.float32(vocab_size / 2)
    return (np.asarray(ids, dtype=np.float32) - half) / half  # float32 throughout: x can be large


def unit_to_ids(x: np.ndarray, vocab_size: int) -> np.ndarray:
    """Inverse of :func:`ids_to_unit`: ``round(x * V/2 + V/2)`` clipped to ``[0, V-1]``.

    S4 truncates; rounding (half up) snaps to the nearest vocabulary entry instead.
    """
    half = vocab_size / 2
    return np.clip(half_up(np.asarray(x, dtype=np.float64) * half + half), 0, vocab_size - 1)


# The codec -------------------------------------------------------------------------------


class NoteIndexCodec(Codec):
    """Score (track 0) <-> int64 ids, one per note, chord or rest; windows scaled to [-1, 1]."""

    name = "note_index"
    settings_class = NoteIndexSettings

    def __init__(self, **settings: Any):
        super().__init__(**settings)
        self.tracks = [MELODY_TRACK]
        # Symbols by id, sorted by symbol_sort_key; learned from the first split encoded.
        self.vocab: list[Symbol] | None = None

    def represented_tracks(self) -> str:
        return "first"  # a melody: track 0

    def _validate(self) -> None:
        c = self.config
        if c.steps_per_beat <= 0 or DEFAULT_RESOLUTION % c.steps_per_beat:
            raise ParamsError(
                f"codec note_index: steps_per_beat must divide the resolution "
                f"({DEFAULT_RESOLUTION}), got {c.steps_per_beat}"
            )
        for key in ("seq_len", "hop", "fixed_duration_steps"):
            if getattr(c, key) <= 0:
                raise ParamsError(f"codec note_index: {key} must be > 0, got {getattr(c, key)}")

    # Derived values -------------------------------------------------------------------

    @property
    def step_ticks(self) -> int:
        """Ticks per grid step at the default resolution (6 for 16ths at 24)."""
        return DEFAULT_RESOLUTION // self.config.steps_per_beat

    @property
    def vocab_size(self) -> int | None:
        """V, or None before a vocabulary is learned."""
        return None if self.vocab is None else len(self.vocab)

    def describe(self) -> dict:
        """Settings plus vocab (symbol strings), vocab_size, step_ticks, shape, value_range."""
        return {
            **super().describe(),
            "vocab": None if self.vocab is None else [symbol_text(s) for s in self.vocab],
            "vocab_size": self.vocab_size,
            "resolution": DEFAULT_RESOLUTION,
            "step_ticks": self.step_ticks,
            "shape": [self.config.seq_len],
            "value_range": [-1.0, 1.0],
        }

    def restore(self, info: dict) -> None:
        """Take back the vocabulary (in its stored order: the ids on disk follow it), then check."""
        if info.get("vocab") is not None:
            try:
                self.vocab = [parse_symbol(t) for t in info["vocab"]]
            except ValueError as err:
                raise ParamsError(f"codec note_index: encoding.json vocab: {err}") from None
            if any((s is None) == self.config.keep_durations for _, s in self.vocab):
                raise ParamsError(
                    f"codec note_index: encoding.json vocab does not match keep_durations="
                    f"{self.config.keep_durations}"
                )
        super().restore(info)

    def __eq__(self, other: object) -> bool:
        """Equal when the same settings, tracks and vocabulary."""
        if not isinstance(other, NoteIndexCodec):
            return NotImplemented
        return super().__eq__(other) and self.vocab == other.vocab

    __hash__ = None  # mutable (the vocabulary is learned)

    def learn_vocab(self, symbols: Sequence[Symbol]) -> None:
        """Fix the vocabulary: the distinct ``symbols``, sorted by :func:`symbol_sort_key`."""
        self.vocab = sorted(set(symbols), key=symbol_sort_key)

    def symbols_to_ids(self, symbols: Sequence[Symbol]) -> tuple[np.ndarray, int]:
        """Ids of ``symbols``, and how many were unknown (each snapped to its nearest entry).

        Raises
        ------
        ValueError
            When no vocabulary has been learned or restored yet.
        """
        vocab = self._require_vocab()
        index = {s: i for i, s in enumerate(vocab)}
        unknown = [s for s in symbols if s not in index]
        index.update({s: nearest_symbol(s, vocab) for s in set(unknown)})  # one search per symbol
        return np.array([index[s] for s in symbols], dtype=np.int64).reshape(-1), len(unknown)

    def _require_vocab(self) -> list[Symbol]:
        if self.vocab is None:
            raise ValueError("codec note_index: no vocabulary yet; encode a split or load encoding.json")
        return self.vocab

    # One song -------------------------------------------------------------------------

    def events(self, score: Score) -> tuple[list[Symbol], bool, int]:
        """The event symbols of track 0, whether the key was estimated, and events clipped.

        Raises
        ------
        EncodingFilterError
            With filter ``empty`` (track 0 has no notes), ``grid`` (resolution not a
            multiple of steps_per_beat) or ``pitch_range`` (outside 0-127 after
            transposition), the first that fails in that order.
        """
        c = self.config
        pid = score.piece_id
        notes, step = melody_notes(score, c.steps_per_beat)
        pitch = notes["pitch"].to_numpy(np.int64)
        duration = notes["duration"].to_numpy(np.int64)
        estimated = False
        if c.transpose:
            pitch, estimated = to_reference_key(score.key, pitch, duration)
            out = (pitch < 0) | (pitch >= MIDI_PITCHES)
            if out.any():
                raise EncodingFilterError(
                    "pitch_range", f"{pid}: pitch {pitch[out][0]} after transposition is outside 0-127"
                )
        start = half_up(notes["onset"].to_numpy(np.int64) / step)
        steps = np.maximum(half_up(duration / step), 1)
        onsets, group = np.unique(start, return_inverse=True)  # onsets ascending
        longest = np.zeros(len(onsets), dtype=np.int64)
        np.maximum.at(longest, group, steps)
        nxt = np.append(onsets[1:], onsets[-1] + longest[-1])
        length = np.minimum(longest, nxt - onsets)  # never past the next onset
        clipped = int((length < longest).sum()) if c.keep_durations else 0
        gap = np.concatenate([[onsets[0]], nxt[:-1] - (onsets[:-1] + length[:-1])])  # rest before each
        chords: list[set[int]] = [set() for _ in onsets]
        for g, p in zip(group.tolist(), pitch.tolist(), strict=True):
            chords[g].add(p)
        symbols: list[Symbol] = []
        for pitches, n, rest in zip(chords, length.tolist(), gap.tolist(), strict=True):
            if not c.keep_durations:
                symbols.append((tuple(sorted(pitches)), None))
                continue
            if rest > 0 and c.keep_rests:
                symbols.append(((), rest))
            symbols.append((tuple(sorted(pitches)), n))
        return symbols, estimated, clipped

    def encode(self, score: Score) -> np.ndarray:
        """One song as int64 ids ``(E,)``, one per event.

        A codec with no vocabulary yet takes this song's symbols as its vocabulary.
        Events missing from the vocabulary become the nearest entry.

        Raises
        ------
        EncodingFilterError
            As :meth:`events`.
        """
        symbols = self.events(score)[0]
        if self.vocab is None:
            self.learn_vocab(symbols)
        return self.symbols_to_ids(symbols)[0]

    def decode(self, array: np.ndarray, **meta: Any) -> Score:
        """Ids ``(E,)`` (any integer dtype) or model outputs in [-1, 1] (floats) to a Score.

        Floats become ids by :func:`unit_to_ids`; integer ids outside the vocabulary are
        clipped into it. Events are laid end to end from tick 0 (a rest advances time);
        without durations each event lasts ``fixed_duration_steps``. One track,
        ``"melody"``, at ``resolution`` ticks per quarter (24 unless ``meta`` says so).
        """
        vocab = self._require_vocab()
        array = np.asarray(array).ravel()
        if np.issubdtype(array.dtype, np.floating):
            ids = unit_to_ids(array, len(vocab))
        else:
            ids = np.clip(array.astype(np.int64), 0, len(vocab) - 1)
        resolution = meta.setdefault("resolution", DEFAULT_RESOLUTION)
        step = resolution // self.config.steps_per_beat
        rows = []
        t = 0
        for i in ids.tolist():
            pitches, steps = vocab[i]
            n = self.config.fixed_duration_steps if steps is None else steps
            rows.extend((0, p, t * step, n * step) for p in pitches)
            t += n
        return Score.from_notes(np.array(rows, dtype=np.int64).reshape(-1, 4), tracks=[MELODY_TRACK], **meta)

    # One split ------------------------------------------------------------------------

    def _encode_piece(self, score: Score) -> tuple[list[Symbol], bool, int]:
        return self.events(score)

    def _stack(self, kept: list[tuple[Score, Any]]) -> dict[str, np.ndarray]:
        """``stream`` int64, where each song is, and ``x`` float32 ``(N, seq_len)`` windows in [-1, 1).

        The first split encoded (train) fixes the vocabulary.

        A split whose songs hold fewer events than ``seq_len`` (a tiny test split) has no
        window: ``x`` is empty, (0, seq_len), and its stream still decodes. A trainer given
        an empty training split refuses it with the shape in the message.
        """
        if self.vocab is None:
            self.learn_vocab([s for _, (symbols, _, _) in kept for s in symbols])
        ids = [self.symbols_to_ids(symbols)[0] for _, (symbols, _, _) in kept]
        lengths = np.array([len(i) for i in ids], dtype=np.int64)
        stream = np.concatenate(ids)
        seq_len = self.config.seq_len
        if len(stream) < seq_len:
            windows = np.zeros((0, seq_len), dtype=np.int64)
        else:
            windows = np.lib.stride_tricks.sliding_window_view(stream, seq_len)[:: self.config.hop]
        return {
            "x": ids_to_unit(windows, len(self.vocab)),  # (N, seq_len)
            "stream": stream,
            "song_starts": np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64),
            "song_lengths": lengths,
            "piece_ids": np.array([s.piece_id for s, _ in kept], dtype=np.str_),
        }

    def _split_summary(self, kept: list[tuple[Score, Any]], arrays: dict[str, np.ndarray]) -> dict:
        """Events, events not in the vocabulary (snapped), durations clipped, keys estimated."""
        known = set(self._require_vocab())
        return {
            "events": int(len(arrays["stream"])),
            "unknown_events": int(sum(s not in known for _, (symbols, _, _) in kept for s in symbols)),
            "durations_clipped": int(sum(c for _, (_, _, c) in kept)),
            "keys_estimated": int(sum(est for _, (_, est, _) in kept)),
            "vocab_size": self.vocab_size,
        }

    def decode_split(self, arrays: dict[str, np.ndarray], **meta: Any) -> list[Score]:
        """One Score per non-overlapping window of ``seq_len`` ids of the stream, as samples are.

        Windows start at 0, seq_len, 2 * seq_len, ...; a last partial window is dropped
        unless it is the only one. ``piece_id`` is ``f"window@{start}"``.
        """
        stream = arrays["stream"]
        seq_len = self.config.seq_len
        starts = range(0, max(len(stream) - seq_len + 1, min(len(stream), 1)), seq_len)
        return [self.decode(stream[s : s + seq_len], **{**meta, "piece_id": f"window@{s}"}) for s in starts]

    def noise(self, arrays: dict[str, np.ndarray], n: int, seed: int) -> list[Score]:
        """``n`` sequences of ``seq_len`` ids drawn i.i.d. with the stream's frequencies (unigram)."""
        vocab = self._require_vocab()
        counts = np.bincount(arrays["stream"], minlength=len(vocab)).astype(np.float64)
        rng = np.random.default_rng(seed)
        ids = rng.choice(len(vocab), size=(n, self.config.seq_len), p=counts / counts.sum())
        return [self.decode(row, piece_id=f"noise_{i:03d}") for i, row in enumerate(ids)]


CODECS.register(NoteIndexCodec.name, NoteIndexCodec)
