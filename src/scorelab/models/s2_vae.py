"""S2's convolutional VAE on 96 x 96 MIDI pictures.

It sees images scaled to [0, 1] (the trainer divides the codec's uint8 values by the
encoding's ``scale``, 255), channels first: (B, 1, 96, 96).

VAE (S2 section 3.2.1; its layers and its "custom layer class" for the loss are those of
Chollet's *Deep Learning with Python*, section 8.4, whose code S2's description follows
layer for layer): encoder Conv2D(32, 3x3) -> Conv2D(64, 3x3, stride 2) -> Conv2D(64, 3x3)
-> Conv2D(64, 3x3), ReLU, "same" padding (96x96x32 -> 48x48x64 -> 48x48x64 x 2) ->
Flatten -> Dense(``hidden``, ReLU; Chollet's 32) -> mu and log-variance, latent dimension
2; decoder Dense(48*48*64, ReLU) -> reshape -> Conv2DTranspose(32, 3x3, stride 2, ReLU)
-> Conv2D(1, 3x3, sigmoid) = 96x96x1. The reparameterisation is Chollet's,
``z = mu + exp(log_var) * eps`` (sic: not ``exp(log_var / 2)``), kept because it is S2's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from scorelab.errors import ParamsError
from scorelab.models import register_model
from scorelab.models.base import image_shape


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
        eps = torch.randn(mu.shape, generator=rng, device=mu.device)  # rng: on mu's device
        z = mu + torch.exp(log_var) * eps  # Chollet's (and so S2's) reparameterisation
        return self.decode(z), mu, log_var


def build_s2_vae(arch: S2VAEArch, encoding: dict[str, Any]) -> dict[str, nn.Module]:
    return {"model": S2VAE(arch, image_shape(encoding))}


register_model("s2_vae", S2VAEArch, build_s2_vae)
