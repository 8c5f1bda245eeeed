"""S3's Hilbert-curve audio: a piece rendered to a 44.1 kHz WAV, cut into 256 x 256 curve images.

S3 (section 4.2) trains its autoencoder on audio, not on notes: each piece is rendered
with the General MIDI soundfont the project already plays samples with (TimGM6mb,
:mod:`scorelab.io.audio`), every track on one GM ``program`` (0: acoustic grand piano,
S3's "piano"), mixed to mono 16-bit, and mapped along a Hilbert curve into images of
``side`` x ``side`` samples (65,536 = 1.49 s at 44.1 kHz; :mod:`scorelab.io.hilbert`).
Only the first ``max_images`` images of a piece are kept (0: all of it): the quick
run's budget, and the autoencoder learns sound, not form.

Style transfer (S3: trained on piano, applied to guitar): every piece is also rendered
with ``transfer_program`` (24: acoustic nylon guitar) into ``transfer``, the same notes
and the same cuts, so the sample stage can reconstruct guitar audio with the piano model.

Arrays per split: ``x`` uint16 ``(N, 1, side, side)`` holding ``sample + 32768``, so
``x / 65535`` (the encoding's ``scale``) is exactly :func:`~scorelab.io.hilbert.encode_samples`'s
float image, at half its bytes; ``transfer`` the same for the guitar rendering;
``piece_index``, ``piece_ids``, ``start_sample``.

This codec's items decode to audio (``output = "audio"``), not to Scores: the sample
stage writes WAVs and the evaluate stages measure reconstruction (MSE, SNR), since no
note metric applies to a waveform.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from scorelab.codecs.base import CODECS, Codec
from scorelab.errors import EncodingFilterError, ParamsError
from scorelab.io.hilbert import INT16_OFFSET, INT16_SPAN, decode_images, hilbert_order
from scorelab.score import Score

GM_PROGRAMS = 128


@dataclass(frozen=True)
class HilbertAudioSettings:
    """Settings of :class:`HilbertAudioCodec`; defaults are S3's (44.1 kHz, 256 x 256)."""

    sample_rate: int = 44100
    side: int = 256  # a power of two; 256 x 256 samples = 1.49 s at 44.1 kHz
    program: int = 0  # the GM program every track is rendered with (0: acoustic grand piano)
    transfer_program: int = 24  # the style-transfer rendering (24: acoustic guitar, nylon)
    max_images: int = 4  # per piece, its first images (0: the whole piece)


class HilbertAudioCodec(Codec):
    """Score -> rendered audio as Hilbert-curve images; images -> 16-bit audio (exact inverse)."""

    name = "hilbert_audio"
    settings_class = HilbertAudioSettings
    output = "audio"

    def _validate(self) -> None:
        c = self.config
        if c.sample_rate <= 0:
            raise ParamsError(f"codec hilbert_audio: sample_rate must be > 0, got {c.sample_rate}")
        if c.side < 2 or c.side & (c.side - 1):
            raise ParamsError(f"codec hilbert_audio: side must be a power of two >= 2, got {c.side}")
        for key in ("program", "transfer_program"):
            if not 0 <= getattr(c, key) < GM_PROGRAMS:
                raise ParamsError(
                    f"codec hilbert_audio: {key} must be a GM program 0-127, got {getattr(c, key)}"
                )
        if c.max_images < 0:
            raise ParamsError(f"codec hilbert_audio: max_images must be >= 0, got {c.max_images}")

    @property
    def samples_per_image(self) -> int:
        return self.config.side * self.config.side

    def describe(self) -> dict:
        info = super().describe()
        side = self.config.side
        info.update(
            shape=[1, side, side],
            seconds_per_image=self.samples_per_image / self.config.sample_rate,
            scale=INT16_SPAN,  # models see x / scale, in [0, 1]
        )
        return info

    # -- rendering ---------------------------------------------------------------------

    def render(self, score: Score, program: int) -> np.ndarray:
        """Mono 16-bit samples of ``score`` with every (non-drum) track on ``program``.

        Only notes starting inside the kept images are rendered, so a long piece costs
        about what its kept seconds cost (:meth:`images` cuts the rest).
        """
        from scorelab.io.audio import synthesize, to_pcm
        from scorelab.score import Track

        notes = score.notes
        if self.config.max_images:
            limit = self.config.max_images * self.samples_per_image / self.config.sample_rate
            notes = notes[notes["onset_s"] < limit]
        tracks = [Track(t.name, program, t.is_drum) for t in score.tracks]
        stereo = synthesize(
            score.with_notes(notes.reset_index(drop=True), tracks=tracks), self.config.sample_rate
        )
        return to_pcm(stereo.mean(axis=1))

    def images(self, pcm: np.ndarray) -> np.ndarray:
        """Mono int16 samples -> uint16 ``(N, 1, side, side)`` curve images (the last padded with silence)."""
        per, side = self.samples_per_image, self.config.side
        n = max(1, -(-len(pcm) // per))
        if self.config.max_images:
            n = min(n, self.config.max_images)
        padded = np.zeros(n * per, np.int16)
        take = min(len(pcm), n * per)
        padded[:take] = pcm[:take]
        rows, cols = hilbert_order(side)
        out = np.empty((n, side, side), np.uint16)
        out[:, rows, cols] = (padded.astype(np.int32) + INT16_OFFSET).astype(np.uint16).reshape(n, per)
        return out[:, None]

    # -- the Codec interface -------------------------------------------------------------

    def encode(self, score: Score) -> np.ndarray:
        """The piece rendered with ``program``, as uint16 curve images ``(N, 1, side, side)``."""
        return self.images(self.render(score, self.config.program))

    def decode(self, array: np.ndarray, **meta: Any) -> np.ndarray:
        """Images (uint16 as stored, or a model's [0, 1] floats) -> mono int16 samples, in order."""
        array = np.asarray(array)
        values = array.astype(np.float64) / INT16_SPAN if array.dtype.kind in "ui" else array
        side = self.config.side
        return decode_images(np.asarray(values, np.float32).reshape(-1, side, side))

    def _encode_piece(self, score: Score) -> Any:
        if len(score.notes) == 0:
            raise EncodingFilterError("empty", f"{score.piece_id}: no notes to render")
        return self.encode(score), self.images(self.render(score, self.config.transfer_program))

    def _stack(self, kept: list[tuple[Score, Any]]) -> dict[str, np.ndarray]:
        per = self.samples_per_image
        return {
            "x": np.concatenate([x for _, (x, _) in kept]),
            "transfer": np.concatenate([t for _, (_, t) in kept]),
            "piece_index": np.concatenate(
                [np.full(len(x), i, np.int32) for i, (_, (x, _)) in enumerate(kept)]
            ),
            "piece_ids": np.array([s.piece_id for s, _ in kept], dtype=np.str_),
            "start_sample": np.concatenate([np.arange(len(x), dtype=np.int64) * per for _, (x, _) in kept]),
        }

    def _split_summary(self, kept: list[tuple[Score, Any]], arrays: dict[str, np.ndarray]) -> dict:
        return {
            "shape": list(arrays["x"].shape[1:]),
            "seconds": len(arrays["x"]) * self.describe()["seconds_per_image"],
        }

    def decode_split(self, arrays: dict[str, np.ndarray], **meta: Any) -> list[np.ndarray]:
        """Each piece's audio (its images joined in order), as mono int16 samples."""
        return [self.decode(arrays["x"][arrays["piece_index"] == i]) for i in range(len(arrays["piece_ids"]))]

    def noise(self, arrays: dict[str, np.ndarray], n: int, seed: int) -> list[np.ndarray]:
        """``n`` images of Gaussian noise at the split's sample standard deviation, as int16 audio."""
        x = arrays["x"].astype(np.float64) - INT16_OFFSET
        std = float(x.std()) if x.size else 0.0
        rng = np.random.default_rng(seed)
        per = self.samples_per_image
        return [
            np.clip(np.rint(rng.normal(0.0, std, per)), -INT16_OFFSET, INT16_OFFSET - 1).astype(np.int16)
            for _ in range(n)
        ]


CODECS.register(HilbertAudioCodec.name, HilbertAudioCodec)
