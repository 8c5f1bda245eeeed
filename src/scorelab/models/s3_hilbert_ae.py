"""S3's autoencoder on Hilbert-curve audio images (section 8), layer for layer from its summary.

S3 prints the Keras summary: 256x256x1 -> Conv2D(16) -> MaxPool -> Conv2D(32) -> MaxPool ->
Conv2D(64) -> MaxPool -> Conv2D(64) (32x32x64) -> UpSampling -> Conv2D(32) -> UpSampling ->
Conv2D(16) -> UpSampling -> Conv2D(1) (256x256x1), 148,081 weights. The weight counts fix
the kernels: 272 = 1*16*16 + 16, so 4x4 for the first six convolutions, and 145 = 16*9 + 1,
so 3x3 for the last; :func:`count` checks the total. Activations are not printed: ReLU
inside and a sigmoid out (the images are in [0, 1]), the Keras autoencoder tutorial's
choice that S3's layer names match. "Same" padding keeps each side: TensorFlow pads a 4x4
kernel with one row and column of zeros before and two after, and so does this model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from scorelab.errors import ParamsError
from scorelab.models import register_model
from scorelab.models.base import image_shape

S3_WEIGHTS = 148_081  # S3's summary: total params


@dataclass(frozen=True)
class S3HilbertArch:
    """Widths of the three down convolutions and the bottleneck (S3: 16, 32, 64, 64), kernel 4."""

    channels: tuple[int, int, int, int] = (16, 32, 64, 64)
    kernel: int = 4

    def __post_init__(self) -> None:
        if len(self.channels) != 4 or min(self.channels) < 1:
            raise ParamsError(f"channels: four widths >= 1, got {list(self.channels)}")
        if self.kernel < 1:
            raise ParamsError(f"kernel: must be >= 1, got {self.kernel}")


class HilbertAutoencoder(nn.Module):
    """(B, 1, H, W) in [0, 1] -> its reconstruction, same shape; H and W multiples of 8."""

    def __init__(self, arch: S3HilbertArch, shape: tuple[int, int, int]):
        super().__init__()
        c, h, w = shape
        if h % 8 or w % 8:
            raise ParamsError(f"encoding.shape: pooled three times by 2; {h} x {w} is not a multiple of 8")
        self.sample_shape = shape
        c1, c2, c3, c4 = arch.channels
        k = arch.kernel

        def conv(i: int, o: int) -> list[nn.Module]:
            # Keras' "same": (k - 1) cells of zeros, the odd one on the right and bottom
            before, after = (k - 1) // 2, k // 2
            return [nn.ZeroPad2d((before, after, before, after)), nn.Conv2d(i, o, k), nn.ReLU()]

        self.net = nn.Sequential(
            *conv(c, c1), nn.MaxPool2d(2),
            *conv(c1, c2), nn.MaxPool2d(2),
            *conv(c2, c3), nn.MaxPool2d(2),
            *conv(c3, c4),
            nn.Upsample(scale_factor=2), *conv(c4, c2),
            nn.Upsample(scale_factor=2), *conv(c2, c1),
            nn.Upsample(scale_factor=2), nn.Conv2d(c1, c, 3, padding=1), nn.Sigmoid(),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def count(module: nn.Module) -> int:
    """Trainable weights (S3's autoencoder: 148,081)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def build_s3_hilbert_ae(arch: S3HilbertArch, encoding: dict[str, Any]) -> dict[str, nn.Module]:
    return {"model": HilbertAutoencoder(arch, image_shape(encoding))}


register_model("s3_hilbert_ae", S3HilbertArch, build_s3_hilbert_ae)
