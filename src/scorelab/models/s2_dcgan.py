"""S2's DCGAN on 96 x 96 MIDI pictures; also S3's image DCGAN and WGAN-GP.

It sees images scaled to [0, 1] (the trainers divide the codec's uint8 values by the
encoding's ``scale``, 255), channels first: (B, C, H, W), (B, 1, 96, 96) for S2.

DCGAN (S2 section 3.2.2, after Brownlee 2019, which S2 cites): G = z(100) ->
Dense(24*24*32) + LeakyReLU(0.2) (Brownlee's generator activates its dense layer; S2
lists LeakyReLU as "the main activation function") -> reshape 32x24x24 ->
Conv2DTranspose(64, 4x4, stride 2) + LeakyReLU(0.2) -> Conv2DTranspose(64, 4x4, stride 2)
+ LeakyReLU(0.2) -> Conv2D(1, 7x7) tanh; D = Conv2D(64, 3x3, stride 2) + LeakyReLU(0.2)
+ Dropout(0.4) -> Conv2D(64, 3x3, stride 2) + LeakyReLU(0.2) + Dropout(0.4) -> Flatten
-> Dense(1), a logit (the sigmoid is in the BCE loss). G's tanh range [-1, 1] is the
model's own business: the generator maps it to [0, 1] (``(t + 1) / 2``) and the
discriminator maps its input back (``2x - 1``), so the networks compute exactly what a
tanh-DCGAN on [-1, 1] data does while every trainer and codec sees [0, 1].

S3's image DCGAN and WGAN-GP are this model (the same code) on S3's images, with the bce
or wgan-gp loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from scorelab.errors import ParamsError
from scorelab.models import register_model
from scorelab.models.base import Generator, image_shape

LEAKY = 0.2


@dataclass(frozen=True)
class S2DCGANArch:
    """S2's DCGAN: ``latent`` (100), ``dense_channels`` (32, at a quarter of the image side),
    ``channels`` (64, both transposed convolutions and both discriminator convolutions),
    ``dropout`` (0.4)."""

    latent: int = 100
    dense_channels: int = 32
    channels: int = 64
    dropout: float = 0.4

    def __post_init__(self) -> None:
        for key in ("latent", "dense_channels", "channels"):
            if getattr(self, key) < 1:
                raise ParamsError(f"{key}: must be >= 1, got {getattr(self, key)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ParamsError(f"dropout: must be in [0, 1), got {self.dropout}")


class DCGANGenerator(Generator):
    """z (B, latent) -> images in [0, 1] (B, C, H, W); H and W multiples of 4."""

    def __init__(self, arch: S2DCGANArch, shape: tuple[int, int, int]):
        super().__init__()
        c, h, w = shape
        if h % 4 or w % 4:
            raise ParamsError(
                f"encoding.shape: the DCGAN upsamples twice by 2; {h} x {w} is not a multiple of 4"
            )
        self.latent_shape = (arch.latent,)
        self.sample_shape = shape
        self.start = (arch.dense_channels, h // 4, w // 4)
        self.dense = nn.Sequential(
            nn.Linear(arch.latent, arch.dense_channels * (h // 4) * (w // 4)), nn.LeakyReLU(LEAKY)
        )
        self.up = nn.Sequential(
            nn.ConvTranspose2d(arch.dense_channels, arch.channels, 4, stride=2, padding=1),
            nn.LeakyReLU(LEAKY),
            nn.ConvTranspose2d(arch.channels, arch.channels, 4, stride=2, padding=1), nn.LeakyReLU(LEAKY),
            nn.Conv2d(arch.channels, c, 7, padding=3), nn.Tanh(),
        )  # fmt: skip

    def forward(self, z: torch.Tensor, cond: None = None) -> torch.Tensor:
        t = self.up(self.dense(z).view(len(z), *self.start))
        return (t + 1) / 2  # [-1, 1] -> the data's [0, 1]


class DCGANDiscriminator(nn.Module):
    """Images in [0, 1] (B, C, H, W) -> one logit each (B,)."""

    def __init__(self, arch: S2DCGANArch, shape: tuple[int, int, int]):
        super().__init__()
        c, h, w = shape
        self.net = nn.Sequential(
            nn.Conv2d(c, arch.channels, 3, stride=2, padding=1), nn.LeakyReLU(LEAKY),
            nn.Dropout(arch.dropout),
            nn.Conv2d(arch.channels, arch.channels, 3, stride=2, padding=1), nn.LeakyReLU(LEAKY),
            nn.Dropout(arch.dropout),
            nn.Flatten(),
            nn.Linear(arch.channels * (-(-h // 4)) * (-(-w // 4)), 1),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(2 * x - 1).squeeze(1)  # the data's [0, 1] -> G's [-1, 1]


def build_s2_dcgan(arch: S2DCGANArch, encoding: dict[str, Any]) -> dict[str, nn.Module]:
    shape = image_shape(encoding)
    return {"generator": DCGANGenerator(arch, shape), "critic": DCGANDiscriminator(arch, shape)}


register_model("s2_dcgan", S2DCGANArch, build_s2_dcgan)
