"""Items from a generator network: unconditional, or conditioned on real items.

Works on any :class:`scorelab.models.base.Generator` (S0's U-Net, S1's LSTM and CNN
generators, S4's MLP): noise of ``latent_shape``, the condition from the model's own
``condition`` hook. Knows nothing of checkpoints or codecs.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

BATCH = 64  # items per forward pass; results do not depend on it (the generator is in eval mode)


def generate(generator: nn.Module, real: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """A batch like ``real`` (B, *S): noise from ``rng``, the condition from the model's hook.

    In training mode the hook may hide part of the condition (S0's melody dropout); an
    unconditional generator's hook returns None.
    """
    n = real.shape[0]
    z = torch.randn((n, *generator.latent_shape), generator=rng, device=real.device)  # (B, *L)
    return generator(z, generator.condition(real, rng))  # (B, *S)


@torch.no_grad()
def sample_generator(
    generator: nn.Module,
    n: int,
    seed: int,
    real: np.ndarray | None = None,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """``n`` generated items, float32 (n, *sample_shape), the same for the same seed (on the CPU).

    Parameters
    ----------
    generator
        A generator in eval mode.
    n
        Number of items.
    seed
        Seeds the noise.
    real
        None for unconditional items, or n real items (n, *sample_shape) whose condition
        (``generator.condition``) each generated item gets (S0: accompany their melody).
    device
        Where to run the network.

    Raises
    ------
    ValueError
        Real items of the wrong shape, or real items for an unconditional generator.
    """
    shape = tuple(generator.sample_shape)
    if real is not None:
        if not generator.conditional:
            raise ValueError(f"{type(generator).__name__} is unconditional; it cannot take a condition")
        if real.shape != (n, *shape):
            raise ValueError(f"real items have shape {real.shape}; expected {(n, *shape)}")
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn((n, *generator.latent_shape), generator=rng)  # (n, *L)
    out = [np.zeros((0, *shape), np.float32)]
    for lo in range(0, n, BATCH):
        z_b = z[lo : lo + BATCH].to(device)
        cond = None
        if real is not None:
            cond = generator.condition(
                torch.from_numpy(np.ascontiguousarray(real[lo : lo + BATCH])).to(device), rng
            )
        out.append(generator(z_b, cond).float().cpu().numpy())
    return np.concatenate(out).astype(np.float32)


def evenly_spaced(n_items: int, k: int) -> np.ndarray:
    """``k`` indices spread over ``range(n_items)`` (deterministic, covers the whole set)."""
    k = min(k, n_items)
    return np.linspace(0, n_items - 1, num=k).round().astype(int) if k else np.zeros(0, dtype=int)
