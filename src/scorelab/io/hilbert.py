"""S3's Hilbert-curve audio images: 16-bit samples along a Hilbert curve, 256 x 256 in [0, 1].

S3 (section 4.2) maps a WAV's amplitudes onto a square so that samples close in time are
close on the picture, which suits small convolution kernels: a recursive function takes
4^k samples, splits them into four quarters, places the quarters' squares in the four
quadrants and rotates/mirrors the two bottom ones, i.e. a Hilbert curve. At 44.1 kHz one
256 x 256 image holds 65,536 samples, about 1.49 s; values are scaled to [0, 1].

Here the curve is the standard iterative one (:func:`hilbert_order`, the same path
S3's recursion draws, up to the curve's orientation, which no model can tell from the
data), computed once per side as an index array, so encoding is one fancy-indexing
assignment per image and decoding the exact inverse. The scale is fixed, not per file:
a 16-bit sample ``s`` becomes ``(s + 32768) / 65535``, stored as float32 (24-bit
mantissa: every 16-bit value survives), and decoding rounds back, so encode then
decode returns the samples bit for bit. A per-file min-max scale (also "between 0 and
1") would need the minimum and maximum stored beside every image to be inverted.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

SIDE = 256  # S3's images: 256 x 256, 65,536 samples
INT16_OFFSET = 32768
INT16_SPAN = 65535


@lru_cache(maxsize=8)
def hilbert_order(side: int = SIDE) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the curve's points in order: sample ``d`` of an image goes to ``[rows[d], cols[d]]``.

    The classic distance-to-coordinates walk (Hilbert 1891; the iterative form of
    Warren, *Hacker's Delight*), vectorised over every ``d`` at once.

    Raises
    ------
    ValueError
        When ``side`` is not a power of two (the curve fills only such squares).
    """
    if side < 1 or side & (side - 1):
        raise ValueError(f"a Hilbert curve fills a square whose side is a power of two, not {side}")
    t = np.arange(side * side, dtype=np.int64)
    x = np.zeros_like(t)
    y = np.zeros_like(t)
    s = 1
    while s < side:
        rx = (t >> 1) & 1
        ry = (t ^ rx) & 1
        flip = (ry == 0) & (rx == 1)  # rotate this sub-square: mirror both axes, then swap
        x = np.where(flip, s - 1 - x, x)
        y = np.where(flip, s - 1 - y, y)
        swap = ry == 0
        x, y = np.where(swap, y, x), np.where(swap, x, y)
        x += s * rx
        y += s * ry
        t >>= 2
        s <<= 1
    rows, cols = y, x
    rows.setflags(write=False)
    cols.setflags(write=False)
    return rows, cols


def encode_samples(samples: np.ndarray, side: int = SIDE) -> np.ndarray:
    """Mono 16-bit samples -> ``(n, side, side)`` float32 images in [0, 1].

    The last image is padded with silence (sample 0) to a whole image; the number of
    real samples is ``len(samples)``, which the caller keeps to cut the padding off.

    Raises
    ------
    ValueError
        Samples that are not one-dimensional 16-bit integers.
    """
    samples = np.asarray(samples)
    if samples.ndim != 1 or samples.dtype != np.int16:
        raise ValueError(f"expected mono int16 samples, got {samples.dtype} of shape {samples.shape}")
    per = side * side
    n = max(1, -(-len(samples) // per))
    padded = np.zeros(n * per, np.int16)
    padded[: len(samples)] = samples
    scaled = (padded.astype(np.float32) + INT16_OFFSET) / INT16_SPAN
    rows, cols = hilbert_order(side)
    images = np.empty((n, side, side), np.float32)
    images[:, rows, cols] = scaled.reshape(n, per)
    return images


def decode_images(images: np.ndarray, n_samples: int | None = None) -> np.ndarray:
    """The exact inverse of :func:`encode_samples`: images -> mono int16 samples.

    Values are clipped to [0, 1] first, so a model's output (which may stray) decodes to
    valid audio; ``n_samples`` cuts the padding off.
    """
    images = np.asarray(images, np.float32)
    if images.ndim == 2:
        images = images[None]
    side = images.shape[-1]
    if images.shape[-2] != side:
        raise ValueError(f"expected square images, got shape {images.shape}")
    rows, cols = hilbert_order(side)
    scaled = np.clip(images[:, rows, cols].reshape(-1), 0.0, 1.0)
    samples = np.rint(scaled.astype(np.float64) * INT16_SPAN - INT16_OFFSET).astype(np.int16)
    return samples if n_samples is None else samples[:n_samples]
