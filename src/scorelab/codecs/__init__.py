"""Codecs: Score <-> tensor, both ways, one class per scheme behind :class:`Codec`.

``CODECS`` maps the ``codec:`` name of a params.yaml dataset to its class; build one with
:func:`get_codec` (from params) or :func:`load_codec` (from ``encoding.json``).
"""

from scorelab.codecs.base import Codec, get_codec, load_codec
from scorelab.codecs.hilbert_audio import HilbertAudioCodec
from scorelab.codecs.melody_tokens import MelodyTokenCodec
from scorelab.codecs.note_index import NoteIndexCodec
from scorelab.codecs.pianoroll import PianoRollCodec
from scorelab.codecs.s2_image import S2ImageCodec
from scorelab.codecs.s3_image import S3ImageCodec

CODECS: dict[str, type[Codec]] = {
    PianoRollCodec.name: PianoRollCodec,
    MelodyTokenCodec.name: MelodyTokenCodec,
    NoteIndexCodec.name: NoteIndexCodec,
    S2ImageCodec.name: S2ImageCodec,
    S3ImageCodec.name: S3ImageCodec,
    HilbertAudioCodec.name: HilbertAudioCodec,
}

__all__ = [
    "CODECS",
    "Codec",
    "HilbertAudioCodec",
    "MelodyTokenCodec",
    "PianoRollCodec",
    "S2ImageCodec",
    "S3ImageCodec",
    "get_codec",
    "load_codec",
]
