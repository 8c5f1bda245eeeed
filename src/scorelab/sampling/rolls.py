"""Piano rolls from an adversarial checkpoint: new music, or accompaniment for melodies.

S0's two generation tasks with one generator: with no melody the generator's
condition is all zeros (unconditional 4-voice music); with melodies it writes alto,
tenor and bass under each given soprano, whose roll is returned unchanged as track 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from scorelab.sampling.common import resolve_checkpoint
from scorelab.training.checkpoint import Checkpoint
from scorelab.training.device import pick_device

BATCH = 64  # samples per forward pass; results do not depend on it (G is in eval mode)


@torch.no_grad()
def sample_rolls(
    checkpoint: Checkpoint | Path | str,
    n: int,
    seed: int,
    melody: np.ndarray | None = None,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Sample ``n`` multi-track rolls of note probabilities.

    Parameters
    ----------
    checkpoint
        Path of an adversarial checkpoint, or a loaded :class:`Checkpoint`.
    n
        Number of samples.
    seed
        Seeds the noise: the same call returns the same array (on the CPU).
    melody
        None for unconditional generation, or melodies (n, T, P) in [0, 1] to
        accompany (needs a conditional generator).
    device
        Torch device; default CUDA when available.

    Returns
    -------
    np.ndarray
        float32 probabilities, (n, C, T, P); threshold them to get notes. With a melody,
        track 0 equals it.

    Raises
    ------
    CheckpointError
        Unreadable checkpoint or not an adversarial model.
    ValueError
        A melody of the wrong shape, or a melody for an unconditional generator.
    """
    ckpt = resolve_checkpoint(checkpoint, "adversarial")
    dev = pick_device(device)
    generator, _ = ckpt.build(dev)
    c, t, p = generator.sample_shape
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn((n, *generator.latent_shape), generator=rng)  # (n, L, T/16, P/16)
    cond = None
    if melody is not None:
        if not generator.conditional:
            raise ValueError(f"{ckpt.model_name} is unconditional; it cannot accompany a melody")
        if melody.shape != (n, t, p):
            raise ValueError(f"melody has shape {melody.shape}; expected (n, T, P) = {(n, t, p)}")
        cond = torch.from_numpy(np.ascontiguousarray(melody, dtype=np.float32)).unsqueeze(1)  # (n, 1, T, P)
    out = [np.zeros((0, c, t, p), np.float32)]
    for lo in range(0, n, BATCH):
        z_b = z[lo : lo + BATCH].to(dev)
        roll = (
            generator(z_b) if cond is None else generator(z_b, cond[lo : lo + BATCH].to(dev))
        )  # (b, C, T, P)
        out.append(roll.cpu().numpy().astype(np.float32))
    return np.concatenate(out)
