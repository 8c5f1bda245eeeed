"""What a trainer may rely on in a model: the contracts behind the ``MODELS`` registry.

A builder returns its networks by name (``{"generator": G, "critic": D}`` or
``{"model": M}``); a trainer asks for the names it trains and reads only the attributes
below, so no trainer ever branches on a model's name (STYLE.md: dispatch once).

- :class:`Generator`: anything an adversarial trainer can train against a critic. The
  trainer draws ``z ~ N(0, I)`` of ``latent_shape`` and calls ``generator(z, cond)``,
  where ``cond = generator.condition(real, rng)``: conditioning is the model's business
  (S0's melody is track 0 of the real batch; an unconditional model returns None), so
  the loop knows nothing about tracks.
- Critics map a batch of samples to one unbounded score per sample, (B,); BCE losses
  read the score as a logit.
- Sequence models (the likelihood trainer) have ``vocab_size``, ``forward(ids)`` ->
  logits for every position and ``next_logits(ids, lengths)`` for sampling.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class Generator(nn.Module):
    """Base class of adversarial generators.

    Attributes
    ----------
    latent_shape : tuple[int, ...]
        Shape of one noise sample; the trainer draws ``torch.randn(B, *latent_shape)``.
    sample_shape : tuple[int, ...]
        Shape of one generated sample, the same as one item of the training data.
    conditional : bool
        True when :meth:`condition` returns a condition (then ``sample`` can take one).
    given_tracks : tuple[int, ...]
        Tracks of a conditioned sample that are copied from the condition, not generated
        (S0: the melody, track 0). Evaluation scores the generated tracks alone, so a
        given real melody never counts as the model's work.
    """

    latent_shape: tuple[int, ...]
    sample_shape: tuple[int, ...]
    conditional = False
    given_tracks: tuple[int, ...] = ()

    def condition(self, real: torch.Tensor, rng: torch.Generator) -> Any:
        """The condition for a batch shaped like ``real`` (B, *sample_shape); None if unconditional.

        In training mode a model may hide the condition for part of the batch (S0: the
        melody for a ``condition_dropout`` share); in eval mode every sample keeps it.
        """
        return None


class BernoulliCells(nn.Module):
    """Independent Bernoulli cells: the naive model of S1 as a module with no trainable weights.

    ``rate`` is a buffer (fitted by the ``density`` trainer from the training data), so the
    model is saved and rebuilt through the same checkpoint as every other model.
    """

    def __init__(self, shape: tuple[int, ...], rate_shape: tuple[int, ...]):
        super().__init__()
        self.sample_shape = tuple(shape)
        self.register_buffer("rate", torch.zeros(rate_shape))

    def forward(self, n: int, rng: torch.Generator) -> torch.Tensor:
        """``n`` samples (n, *sample_shape) of 0/1 cells drawn at ``rate`` (broadcast)."""
        u = torch.rand((n, *self.sample_shape), generator=rng)
        return (u < self.rate.cpu()).to(torch.uint8)
