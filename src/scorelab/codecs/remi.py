"""REMI tokens through MidiTok: the token form of the modern reference model (issue 24).

REMI (Huang & Yang 2020, "Pop Music Transformer") writes a piece as bars and positions
in them, and each note as its pitch and duration tokens. This codec does not write its
own tokenizer: it configures MidiTok's :class:`miditok.REMI` (a maintained library of the
field, pinned in pyproject.toml) and keeps only the glue scorelab needs:

* Score -> symusic Score -> MidiTok ids, and back (ticks rescaled to scorelab's resolution);
* the project's stream form, as :mod:`scorelab.codecs.melody_tokens` has it: every piece of
  a split joined into one int64 stream, each followed by ``delimiter_length`` EOS tokens, so
  the likelihood trainer trains on it and the token sampler stops at EOS unchanged;
* what it chose (below), in ``encoding.json``, so sampling rebuilds the same tokenizer.

Choices:

* Grid: MidiTok's ``beat_res`` is ``{(0, max_beats): steps_per_beat}``: positions and
  durations on a 16th grid (4 per beat) up to ``max_beats`` beats; a longer note is cut
  to that length (MidiTok's rule; :mod:`scorelab.codecs.fidelity` measures what it costs).
* No velocity, tempo, time-signature, rest or chord tokens: no corpus of the seed papers
  carries dynamics, and scorelab's metrics read pitch and time only. Without
  time-signature tokens a bar is four beats, so every piece is written in 4/4 bars and
  decoded as 4/4 (the melody codecs judge Erk the same way).
* Tracks: with more than one track (the chorales' four voices) each note carries a
  ``Program_<i>`` token where ``i`` is the track's index, not its General MIDI program:
  MidiTok keys tracks by program, and the chorales' voices all play program 0. Decoding
  maps program ``i`` back to track ``i``. With one track (or ``merge_tracks``) there are no
  program tokens.
* Pitch range: the 88 piano keys by default; a piece with a note outside is rejected
  (filter ``pitch_range``) rather than silently thinned as MidiTok would do.

MidiTok is imported when a tokenizer is first needed (0.4 s here, without torch: :func:`_miditok`), never
at import.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from scorelab.codecs.base import CODECS, Codec
from scorelab.constants import DEFAULT_RESOLUTION, MIDI_PITCHES
from scorelab.errors import EncodingFilterError, ParamsError
from scorelab.score import Score, Track

EOS, PAD, BOS = "EOS_None", "PAD_None", "BOS_None"
SPECIAL_TOKENS = ("PAD", "BOS", "EOS")  # MidiTok gives them ids 0, 1, 2 in this order
REMI_TRACK = Track("piano", 0)  # the one track of a single-track or merged encoding
MAX_PROGRAM_TRACKS = 16  # Program tokens are track indices; more tracks than this is refused


@dataclass(frozen=True)
class RemiSettings:
    """Settings of :class:`RemiCodec`; MidiTok's ``TokenizerConfig`` is derived from them."""

    steps_per_beat: int = 4  # positions and durations per quarter note (MidiTok beat_res)
    max_beats: int = 8  # the longest duration token, in beats
    pitch_low: int = 21  # lowest MIDI pitch (inclusive): A0
    pitch_high: int = 109  # highest MIDI pitch (exclusive): C8 is the last
    delimiter_length: int = 1  # EOS tokens after every piece in a split's stream
    merge_tracks: bool = False  # every track's notes into one track (no Program tokens)
    min_notes: int = 1  # pieces with fewer notes are rejected (filter "empty")


class RemiCodec(Codec):
    """Score <-> MidiTok REMI ids: one int64 array per piece, a split as one EOS-delimited stream."""

    name = "remi"
    settings_class = RemiSettings

    def __init__(self, **settings: Any):
        super().__init__(**settings)
        if self.config.merge_tracks:
            self.tracks = [REMI_TRACK]

    def represented_tracks(self) -> str:
        return "merged" if self.config.merge_tracks else "all"

    def _validate(self) -> None:
        c = self.config
        if c.steps_per_beat <= 0 or DEFAULT_RESOLUTION % c.steps_per_beat:
            raise ParamsError(
                f"codec remi: steps_per_beat must divide the resolution ({DEFAULT_RESOLUTION}), "
                f"got {c.steps_per_beat}"
            )
        if c.max_beats <= 0:
            raise ParamsError(f"codec remi: max_beats must be > 0, got {c.max_beats}")
        if not 0 <= c.pitch_low < c.pitch_high <= MIDI_PITCHES:
            raise ParamsError(
                f"codec remi: need 0 <= pitch_low < pitch_high <= {MIDI_PITCHES}, "
                f"got pitch_low={c.pitch_low}, pitch_high={c.pitch_high}"
            )
        if c.delimiter_length <= 0:
            raise ParamsError(f"codec remi: delimiter_length must be > 0, got {c.delimiter_length}")
        if c.min_notes < 1:
            raise ParamsError(f"codec remi: min_notes must be >= 1, got {c.min_notes}")

    # The tokenizer --------------------------------------------------------------------

    @property
    def n_programs(self) -> int:
        """Program tokens in the vocabulary: one per track when there is more than one, else 0."""
        if self.tracks is None:
            raise ParamsError("codec remi: the tracks are not known yet (encode a split first)")
        return len(self.tracks) if len(self.tracks) > 1 else 0

    @cached_property
    def tokenizer(self):
        """MidiTok's REMI tokenizer for these settings and tracks (built once, on first use)."""
        REMI, TokenizerConfig = _miditok()

        c = self.config
        programs = list(range(self.n_programs))
        config = TokenizerConfig(
            pitch_range=(c.pitch_low, c.pitch_high),
            beat_res={(0, c.max_beats): c.steps_per_beat},
            num_velocities=1,
            use_velocities=False,
            special_tokens=list(SPECIAL_TOKENS),
            use_chords=False,
            use_rests=False,
            use_tempos=False,
            use_time_signatures=False,
            use_programs=bool(programs),
            programs=programs or [0],
            one_token_stream_for_programs=True,
        )
        return REMI(config)

    @property
    def vocab(self) -> list[str]:
        """Token names by id (MidiTok's vocabulary, in id order)."""
        by_id = {i: t for t, i in self.tokenizer.vocab.items()}
        return [by_id[i] for i in range(len(by_id))]

    @property
    def step_ticks(self) -> int:
        """Ticks per grid step at the default resolution (6 for 16ths at 24)."""
        return DEFAULT_RESOLUTION // self.config.steps_per_beat

    def describe(self) -> dict:
        """Settings, tracks and, once the tracks are known, the vocabulary and its special ids."""
        out = {**super().describe(), "resolution": DEFAULT_RESOLUTION, "step_ticks": self.step_ticks}
        if self.tracks is None:  # the vocabulary waits for the tracks (a params check before any data)
            out["vocab_from_data"] = True
        else:
            vocab = self.vocab
            out |= {
                "vocab": vocab,
                "vocab_size": len(vocab),
                "delimiter_id": vocab.index(EOS),
                "tokenizer": "miditok.REMI",
            }
        return out

    # One piece ------------------------------------------------------------------------

    def _to_symusic(self, score: Score):
        """The Score as a symusic Score at its own resolution, track i playing program i."""
        import symusic

        sym = symusic.Score(int(score.resolution))
        notes = score.notes
        n_tracks = 1 if self.config.merge_tracks else max(len(score.tracks), 1)
        for t in range(n_tracks):
            rows = notes if self.config.merge_tracks else notes[notes["track"] == t]
            track = symusic.Track(program=t if self.n_programs else 0)
            track.notes.extend(
                symusic.Note(int(on), int(d), int(p), 100)
                for on, d, p in zip(rows["onset"], rows["duration"], rows["pitch"], strict=True)
            )
            sym.tracks.append(track)
        return sym

    def encode(self, score: Score) -> np.ndarray:
        """One piece as int64 REMI ids, without the delimiter.

        Raises
        ------
        EncodingFilterError
            ``tracks`` (a track count other than the codec's), ``empty`` (fewer than
            ``min_notes`` notes), ``pitch_range`` (a note outside the range).
        """
        pid = score.piece_id
        if self.tracks is None:
            self.tracks = [REMI_TRACK] if self.config.merge_tracks else list(score.tracks)
        if not self.config.merge_tracks and len(score.tracks) != len(self.tracks):
            raise EncodingFilterError(
                "tracks", f"{pid} has {len(score.tracks)} tracks, expected {len(self.tracks)}"
            )
        if len(score.notes) < self.config.min_notes:
            raise EncodingFilterError(
                "empty", f"{pid}: {len(score.notes)} notes, fewer than {self.config.min_notes}"
            )
        pitch = score.notes["pitch"].to_numpy()
        out = (pitch < self.config.pitch_low) | (pitch >= self.config.pitch_high)
        if out.any():
            raise EncodingFilterError(
                "pitch_range",
                f"{pid}: pitch {int(pitch[out][0])} is outside "
                f"[{self.config.pitch_low}, {self.config.pitch_high})",
            )
        seq = self.tokenizer.encode(self._to_symusic(score))
        if isinstance(seq, list):  # one track, no Program tokens: MidiTok gives one sequence per track
            seq = seq[0]
        ids = np.asarray(seq.ids, dtype=np.int64)
        if len(ids) == 0:
            raise EncodingFilterError("empty", f"{pid}: MidiTok wrote no token")
        return ids

    def decode(self, array: np.ndarray, **meta: Any) -> Score:
        """Ids of one piece back to a Score (4/4, at ``meta``'s resolution or 24 ticks per quarter).

        As the melody codec: leading delimiters are skipped and the piece stops at the next
        one; ids outside the vocabulary, PAD and BOS are dropped. MidiTok decodes what its
        grammar allows (a pitch without a duration is no note), so any sequence decodes.
        """
        size = len(self.tokenizer.vocab)
        special = {self.tokenizer.vocab[t] for t in (PAD, BOS)}
        eos = self.tokenizer.vocab[EOS]
        ids = np.asarray(array, dtype=np.int64).ravel()
        ids = ids[(ids >= 0) & (ids < size)]
        first = np.flatnonzero(ids != eos)
        ids = ids[first[0] :] if len(first) else ids[:0]
        stop = np.flatnonzero(ids == eos)
        ids = ids[: stop[0]] if len(stop) else ids
        ids = [int(i) for i in ids if int(i) not in special]
        resolution = meta.setdefault("resolution", DEFAULT_RESOLUTION)
        meta.setdefault("time_signature", (4, 4))
        tracks = list(self.tracks) if self.tracks else [REMI_TRACK]
        rows = []
        if ids:
            sym = self.tokenizer.decode(ids if self.n_programs else [ids])
            scale = resolution / sym.ticks_per_quarter
            for track in sym.tracks:
                t = int(track.program) if self.n_programs else 0
                if t >= len(tracks):
                    continue
                for n in track.notes:
                    rows.append((t, n.pitch, round(n.time * scale), max(1, round(n.duration * scale))))
        arr = np.array(rows, dtype=np.int64).reshape(-1, 4)
        return Score.from_notes(arr, tracks=tracks, **meta)

    # One split ------------------------------------------------------------------------

    def _start_split(self, scores: list[Score]) -> None:
        """Fix the tracks (and so the vocabulary) from the first piece unless already known."""
        if self.tracks is None and scores:
            self.tracks = [REMI_TRACK] if self.config.merge_tracks else list(scores[0].tracks)
            if len(self.tracks) > MAX_PROGRAM_TRACKS:
                raise ParamsError(
                    f"codec remi: {len(self.tracks)} tracks; at most {MAX_PROGRAM_TRACKS} "
                    "(or merge_tracks: true)"
                )

    def _encode_piece(self, score: Score) -> np.ndarray:
        return self.encode(score)

    def _stack(self, kept: list[tuple[Score, Any]]) -> dict[str, np.ndarray]:
        """``x`` the int64 stream (piece, EOS..., piece, EOS..., ...) and where each piece is."""
        delimiter = np.full(self.config.delimiter_length, self.vocab.index(EOS), dtype=np.int64)
        lengths = np.array([len(ids) for _, ids in kept], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths + len(delimiter))[:-1]]).astype(np.int64)
        return {
            "x": np.concatenate([part for _, ids in kept for part in (ids, delimiter)]),
            "song_starts": starts,
            "song_lengths": lengths,
            "piece_ids": np.array([s.piece_id for s, _ in kept], dtype=np.str_),
        }

    def _split_summary(self, kept: list[tuple[Score, Any]], arrays: dict[str, np.ndarray]) -> dict:
        return {"vocab_size": len(self.vocab), "tokens_per_note": _per_note(kept, arrays)}

    def decode_split(self, arrays: dict[str, np.ndarray], **meta: Any) -> list[Score]:
        """Cut the stream back into pieces; ``meta`` to all."""
        x = arrays["x"]
        return [
            self.decode(x[s : s + n], **{**meta, "piece_id": str(pid)})
            for s, n, pid in zip(
                arrays["song_starts"], arrays["song_lengths"], arrays["piece_ids"], strict=True
            )
        ]

    def noise(self, arrays: dict[str, np.ndarray], n: int, seed: int) -> list[Score]:
        """Pieces of independent random notes at the split's token rates (the naive baseline).

        Random token streams would decode to almost nothing (REMI's grammar needs a
        position, a pitch and a duration in order), which is a floor no model could miss.
        So each noise piece is a real piece's length in bars and its number of notes, each
        note drawn independently: position in the piece uniformly on the grid, pitch,
        duration and track at their frequencies among the split's tokens.
        """
        rng = np.random.default_rng(seed)
        vocab = self.vocab
        counts = np.bincount(arrays["x"], minlength=len(vocab)).astype(np.float64)

        def rates(prefix: str) -> tuple[list[str], np.ndarray]:
            idx = [i for i, t in enumerate(vocab) if t.startswith(prefix)]
            c = counts[idx]
            return [vocab[i].split("_", 1)[1] for i in idx], (
                c / c.sum() if c.sum() else np.full(len(c), 1 / len(c))
            )

        pitches, p_pitch = rates("Pitch_")
        durations, p_dur = rates("Duration_")
        step = self.step_ticks
        bar_steps = 4 * self.config.steps_per_beat
        pieces = rng.choice(len(arrays["song_starts"]), size=n)
        out = []
        for i, k in enumerate(pieces):
            real = self.decode(
                arrays["x"][arrays["song_starts"][k] : arrays["song_starts"][k] + arrays["song_lengths"][k]]
            )
            n_notes = max(len(real.notes), 1)
            bars = max(1, -(-int(real.length) // (bar_steps * step)))
            onset = rng.integers(0, bars * bar_steps, n_notes) * step
            pitch = np.array([int(p) for p in pitches])[rng.choice(len(pitches), n_notes, p=p_pitch)]
            dur = np.array([_duration_ticks(d, step) for d in durations])[
                rng.choice(len(durations), n_notes, p=p_dur)
            ]
            track = rng.integers(0, len(self.tracks or [REMI_TRACK]), n_notes)
            rows = np.stack([track, pitch, onset, dur], axis=1)
            out.append(
                Score.from_notes(
                    rows,
                    tracks=list(self.tracks or [REMI_TRACK]),
                    piece_id=f"noise_{i:03d}",
                    time_signature=(4, 4),
                )
            )
        return out


def _miditok():
    """MidiTok's REMI and TokenizerConfig, imported without torch.

    ``import miditok`` also imports its PyTorch dataset helpers (``miditok.pytorch_data``,
    optional: it sits in a try/except ImportError) and with them torch, 2 of its 2.7 s
    here. An encode or evaluate stage must not load torch (issue 20), and scorelab uses
    none of those helpers, so the first import of miditok in a process sees that
    submodule as absent; it is importable again afterwards.
    """
    import sys

    if "miditok" not in sys.modules and "miditok.pytorch_data" not in sys.modules:
        sys.modules["miditok.pytorch_data"] = None  # type: ignore[assignment]
        try:
            import miditok  # noqa: F401  (the import is the point: it runs once, without torch)
        finally:
            del sys.modules["miditok.pytorch_data"]
    from miditok import REMI, TokenizerConfig

    return REMI, TokenizerConfig


def _duration_ticks(token: str, step_ticks: int) -> int:
    """MidiTok's duration token value ``"beats.steps.res"`` (e.g. ``"1.2.4"``) in ticks."""
    beats, steps, res = (int(v) for v in token.split("."))
    return (beats * res + steps) * (DEFAULT_RESOLUTION // res) if res else step_ticks


def _per_note(kept, arrays) -> float | None:
    """Tokens per note over the split (the stream's cost of a note: REMI's density)."""
    notes = sum(len(s.notes) for s, _ in kept)
    return round(float(arrays["song_lengths"].sum()) / notes, 3) if notes else None


CODECS.register(RemiCodec.name, RemiCodec)
