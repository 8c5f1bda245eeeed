"""S1's Model B: a CNN-LSTM GAN on single-track piano rolls.

S1 (docs/papers.md) pairs a DCGAN-like generator with the Bi-LSTM discriminator of its Model A
(:func:`scorelab.models.shared.s1_critic`, which also explains how a roll (1, T, P) is
read as T steps of P pitches; Model A is :mod:`scorelab.models.s1_bilstm`).

CNN-LSTM GAN (Fig. 6, prose only): "DCGAN-like": z(100) -> Dense -> reshape -> two
[UpSampling + Conv2DTranspose] sub-units, BatchNorm after the first, LeakyReLU at the
end of each -> Conv2DTranspose -> the roll. Unstated details follow the Keras DCGAN
built of up-sampling + convolution sub-units (Keras-GAN's ``dcgan.py``, after Radford et
al. 2015): 3x3 kernels with "same" padding (so only the up-samplings change the size,
hence T and P divisible by 4), channels c then c/2, a nonlinearity after the dense
projection, conv -> BatchNorm -> activation; the output is a sigmoid (0/1 cells).

Unstated: LeakyReLU slope 0.2 (DCGAN's); BatchNorm with Keras' defaults (momentum 0.99,
i.e. PyTorch momentum 0.01, and eps 1e-3), since S1's summaries are Keras'.

Shapes: B batch, T time steps, P pitches, Z latent size, c channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from scorelab.errors import ParamsError
from scorelab.models import register_model
from scorelab.models.base import (
    KERAS_BN_EPS,
    KERAS_BN_MOMENTUM,
    Generator,
    check_positive,
    check_slope,
    roll_shape,
)
from scorelab.models.shared import s1_critic

UPSAMPLING = 4  # Model B: two x2 up-sampling sub-units
KERNEL = 3  # Model B: 3x3 transposed convolutions, "same" padding (Keras-GAN's DCGAN)


@dataclass(frozen=True)
class S1CNNLSTMArch:
    """Architecture of S1's Model B, the CNN-LSTM GAN.

    Attributes
    ----------
    latent
        Size of the noise vector (S1: 100).
    channels
        Channels after G's dense projection; the second sub-unit has half (S1: unstated;
        Keras-GAN's DCGAN 128).
    d_hidden
        Units of D's LSTM and of each direction of its Bi-LSTM (S1: 512).
    leaky_slope
        Negative slope of every LeakyReLU (S1: unstated; DCGAN's 0.2).
    """

    latent: int
    channels: int
    d_hidden: int
    leaky_slope: float = 0.2

    def __post_init__(self) -> None:
        check_positive(self, "latent", "d_hidden")
        if self.channels < 2:
            raise ParamsError(f"channels: must be >= 2 (the second sub-unit has half), got {self.channels}")
        check_slope(self.leaky_slope)


class CNNGenerator(Generator):
    """Model B's generator: noise (B, Z) -> roll probabilities (B, 1, T, P), DCGAN-like."""

    def __init__(self, arch: S1CNNLSTMArch, shape: tuple[int, int, int]):
        super().__init__()
        _, t, p = shape
        c, pad = arch.channels, KERNEL // 2
        self.sample_shape = shape
        self.latent_shape = (arch.latent,)
        self.grid = (c, t // UPSAMPLING, p // UPSAMPLING)
        self.project = nn.Sequential(
            nn.Linear(arch.latent, c * self.grid[1] * self.grid[2]), nn.LeakyReLU(arch.leaky_slope)
        )
        self.deconv = nn.Sequential(
            nn.Upsample(scale_factor=2),  # sub-unit 1
            nn.ConvTranspose2d(c, c, KERNEL, padding=pad),
            nn.BatchNorm2d(c, eps=KERAS_BN_EPS, momentum=KERAS_BN_MOMENTUM),
            nn.LeakyReLU(arch.leaky_slope),
            nn.Upsample(scale_factor=2),  # sub-unit 2
            nn.ConvTranspose2d(c, c // 2, KERNEL, padding=pad),
            nn.LeakyReLU(arch.leaky_slope),
            nn.ConvTranspose2d(c // 2, 1, KERNEL, padding=pad),  # to the one track
        )

    def forward(self, z: torch.Tensor, cond: None = None) -> torch.Tensor:
        """Generate rolls from noise z (B, Z); ``cond`` is unused (unconditional)."""
        h = self.project(z).view(z.shape[0], *self.grid)  # (B, c, T/4, P/4)
        return torch.sigmoid(self.deconv(h))  # (B, 1, T, P)


def build_s1_cnn_lstm(arch: S1CNNLSTMArch, encoding: dict[str, Any]) -> dict[str, nn.Module]:
    """Build Model B (DCGAN-like generator, Bi-LSTM critic); T and P must divide by 4."""
    shape = roll_shape(encoding, UPSAMPLING)
    return {
        "generator": CNNGenerator(arch, shape),
        "critic": s1_critic(shape, arch.d_hidden, arch.leaky_slope),
    }


register_model("s1_cnn_lstm", S1CNNLSTMArch, build_s1_cnn_lstm)
