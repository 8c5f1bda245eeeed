"""S4: the GAN on note-index sequences of the paper's Appendix A.2.1 code, and its WGAN.

S4 (docs/papers.md) scales each note or chord's vocabulary index to [-1, 1) (the
``note_index`` codec) and trains a GAN on windows of 100 of them. The paper's Keras code
gives both networks; we copy them layer for layer:

- Generator: z(1000) -> [Dense(256), Dense(512), Dense(1024)], each followed by
  LeakyReLU(0.2) then BatchNormalization(momentum=0.8) (that order, as in the code) ->
  Dense(100) tanh. Keras' ``momentum=0.8`` means ``running = 0.8 * running + 0.2 *
  batch``, which is PyTorch's ``momentum=0.2`` (PyTorch weights the new batch by its
  momentum); Keras' epsilon is 1e-3 (PyTorch's 1e-5).
- Discriminator: the sequence as (100, 1), 100 steps of one value -> LSTM(512) returning
  the sequence -> Bi-LSTM(512) (its final output, both directions) -> Dense(512) ->
  Dense(256) -> Dense(100), each + LeakyReLU(0.2) -> Dropout(0.5) -> Dense(1). The code
  labels the Dense(100) "Minibatch Discrimination", but it is a plain dense layer and so
  is ours. The GAN's sigmoid lives in the BCE loss (``BCEWithLogits``); the WGAN critic's
  output is linear anyway, so both variants use this one network. It is S1's Bi-LSTM
  discriminator (:class:`scorelab.models.shared.BiLSTMCritic`) with one more dense layer.

The WGAN variants' Gaussian noise and L2 penalty are the trainer's (``noise_std``,
``l2_weight``), acting on these Linear/LSTM layers. One difference remains: Keras puts
the generator's last noise after its tanh, so its outputs can leave [-1, 1]; the noise
hook acts on the Linear layer's output, before the tanh, so ours stay in range.

BatchNorm in the generator is safe for every S4 loss: BCE and weight clipping put no
per-sample constraint on G (a gradient penalty would, on the critic only).

Shapes: B batch, L sequence length, Z latent size, H the critic's hidden units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from scorelab.errors import ParamsError
from scorelab.models import register_model
from scorelab.models.base import KERAS_BN_EPS, Generator
from scorelab.models.shared import BiLSTMCritic

DEFAULT_LENGTH = 100  # S4: sequences of 100 notes or chords
LEAKY_SLOPE = 0.2  # S4's LeakyReLU(alpha=0.2), in G and D
D_WIDTHS = (512, 256, 100)  # the discriminator's dense layers (S4's code)


@dataclass(frozen=True)
class S4GANArch:
    """Architecture of S4's GAN and WGAN.

    Attributes
    ----------
    latent
        Size of the noise vector (S4: 1000).
    hidden
        Units of the critic's LSTM and of each direction of its Bi-LSTM (S4: 512).
    g_hidden
        Widths of the generator's hidden dense layers (S4: 256, 512, 1024).
    dropout
        Rate of the critic's dropout before its output layer (S4: 0.5).
    bn_momentum
        The generator's BatchNorm momentum in PyTorch's convention, the weight of the
        new batch (S4: Keras' momentum 0.8, i.e. 0.2 here).
    """

    latent: int
    hidden: int
    g_hidden: tuple[int, ...] = (256, 512, 1024)
    dropout: float = 0.5
    bn_momentum: float = 0.2

    def __post_init__(self) -> None:
        for key in ("latent", "hidden"):
            if getattr(self, key) < 1:
                raise ParamsError(f"{key}: must be >= 1, got {getattr(self, key)}")
        if not self.g_hidden or min(self.g_hidden) < 1:
            raise ParamsError(f"g_hidden: must be one or more widths >= 1, got {list(self.g_hidden)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ParamsError(f"dropout: must be in [0, 1), got {self.dropout}")
        if not 0.0 < self.bn_momentum <= 1.0:
            raise ParamsError(
                f"bn_momentum: must be in (0, 1] (PyTorch's convention), got {self.bn_momentum}"
            )


def sequence_length(encoding: dict[str, Any]) -> int:
    """Return L from ``encoding["shape"]`` = [L] (default 100), checked.

    Raises
    ------
    ParamsError
        When the shape is not one positive integer.
    """
    shape = encoding.get("shape", [DEFAULT_LENGTH])
    if (
        not isinstance(shape, list | tuple)
        or len(shape) != 1
        or not isinstance(shape[0], int)
        or isinstance(shape[0], bool)
        or shape[0] < 1
    ):
        raise ParamsError(f"encoding.shape: expected [sequence length], got {shape!r}")
    return int(shape[0])


class MLPGenerator(Generator):
    """S4's generator: noise (B, Z) -> a sequence of scaled note indices (B, L) in [-1, 1]."""

    def __init__(self, arch: S4GANArch, length: int):
        super().__init__()
        self.sample_shape = (length,)
        self.latent_shape = (arch.latent,)
        layers: list[nn.Module] = []
        width = arch.latent
        for w in arch.g_hidden:  # Dense -> LeakyReLU -> BatchNorm, the code's order
            layers += [
                nn.Linear(width, w),
                nn.LeakyReLU(LEAKY_SLOPE),
                nn.BatchNorm1d(w, eps=KERAS_BN_EPS, momentum=arch.bn_momentum),
            ]
            width = w
        layers += [nn.Linear(width, length), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, cond: None = None) -> torch.Tensor:
        """Generate sequences from noise z (B, Z); ``cond`` is unused (unconditional)."""
        return self.net(z)  # (B, L)


def build_s4_mlp_gan(arch: S4GANArch, encoding: dict[str, Any]) -> dict[str, nn.Module]:
    """Build S4's MLP generator and Bi-LSTM critic for sequences of ``encoding["shape"]`` = [L]."""
    length = sequence_length(encoding)
    critic = BiLSTMCritic(length, 1, arch.hidden, D_WIDTHS, dropout=arch.dropout, leaky_slope=LEAKY_SLOPE)
    return {"generator": MLPGenerator(arch, length), "critic": critic}


register_model("s4_mlp_gan", S4GANArch, build_s4_mlp_gan)
