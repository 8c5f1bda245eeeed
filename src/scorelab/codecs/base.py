"""The codec interface: Score <-> array, one split at a time, self-describing on disk.

A codec is one encoding scheme (piano roll, melody tokens, ...) behind one base class,
as in MidiTok: ``encode``/``decode`` for one piece, ``encode_split``/``decode_split``
for a whole split (the arrays of one ``{split}.npz`` plus a summary of what was kept and
why pieces were rejected), and ``save``/``load_codec`` through ``encoding.json``.

Sampling rebuilds the codec from ``encoding.json`` alone (never from params.yaml), so
everything a codec learns from the data (its tracks) is in :meth:`Codec.describe` and is
read back by :func:`load_codec`.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from scorelab.config import from_dict
from scorelab.errors import EmptyCorpusError, EncodingFilterError, ParamsError
from scorelab.lazy import Registry
from scorelab.score import Score, Track
from scorelab.utils import write_json

ENCODING_FILE = "encoding.json"
# Built-in codecs, each defined and registered by scorelab/codecs/<name>.py (its class's
# ``name``), imported on first lookup (scorelab.lazy).
CODECS: Registry[type[Codec]] = Registry(
    "codec",
    "scorelab.codecs",
    ("frames", "hilbert_audio", "melody_tokens", "note_index", "pianoroll", "remi", "s2_image", "s3_image"),
)


def parse_settings(settings_class: type, settings: dict, codec: str) -> Any:
    """Build a codec's settings dataclass with the project's one strict helper.

    A typo in params.yaml (``step_per_beat``) would otherwise silently fall back to a
    default and produce a different dataset than the one asked for.

    Raises
    ------
    ParamsError
        On an unknown key or a value of the wrong type, naming ``codec NAME.key``.
    """
    return from_dict(settings_class, settings, f"codec {codec}")


def _jsonable(value: Any) -> Any:
    """Tuples to lists, recursively, so settings compare equal after a JSON round trip."""
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


class Codec(ABC):
    """One encoding scheme: Score <-> array, plus its shape or vocabulary.

    Subclasses set ``name`` and ``settings_class`` (a dataclass whose fields are the
    settings a dataset entry in params.yaml may give) and implement ``encode``,
    ``decode``, ``_encode_piece``, ``_stack`` and ``decode_split``.

    Parameters
    ----------
    **settings
        The dataset entry minus its ``corpus`` and ``codec`` keys; missing keys take the
        dataclass defaults.

    Raises
    ------
    ParamsError
        On an unknown setting, a wrong type or an invalid value, naming the key.
    """

    name: ClassVar[str]
    settings_class: ClassVar[type]
    # What an item decodes to: "score" (every codec but one), or "audio" (S3's Hilbert
    # curves: int16 samples). The sample and evaluate stages write and measure each kind.
    output: ClassVar[str] = "score"
    # How a decoded Score's time relates to the original's (codecs/fidelity.py compares
    # the two): "ticks" (decoded at the resolution it is given), "beats" (its own
    # resolution, same beats: S2) or "seconds" (its own resolution and tempo: S3's 0.05 s).
    decoded_time: ClassVar[str] = "ticks"
    # True for a codec whose splits are whole pieces of binary key frames (``x``,
    # ``starts``, ``lengths``): the evaluate stages then also score the frame-level
    # likelihood ladder (:mod:`scorelab.metrics.likelihood`).
    frame_likelihood: ClassVar[bool] = False

    def represented_tracks(self) -> str:
        """Which tracks of a piece the codec sets out to keep: "all", "first" (melody
        codecs) or "merged" (all in one track); what fidelity compares against."""
        return "all"

    def __init__(self, **settings: Any):
        self.config = parse_settings(self.settings_class, settings, self.name)
        # Learned from the first piece of the first split encoded, or read back from
        # encoding.json; None until then (the codec then takes each score's own tracks).
        self.tracks: list[Track] | None = None
        self._validate()

    def _validate(self) -> None:
        """Check values beyond their types (ranges, divisibility); raise ParamsError."""
        return None  # default: the types are all there is to check

    def settings(self) -> dict:
        """The settings as a JSON-ready dict (what ``encoding.json`` stores under ``settings``)."""
        return _jsonable(asdict(self.config))

    def describe(self) -> dict:
        """Settings plus derived values (shape, vocabulary, grid step, tracks).

        Everything needed to rebuild this codec and read its arrays without params.yaml.
        """
        tracks = self.tracks
        return {
            **self.settings(),
            "n_tracks": None if tracks is None else len(tracks),
            "track_names": None if tracks is None else [t.name for t in tracks],
            "tracks": None if tracks is None else [[t.name, t.program, t.is_drum] for t in tracks],
        }

    def save(self, path: Path | str) -> Path:
        """Write ``encoding.json`` = ``{"codec": name, "settings": ..., **describe()}``.

        ``path`` is a directory (the file goes inside it) or a path ending in ``.json``.
        Returns the file written.
        """
        path = Path(path)
        target = path if path.suffix == ".json" else path / ENCODING_FILE
        write_json(target, {"codec": self.name, "settings": self.settings(), **self.describe()})
        return target

    def restore(self, info: dict) -> None:
        """Take back what ``describe()`` recorded beyond the settings (the tracks), then check it.

        Raises
        ------
        ParamsError
            When a derived value stored in ``info`` (a shape, a vocabulary) differs from
            what this code derives from the same settings: the arrays on disk would then
            be read wrongly, so it is an error, not a warning.
        """
        if info.get("tracks") is not None:
            self.tracks = [Track(str(n), int(p), bool(d)) for n, p, d in info["tracks"]]
        mine = self.describe()
        for key, value in info.items():
            if key in mine and key not in ("codec", "settings") and _jsonable(value) != mine[key]:
                raise ParamsError(
                    f"codec {self.name}: encoding.json says {key}={value!r} but this code derives "
                    f"{mine[key]!r} from the same settings"
                )

    @abstractmethod
    def encode(self, score: Score) -> np.ndarray:
        """One Score to its array."""

    @abstractmethod
    def decode(self, array: np.ndarray, **meta: Any) -> Score:
        """One array back to a Score; ``meta`` goes to the Score (piece_id, tempo, ...)."""

    @abstractmethod
    def _encode_piece(self, score: Score) -> Any:
        """Encode one piece of a split; raise EncodingFilterError to reject it."""

    @abstractmethod
    def _stack(self, kept: list[tuple[Score, Any]]) -> dict[str, np.ndarray]:
        """Join the kept pieces' encodings into the arrays of one ``{split}.npz``."""

    @abstractmethod
    def decode_split(self, arrays: dict[str, np.ndarray], **meta: Any) -> list[Score]:
        """The arrays of one split back to Scores, in the form samples will have."""

    @abstractmethod
    def noise(self, arrays: dict[str, np.ndarray], n: int, seed: int) -> list[Score]:
        """``n`` pieces of a naive baseline fitted to a split's arrays (S1's "naive model").

        Random arrays with the split's marginal statistics and no structure: a model that
        does not beat this on the metrics has learned nothing the metrics can see.
        """

    def augment(self, scores: list[Score], split: str) -> list[Score]:
        """The pieces of ``split`` to encode: by default as they are.

        A codec with data augmentation (S3's transpositions and pitch noise) adds copies
        here for the training split only, so valid and test stay the corpus's own music.
        """
        return scores

    def unaugmented(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """A split's arrays without the copies :meth:`augment` added: the corpus's own music.

        What generated music is compared with (evaluate): a transposed or pitch-noised
        copy is training material, not a reference. By default nothing was added.
        """
        return arrays

    def _start_split(self, scores: list[Score]) -> None:
        """Hook run before a split is encoded (e.g. fix the expected tracks)."""
        return None  # default: nothing to learn from the split

    def _split_summary(self, kept: list[tuple[Score, Any]], arrays: dict[str, np.ndarray]) -> dict:
        """Extra summary entries of a codec (default none)."""
        return {}

    def encode_split(self, scores: list[Score]) -> tuple[dict[str, np.ndarray], dict]:
        """Encode every piece of one split; reject, count and name those a filter refuses.

        Returns
        -------
        arrays : dict of str to ndarray
            What the caller saves as one ``{split}.npz``; ``x`` always holds the data.
        summary : dict
            ``pieces_in``, ``pieces_kept``, ``items`` (``len(x)``: windows, or tokens of
            the stream), ``rejected`` (filter name -> count), ``rejected_pieces``
            (``[piece_id, reason]`` pairs), plus codec-specific entries.

        Raises
        ------
        EmptyCorpusError
            When no piece is left, naming the corpus and the filter that removed most.
        """
        scores = list(scores)
        self._start_split(scores)
        kept: list[tuple[Score, Any]] = []
        rejected: Counter[str] = Counter()
        rejected_pieces: list[list[str]] = []
        for score in scores:
            try:
                item = self._encode_piece(score)
            except EncodingFilterError as err:
                rejected[err.filter] += 1
                rejected_pieces.append([score.piece_id, str(err)])
            else:
                kept.append((score, item))
        if not kept:
            raise EmptyCorpusError(empty_message(scores, rejected, self.name))
        arrays = self._stack(kept)
        summary = {
            "pieces_in": len(scores),
            "pieces_kept": len(kept),
            "items": int(len(arrays["x"])),
            "rejected": dict(sorted(rejected.items())),
            "rejected_pieces": rejected_pieces,
            **self._split_summary(kept, arrays),
        }
        return arrays, summary

    def __eq__(self, other: object) -> bool:
        """Equal when the same scheme, the same settings and the same tracks."""
        if not isinstance(other, Codec):
            return NotImplemented
        return (self.name, self.settings(), self.tracks) == (other.name, other.settings(), other.tracks)

    __hash__ = None  # mutable (tracks are learned), so not hashable

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.settings().items())
        return f"{type(self).__name__}({args})"


class WindowedCodec(Codec):
    """A codec whose pieces become fixed-size windows: piano rolls, S2's and S3's images.

    Its ``_encode_piece`` returns ``(windows (N, *shape), start steps (N,), windows
    dropped by min_notes)``; the split's arrays, summary and decoding are the same for
    every such codec, so they live here once.
    """

    def _stack(self, kept: list[tuple[Score, Any]]) -> dict[str, np.ndarray]:
        """``x`` uint8 (N, *shape); ``piece_index`` int32 (N,) into ``piece_ids``; ``start_step``."""
        return {
            "x": np.concatenate([w for _, (w, _, _) in kept]).astype(np.uint8),
            "piece_index": np.concatenate(
                [np.full(len(w), i, dtype=np.int32) for i, (_, (w, _, _)) in enumerate(kept)]
            ),
            "piece_ids": np.array([s.piece_id for s, _ in kept], dtype=np.str_),
            "start_step": np.concatenate([st for _, (_, st, _) in kept]).astype(np.int32),
        }

    def _split_summary(self, kept: list[tuple[Score, Any]], arrays: dict[str, np.ndarray]) -> dict:
        """Windows dropped by min_notes inside kept pieces, and the window shape."""
        return {
            "windows_dropped": {"min_notes": int(sum(d for _, (_, _, d) in kept))},
            "shape": list(arrays["x"].shape[1:]),
        }

    def decode_split(self, arrays: dict[str, np.ndarray], **meta: Any) -> list[Score]:
        """One Score per window, ``piece_id`` ``f"{piece}@{start_step}"``; ``meta`` to every Score."""
        ids = arrays["piece_ids"]
        return [
            self.decode(x, **{**meta, "piece_id": f"{ids[i]}@{int(s)}"})
            for x, i, s in zip(arrays["x"], arrays["piece_index"], arrays["start_step"], strict=True)
        ]


def empty_message(scores: list[Score], rejected: Counter, codec: str) -> str:
    """The EmptyCorpusError message: which corpus, which filter removed most, how many."""
    corpus = scores[0].corpus if scores else "?"
    if not scores:
        return f"corpus {corpus or '?'}: no piece to encode with codec {codec}"
    worst, count = max(rejected.items(), key=lambda kv: (kv[1], kv[0]))
    return f"corpus {corpus or '?'}: no piece left after filter {worst!r} ({count} of {len(scores)} rejected)"


def melody_notes(score: Score, steps_per_beat: int) -> tuple[Any, int]:
    """Track 0's notes and the grid step in ticks, or the ``empty``/``grid`` filter error.

    The checks every melody codec makes first (melody tokens, note index).

    Raises
    ------
    EncodingFilterError
        ``empty`` when track 0 has no notes; ``grid`` when the score's resolution is not
        a multiple of ``steps_per_beat``.
    """
    pid = score.piece_id
    notes = score.track_notes(0)
    if len(notes) == 0:
        raise EncodingFilterError("empty", f"{pid}: track 0 has no notes")
    if score.resolution % steps_per_beat:
        raise EncodingFilterError(
            "grid", f"{pid}: resolution {score.resolution} is not divisible by steps_per_beat"
        )
    return notes, score.resolution // steps_per_beat


def get_codec(name: str, settings: dict | None = None) -> Codec:
    """Build the codec registered as ``name`` with ``settings`` (a dataset entry's codec keys).

    Raises
    ------
    ValueError
        When ``name`` is not in ``CODECS``; the message lists the valid names.
    ParamsError
        On an unknown or mistyped setting.
    """
    if name not in CODECS:
        raise ValueError(f"unknown codec {name!r}; valid codecs: {', '.join(sorted(CODECS))}")
    return CODECS[name](**(settings or {}))


def check_dataset(params: dict, name: str) -> None:
    """Dataset ``name``'s codec settings, through its codec (which alone is imported).

    Raises
    ------
    ParamsError
        Naming the dataset: an unknown codec or an unknown or mistyped setting.
    """
    from scorelab.params import resolve_dataset

    _, codec, settings = resolve_dataset(params, name)
    try:
        get_codec(codec, settings)
    except (ParamsError, ValueError, TypeError) as exc:
        raise ParamsError(f"datasets.{name}: {exc}") from exc


def load_codec(path_or_dict: Path | str | dict) -> Codec:
    """Rebuild a codec from ``encoding.json`` (a file, its directory, or the parsed dict).

    Raises
    ------
    ParamsError
        When the file lacks ``codec``/``settings`` or disagrees with this code.
    """
    if isinstance(path_or_dict, dict):
        info = path_or_dict
    else:
        path = Path(path_or_dict)
        if path.is_dir():
            path = path / ENCODING_FILE
        info = json.loads(path.read_text())
    if "codec" not in info or "settings" not in info:
        raise ParamsError(f"encoding description lacks 'codec' or 'settings': keys {sorted(info)}")
    codec = get_codec(info["codec"], info["settings"])
    codec.restore(info)
    return codec


# Helpers more than one codec uses. They live here, not in one codec's module, because a
# DVC encode stage depends on its own codec's file only (scorelab.lazy): a codec imports
# base.py (and keys.py), never another codec.
MELODY_TRACK = Track("melody")


def half_up(x: np.ndarray) -> np.ndarray:
    """Round half up (``np.round`` rounds half to even, which would move grid edges oddly)."""
    return np.floor(np.asarray(x, dtype=np.float64) + 0.5).astype(np.int64)


def count_notes(windows: np.ndarray, time_axis: int = 2) -> np.ndarray:
    """Notes in each window (``(N, K, T, P)`` by default), counted as decoding would see them.

    A note is a run of on cells along ``time_axis``, so a note held into the window counts
    once and a repeat with no gap does not count again. S2's images (N, 1, 96, W) run
    along axis 3.
    """
    on = np.moveaxis(windows.astype(bool), time_axis, -1)
    before = np.zeros_like(on)
    before[..., 1:] = on[..., :-1]
    return (on & ~before).sum(axis=tuple(range(1, on.ndim)))
