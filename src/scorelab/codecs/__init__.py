"""Codecs: Score <-> tensor, both ways, one class per scheme behind :class:`Codec`.

``CODECS`` maps the ``codec:`` name of a params.yaml dataset to its class; build one with
:func:`get_codec` (from params) or :func:`load_codec` (from ``encoding.json``). Each
built-in codec lives in ``scorelab/codecs/<name>.py`` and is imported the first time its
name is looked up (scorelab.lazy), so a stage imports only the codecs it uses. Import a
codec class from its module (``scorelab.codecs.pianoroll.PianoRollCodec``).
"""

from scorelab.codecs.base import CODECS, Codec, get_codec, load_codec

__all__ = ["CODECS", "Codec", "get_codec", "load_codec"]
