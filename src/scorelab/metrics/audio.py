"""Audio reconstruction metrics: S3's Hilbert-curve autoencoder judged on held-out audio.

No note metric applies to a waveform, so an audio model is judged by how well it gives
its input back:

- ``mse``: the mean squared error on the images in [0, 1], the autoencoder's own
  training loss (S3 plots it);
- ``snr_db``: the signal-to-noise ratio ``10 log10(sum s^2 / sum (s - s_hat)^2)`` with
  ``s = 2v - 1``, the audio in [-1, 1] (silence is 0 there, so the ratio is that of the
  sound to the error). Summed over the whole set, as the trainer's ``valid_snr_db``:
  one loud image does not weigh like one silent one.

0 dB is what returning silence scores; +inf a perfect copy. The per-image values go to
a table for the report's distributions.
"""

from __future__ import annotations

import math

import numpy as np


def snr_db(reference: np.ndarray, output: np.ndarray) -> float:
    """SNR in dB of ``output`` against ``reference``, both images in [0, 1] (centred as 2v - 1)."""
    ref = 2.0 * np.asarray(reference, np.float64) - 1.0
    err = 2.0 * (np.asarray(reference, np.float64) - np.asarray(output, np.float64))
    signal, noise = float(np.sum(ref * ref)), float(np.sum(err * err))
    if noise == 0:
        return math.inf
    return 10.0 * math.log10(signal / noise) if signal > 0 else -math.inf


def reconstruction(reference: np.ndarray, output: np.ndarray) -> dict:
    """``{"mse", "snr_db", "items"}`` of a set plus ``per_item`` lists (``mse``, ``snr_db``).

    Raises
    ------
    ValueError
        When the two arrays' shapes differ.
    """
    reference, output = np.asarray(reference, np.float64), np.asarray(output, np.float64)
    if reference.shape != output.shape:
        raise ValueError(f"reference {reference.shape} and output {output.shape} differ in shape")
    n = len(reference)
    if n == 0:
        return {"mse": None, "snr_db": None, "items": 0, "per_item": {"mse": [], "snr_db": []}}
    per_mse = ((reference - output) ** 2).reshape(n, -1).mean(axis=1)
    per_snr = [snr_db(r, o) for r, o in zip(reference, output, strict=True)]
    return {
        "mse": float(per_mse.mean()),
        "snr_db": snr_db(reference, output),
        "items": n,
        "per_item": {"mse": per_mse.tolist(), "snr_db": per_snr},
    }


def audio_stats(pcm_images: np.ndarray, seconds_per_image: float) -> dict:
    """``{"images", "seconds", "rms_dbfs"}`` of a split's uint16 curve images (``sample + 32768``).

    ``rms_dbfs``: 20 log10 of the root mean square of the samples over full scale
    (32768), so a full-scale square wave is 0 dBFS and silence -inf.
    """
    x = np.asarray(pcm_images, np.float64) - 32768.0
    rms = math.sqrt(float(np.mean(x * x))) if x.size else 0.0
    return {
        "images": int(len(pcm_images)),
        "seconds": round(len(pcm_images) * seconds_per_image, 3),
        "rms_dbfs": 20 * math.log10(rms / 32768.0) if rms > 0 else -math.inf,
    }
