"""What a trainer may rely on in a model: the contracts behind the ``MODELS`` registry.

A builder returns its networks by name (``{"generator": G, "critic": D}`` or
``{"model": M}``); a trainer asks for the names it trains and reads only the attributes
below, so no trainer ever branches on a model's name (docs/design.md: dispatch once).

- :class:`Generator`: anything an adversarial trainer can train against a critic. The
  trainer draws ``z ~ N(0, I)`` of ``latent_shape`` and calls ``generator(z, cond)``,
  where ``cond = generator.condition(real, rng)``: conditioning is the model's business
  (S0's melody is track 0 of the real batch; an unconditional model returns None), so
  the loop knows nothing about tracks.
- Critics map a batch of samples to one unbounded score per sample, (B,); BCE losses
  read the score as a logit.
- Sequence models (the likelihood trainer) have ``vocab_size``, ``forward(ids)`` ->
  logits for every position and ``next_logits(ids, lengths)`` for sampling.

It also holds what more than one model module needs that is not a network (those are in
:mod:`scorelab.models.shared`): the checks that read an encoding's shape
(:func:`roll_shape`, :func:`image_shape`, :func:`keys_of`), the arch checks
(:func:`check_positive`, :func:`check_slope`) and Keras' BatchNorm defaults. A model
module imports this module and :mod:`scorelab.models.shared`, never another model's.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from scorelab.errors import ParamsError

# Keras' BatchNormalization defaults in PyTorch's terms, for models copied from Keras (S1, S4)
KERAS_BN_MOMENTUM = 0.01  # Keras BatchNormalization(momentum=0.99): running = 0.99 run + 0.01 batch
KERAS_BN_EPS = 1e-3  # Keras' default epsilon (PyTorch's is 1e-5)
DEFAULT_ROLL_SHAPE = (1, 32, 64)  # S1: one piano track x 2 bars of 16th notes x 64 pitches
KEYS = 88  # S3's next-column images: one row per piano key


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


def check_positive(arch: Any, *keys: str) -> None:
    """ParamsError unless every arch field in ``keys`` is >= 1."""
    for key in keys:
        if getattr(arch, key) < 1:
            raise ParamsError(f"{key}: must be >= 1, got {getattr(arch, key)}")


def check_slope(leaky_slope: float) -> None:
    """ParamsError unless a LeakyReLU slope is in [0, 1)."""
    if not 0.0 <= leaky_slope < 1.0:
        raise ParamsError(f"leaky_slope: must be in [0, 1), got {leaky_slope}")


def roll_shape(encoding: dict[str, Any], multiple: int = 1) -> tuple[int, int, int]:
    """Return (1, T, P) from ``encoding["shape"]`` (default 1 x 32 x 64), checked: S1's rolls.

    Raises
    ------
    ParamsError
        When the shape is not three positive integers, has more than one track (S1's
        models are single-track: set the codec's ``merge_tracks``), or T or P is not a
        multiple of ``multiple`` (Model B up-samples by 4).
    """
    shape = encoding.get("shape", DEFAULT_ROLL_SHAPE)
    if (
        not isinstance(shape, list | tuple)
        or len(shape) != 3
        or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape)
    ):
        raise ParamsError(f"encoding.shape: expected [1, steps, pitches], got {shape!r}")
    c, t, p = shape
    if c != 1:
        raise ParamsError(f"encoding.shape: S1's GANs take one track, got {c}; set the codec's merge_tracks")
    if t % multiple or p % multiple:
        raise ParamsError(
            f"encoding.shape: steps ({t}) and pitches ({p}) must be divisible by {multiple} "
            "for Model B's two x2 up-samplings; change bars_per_sample or the pitch range"
        )
    return 1, int(t), int(p)


def image_shape(encoding: dict[str, Any]) -> tuple[int, int, int]:
    """(C, H, W) from ``encoding["shape"]``, checked."""
    shape = encoding.get("shape")
    if (
        not isinstance(shape, list | tuple)
        or len(shape) != 3
        or not all(isinstance(s, int) and s > 0 for s in shape)
    ):
        raise ParamsError(f"encoding.shape: expected [channels, height, width], got {shape!r}")
    return int(shape[0]), int(shape[1]), int(shape[2])


def keys_of(encoding: dict[str, Any]) -> int:
    """K, the keys of S3's 1-channel next-column images, from ``encoding["shape"]`` = [1, K, T]."""
    shape = encoding.get("shape", [1, KEYS, 0])
    if not isinstance(shape, list | tuple) or len(shape) != 3 or shape[0] != 1:
        raise ParamsError(f"encoding.shape: the next-column models take 1-channel images, got {shape!r}")
    return int(shape[1])
