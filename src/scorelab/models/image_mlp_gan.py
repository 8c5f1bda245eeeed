"""S3's "simple GAN with dense layers" on its images: the Keras-GAN MLP layout.

The layout is the Keras-GAN one of S4's MLP GAN, on flattened images. It sees images
scaled to [0, 1] (the trainer divides the codec's uint8 values by the encoding's
``scale``, 255), channels first: (B, C, H, W). As in S2's DCGAN
(:mod:`scorelab.models.s2_dcgan`), G's tanh range [-1, 1] is mapped to the data's [0, 1]
and the discriminator maps its input back, so trainers and codecs see [0, 1].
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
class ImageMLPGANArch:
    """S3's "simple GAN with dense layers": the Keras-GAN layout (S4's MLP GAN) on flattened images.

    ``latent`` (100), generator ``g_hidden`` widths (256, 512, 1024, each LeakyReLU(0.2) then
    BatchNorm, momentum 0.8 in Keras' convention = 0.2 here) -> C*H*W tanh -> the image;
    discriminator ``d_hidden`` (512, 256, each LeakyReLU(0.2)) -> 1 logit.
    """

    latent: int = 100
    g_hidden: tuple[int, ...] = (256, 512, 1024)
    d_hidden: tuple[int, ...] = (512, 256)

    def __post_init__(self) -> None:
        if self.latent < 1 or not self.g_hidden or not self.d_hidden:
            raise ParamsError("latent must be >= 1 and g_hidden, d_hidden non-empty")
        if min(self.g_hidden) < 1 or min(self.d_hidden) < 1:
            raise ParamsError(f"widths must be >= 1: {list(self.g_hidden)}, {list(self.d_hidden)}")


class MLPImageGenerator(Generator):
    """z (B, latent) -> images in [0, 1] (B, C, H, W) through dense layers."""

    def __init__(self, arch: ImageMLPGANArch, shape: tuple[int, int, int]):
        super().__init__()
        self.latent_shape, self.sample_shape = (arch.latent,), shape
        layers: list[nn.Module] = []
        width = arch.latent
        for w in arch.g_hidden:
            layers += [nn.Linear(width, w), nn.LeakyReLU(LEAKY), nn.BatchNorm1d(w, eps=1e-3, momentum=0.2)]
            width = w
        layers += [nn.Linear(width, shape[0] * shape[1] * shape[2]), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, cond: None = None) -> torch.Tensor:
        return ((self.net(z) + 1) / 2).view(len(z), *self.sample_shape)


class MLPImageDiscriminator(nn.Module):
    """Images in [0, 1] (B, C, H, W) -> one logit each (B,), through dense layers."""

    def __init__(self, arch: ImageMLPGANArch, shape: tuple[int, int, int]):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = shape[0] * shape[1] * shape[2]
        for w in arch.d_hidden:
            layers += [nn.Linear(width, w), nn.LeakyReLU(LEAKY)]
            width = w
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(2 * x - 1).squeeze(1)


def build_image_mlp_gan(arch: ImageMLPGANArch, encoding: dict[str, Any]) -> dict[str, nn.Module]:
    shape = image_shape(encoding)
    return {"generator": MLPImageGenerator(arch, shape), "critic": MLPImageDiscriminator(arch, shape)}


register_model("image_mlp_gan", ImageMLPGANArch, build_image_mlp_gan)
