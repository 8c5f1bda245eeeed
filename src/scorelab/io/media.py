"""Small, byte-stable Ogg Vorbis clips of rendered samples, for the report to carry in git.

Why: the report's players used to point into ``samples/``, a DVC output that a fresh
clone does not have (no reachable remote holds it), so none of them played. The report
stage now copies what it shows into ``reports/media/``: each clip mono, at most a few
seconds, Ogg Vorbis (every browser plays it), within a size budget the report states.

Why the serial is rewritten: libsndfile gives every Ogg stream a random serial number
(bytes 14-17 of each page header, covered by the page's CRC), so the same WAV encoded
twice gave two files that differed in those bytes only (measured). A fixed serial and
the recomputed CRCs make the same input give the same bytes, as every output here must.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np

from scorelab.utils import atomic_path

OGG_SERIAL = 0x5C0E1AB0  # any fixed value: one stream per file
VORBIS_LEVEL = 0.8  # libsndfile's compression level (0 best quality .. 1 smallest): ~4 KB/s mono 22 kHz


def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    return table


_CRC = _crc_table()


def ogg_crc(data: bytes) -> int:
    """The Ogg page checksum: CRC-32, polynomial 0x04C11DB7, MSB first, initial 0, no final xor."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC[((crc >> 24) ^ byte) & 0xFF]
    return crc


def with_fixed_serial(data: bytes, serial: int = OGG_SERIAL) -> bytes:
    """``data`` (an Ogg stream) with every page's serial set to ``serial`` and its CRC redone.

    Raises
    ------
    ValueError
        When ``data`` is not a sequence of whole Ogg pages.
    """
    out = bytearray(data)
    pos = 0
    while pos < len(out):
        if out[pos : pos + 4] != b"OggS" or pos + 27 > len(out):
            raise ValueError(f"not an Ogg page at byte {pos}")
        n_segments = out[pos + 26]
        body = sum(out[pos + 27 : pos + 27 + n_segments])
        end = pos + 27 + n_segments + body
        if end > len(out):
            raise ValueError(f"Ogg page at byte {pos} runs past the end")
        struct.pack_into("<I", out, pos + 14, serial)
        struct.pack_into("<I", out, pos + 22, 0)
        struct.pack_into("<I", out, pos + 22, ogg_crc(bytes(out[pos:end])))
        pos = end
    return bytes(out)


def clip_to_ogg(wav: Path | str, out: Path | str, max_seconds: float) -> int:
    """Write the first ``max_seconds`` of ``wav``, mixed to mono, as Ogg Vorbis; return its bytes.

    The same WAV and length give the same bytes (:func:`with_fixed_serial`).
    """
    import soundfile as sf

    x, rate = sf.read(str(wav), dtype="float64", always_2d=True)
    mono = x.mean(axis=1)[: max(1, int(round(max_seconds * rate)))]
    buf = io.BytesIO()
    sf.write(
        buf, np.ascontiguousarray(mono), rate, format="OGG", subtype="VORBIS", compression_level=VORBIS_LEVEL
    )
    data = with_fixed_serial(buf.getvalue())
    with atomic_path(out) as tmp:
        Path(tmp).write_bytes(data)
    return len(data)
