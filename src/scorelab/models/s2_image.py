"""S2's image models on 96 x 96 MIDI pictures: the convolutional VAE and the DCGAN.

Both see images scaled to [0, 1] (the trainers divide the codec's uint8 values by the
encoding's ``scale``, 255), channels first: (B, 1, 96, 96).

VAE (S2 section 3.2.1; its layers and its "custom layer class" for the loss are those of
Chollet's *Deep Learning with Python*, section 8.4, whose code S2's description follows
layer for layer): encoder Conv2D(32, 3x3) -> Conv2D(64, 3x3, stride 2) -> Conv2D(64, 3x3)
-> Conv2D(64, 3x3), ReLU, "same" padding (96x96x32 -> 48x48x64 -> 48x48x64 x 2) ->
Flatten -> Dense(``hidden``, ReLU; Chollet's 32) -> mu and log-variance, latent dimension
2; decoder Dense(48*48*64, ReLU) -> reshape -> Conv2DTranspose(32, 3x3, stride 2, ReLU)
-> Conv2D(1, 3x3, sigmoid) = 96x96x1. The reparameterisation is Chollet's,
``z = mu + exp(log_var) * eps`` (sic: not ``exp(log_var / 2)``), kept because it is S2's.

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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from scorelab.errors import ParamsError
from scorelab.models.base import Generator

LEAKY = 0.2


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


@dataclass(frozen=True)
class S2VAEArch:
    """S2's VAE: ``channels`` (32, 64 in S2), ``hidden`` dense units before mu/log-var, ``latent``."""

    channels: tuple[int, int] = (32, 64)
    hidden: int = 32
    latent: int = 2

    def __post_init__(self) -> None:
        if len(self.channels) != 2 or min(self.channels) < 1:
            raise ParamsError(f"channels: two widths >= 1, got {list(self.channels)}")
        if self.hidden < 1 or self.latent < 1:
            raise ParamsError(f"hidden and latent must be >= 1, got {self.hidden}, {self.latent}")


class S2VAE(nn.Module):
    """Encoder, decoder and the reparameterised pass; ``forward(x) -> (recon, mu, log_var)``."""

    def __init__(self, arch: S2VAEArch, shape: tuple[int, int, int]):
        super().__init__()
        c, h, w = shape
        if h % 2 or w % 2:
            raise ParamsError(f"encoding.shape: the VAE halves height and width once; got {h} x {w}")
        c1, c2 = arch.channels
        self.sample_shape = shape
        self.latent = arch.latent
        self.inner = (c2, h // 2, w // 2)
        self.encoder = nn.Sequential(
            nn.Conv2d(c, c1, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c1, c2, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(c2, c2, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c2, c2, 3, padding=1), nn.ReLU(),
            nn.Flatten(),
            nn.Linear(c2 * (h // 2) * (w // 2), arch.hidden), nn.ReLU(),
        )  # fmt: skip
        self.mu = nn.Linear(arch.hidden, arch.latent)
        self.log_var = nn.Linear(arch.hidden, arch.latent)
        self.expand = nn.Sequential(nn.Linear(arch.latent, c2 * (h // 2) * (w // 2)), nn.ReLU())
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(c2, c1, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.Conv2d(c1, c, 3, padding=1), nn.Sigmoid(),
        )  # fmt: skip

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, log_var), each (B, latent)."""
        h = self.encoder(x)
        return self.mu(h), self.log_var(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1], (B, C, H, W), from latent points (B, latent)."""
        return self.decoder(self.expand(z).view(len(z), *self.inner))

    def forward(self, x: torch.Tensor, rng: torch.Generator | None = None):
        mu, log_var = self.encode(x)
        eps = torch.randn(mu.shape, generator=rng, device="cpu").to(mu.device)
        z = mu + torch.exp(log_var) * eps  # Chollet's (and so S2's) reparameterisation
        return self.decode(z), mu, log_var


def build_s2_vae(arch: S2VAEArch, encoding: dict[str, Any]) -> dict[str, nn.Module]:
    return {"model": S2VAE(arch, image_shape(encoding))}


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
