"""S0: a U-Net generator and a convolutional critic for multi-track piano rolls (WGAN-GP).

S0 (docs/papers.md) trains a Wasserstein GAN with gradient penalty on JSB Chorales rolls of
4 tracks x 32 steps x 128 pitches. Its generator is "based on U-Net" (Ronneberger et al.
2015): it takes a real sample and synthesizes the accompaniment; its Table 1 gives the
latent noise as (2, 8, 512), which is exactly the bottleneck of four stride-2 levels on a
32 x 128 input. Where the paper is vague we follow the references it cites:

- Encoder and decoder are 4x4 stride-2 convolutions (Radford et al. 2015, DCGAN; the
  pix2pix U-Net of Isola et al. 2017), LeakyReLU(0.2) down and ReLU up.
- Normalization is per sample (``GroupNorm(1, C)``, a layer norm), in the generator too,
  not BatchNorm as in DCGAN/pix2pix. Measured here: with BatchNorm, a generator trained
  on batches mixing conditioned and unconditioned samples gave rich rolls in train mode
  but nearly empty ones in eval mode (running statistics of the mixture do not fit an
  all-unconditional batch: 1.9 vs 76 active cells per sample). A per-sample norm has no
  train/eval gap, so a sample never depends on the rest of its batch.
- The critic has no BatchNorm: the gradient penalty is a per-sample constraint, and
  BatchNorm makes each sample's score depend on the batch (Gulrajani et al. 2017, sec. 4,
  recommend layer normalization). ``GroupNorm(1, C)`` is that layer norm over (C, H, W).
- One generator does both of S0's tasks. The melody (track 0) enters the encoder; for
  unconditional generation it is all zeros. When a sample is conditioned, the output's
  track 0 is replaced by the given melody, so the generator only has to produce alto,
  tenor and bass, and the critic judges the whole 4-voice texture. The melody is
  the model's own business (:meth:`UNetGenerator.condition`): the training loop only
  passes what the hook returns.

Shapes: B batch, C tracks, T time steps, P pitches, L latent channels, b base channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal

import torch
from torch import nn

from scorelab.errors import ParamsError
from scorelab.models import register_model
from scorelab.models.base import Generator

DOWNSAMPLING = 16  # four stride-2 levels: T and P shrink by 2**4
DEFAULT_SHAPE = (4, 32, 128)  # S0: 4 voices x 2 bars of 16th notes x 128 MIDI pitches
LEAKY_SLOPE = 0.2  # DCGAN's LeakyReLU slope (Radford et al. 2015)


@dataclass(frozen=True)
class S0UNetArch:
    """Architecture of S0's U-Net generator and critic.

    Attributes
    ----------
    base_channels
        Width of the first level; the levels are ``base_channels * (1, 2, 4, 8)``.
    latent_channels
        Channels of the noise concatenated at the bottleneck (S0's paper: 512).
    condition_dropout
        Share of training samples whose melody is hidden (all zeros), so the one
        generator also learns unconditional generation (the second of S0's tasks).
    condition_dropout_per
        ``sample``: each sample's melody is hidden with that probability; ``batch``: a whole
        batch is conditioned or not, so the critic sees batches of unconditional fakes alone
        and its minibatch feature can tell when they all look alike.
    minibatch_std
        Group size of the critic's minibatch standard deviation feature (Karras et al.
        2018, ProGAN, sec. 3): the spread of the critic's features across a group of
        samples is appended as one more feature map, so a batch of near-identical fakes
        looks unlike a batch of real chorales and the generator is pushed to vary. 0: off.
    """

    base_channels: int
    latent_channels: int
    condition_dropout: float = 0.5
    condition_dropout_per: Literal["sample", "batch"] = "sample"
    minibatch_std: int = 0

    def __post_init__(self) -> None:
        if self.minibatch_std < 0 or self.minibatch_std == 1:
            raise ParamsError(f"minibatch_std: a group size >= 2, or 0 for off; got {self.minibatch_std}")
        for key in ("base_channels", "latent_channels"):
            if getattr(self, key) < 1:
                raise ParamsError(f"{key}: must be >= 1, got {getattr(self, key)}")
        if not 0.0 <= self.condition_dropout <= 1.0:
            raise ParamsError(f"condition_dropout: must be in [0, 1], got {self.condition_dropout}")


def roll_shape(encoding: dict[str, Any]) -> tuple[int, int, int]:
    """Return (C, T, P) from ``encoding["shape"]`` (default 4 x 32 x 128), checked.

    Raises
    ------
    ParamsError
        When the shape is not three positive integers, or T or P is not divisible by 16
        (the four stride-2 levels of the U-Net need that to come back to the same size).
    """
    shape = encoding.get("shape", DEFAULT_SHAPE)
    if (
        not isinstance(shape, list | tuple)
        or len(shape) != 3
        or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape)
    ):
        raise ParamsError(f"encoding.shape: expected [tracks, steps, pitches], got {shape!r}")
    c, t, p = shape
    if t % DOWNSAMPLING or p % DOWNSAMPLING:
        raise ParamsError(
            f"encoding.shape: steps ({t}) and pitches ({p}) must be divisible by {DOWNSAMPLING} "
            "for the U-Net's four stride-2 levels; change bars_per_sample or the pitch range"
        )
    return int(c), int(t), int(p)


def _down(c_in: int, c_out: int, norm: bool) -> nn.Sequential:
    """A 4x4 stride-2 convolution that halves T and P (DCGAN)."""
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not norm)]
    if norm:
        layers.append(nn.GroupNorm(1, c_out))  # per-sample layer norm: no train/eval gap
    layers.append(nn.LeakyReLU(LEAKY_SLOPE))
    return nn.Sequential(*layers)


def _up(c_in: int, c_out: int) -> nn.Sequential:
    """A 4x4 stride-2 transposed convolution that doubles T and P (DCGAN)."""
    return nn.Sequential(
        nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.GroupNorm(1, c_out), nn.ReLU()
    )


class UNetGenerator(Generator):
    """Melody roll + noise -> multi-track roll of note probabilities.

    Attributes
    ----------
    sample_shape : tuple[int, int, int]
        Shape of one output roll, (C, T, P).
    latent_shape : tuple[int, int, int]
        Shape of one noise sample, (L, T/16, P/16); the training loop and the sampler
        draw ``torch.randn(B, *latent_shape)``.
    conditional : bool
        True: :meth:`condition` gives the real melody (track 0) as the condition.
    """

    conditional = True
    given_tracks = (0,)  # a conditioned sample's track 0 is the given melody

    def __init__(self, arch: S0UNetArch, shape: tuple[int, int, int]):
        super().__init__()
        c, t, p = shape
        b = arch.base_channels
        self.condition_dropout = arch.condition_dropout
        self.condition_dropout_per = arch.condition_dropout_per
        self.sample_shape = shape
        self.latent_shape = (arch.latent_channels, t // DOWNSAMPLING, p // DOWNSAMPLING)
        # No norm on the first level, as in DCGAN's and pix2pix's first layers.
        self.down = nn.ModuleList(
            [_down(1, b, False), _down(b, 2 * b, True), _down(2 * b, 4 * b, True), _down(4 * b, 8 * b, True)]
        )
        self.up = nn.ModuleList([_up(8 * b + arch.latent_channels, 4 * b), _up(8 * b, 2 * b), _up(4 * b, b)])
        self.out = nn.ConvTranspose2d(2 * b, c, 4, 2, 1)

    def condition(self, real: torch.Tensor, rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """The melody of each real roll (B, C, T, P): its track 0, hidden for some in training.

        Returns ``(melody (B, 1, T, P), conditioned (B,) bool)``; in training mode a
        ``condition_dropout`` share (drawn from ``rng``) is hidden (zeros, not
        conditioned); in eval mode (accompaniment) every melody is kept.
        """
        n = real.shape[0]
        if self.training:
            k = n if self.condition_dropout_per == "sample" else 1
            draws = torch.rand(k, generator=rng, device=real.device)  # on the device: no copy per step
            conditioned = (draws >= self.condition_dropout).expand(n)  # (B,)
        else:
            conditioned = torch.ones(n, dtype=torch.bool, device=real.device)
        melody = real[:, :1].float() * conditioned.view(n, 1, 1, 1)  # (B, 1, T, P), zero where hidden
        return melody, conditioned

    def forward(self, z: torch.Tensor, cond: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """Generate rolls.

        Parameters
        ----------
        z
            Noise, (B, L, T/16, P/16).
        cond
            ``(melody (B, 1, T, P) in [0, 1], conditioned (B,) bool)`` from
            :meth:`condition`, or None: unconditional (the encoder then sees zeros, as for
            the hidden share in training). Conditioned samples keep their melody as track 0.

        Returns
        -------
        torch.Tensor
            Probabilities, (B, C, T, P); track 0 equals ``melody`` where conditioned.
        """
        n = z.shape[0]
        _, t, p = self.sample_shape
        if cond is None:
            melody = z.new_zeros(n, 1, t, p)
            conditioned = torch.zeros(n, dtype=torch.bool, device=z.device)
        else:
            melody, conditioned = cond
        skips = []
        h = melody  # (B, 1, T, P)
        for level in self.down:
            h = level(h)
            skips.append(h)  # (B, b, T/2, P/2) ... (B, 8b, T/16, P/16)
        h = torch.cat([skips.pop(), z], dim=1)  # (B, 8b + L, T/16, P/16)
        for level in self.up:
            h = torch.cat([level(h), skips.pop()], dim=1)  # (B, 8b, T/8, P/8) ... (B, 2b, T/2, P/2)
        roll = torch.sigmoid(self.out(h))  # (B, C, T, P)
        keep = conditioned.view(n, 1, 1, 1)
        return torch.cat([torch.where(keep, melody, roll[:, :1]), roll[:, 1:]], dim=1)  # (B, C, T, P)


class RollCritic(nn.Module):
    """Multi-track roll -> one unbounded realness score per sample (WGAN critic)."""

    def __init__(self, arch: S0UNetArch, shape: tuple[int, int, int]):
        super().__init__()
        c, t, p = shape
        b = arch.base_channels
        layers: list[nn.Module] = []
        widths = [c, b, 2 * b, 4 * b, 8 * b]
        for level, (c_in, c_out) in enumerate(pairwise(widths)):
            layers.append(nn.Conv2d(c_in, c_out, 4, 2, 1))
            if level > 0:  # layer norm over (C, H, W), per sample: safe with the gradient penalty
                layers.append(nn.GroupNorm(1, c_out))
            layers.append(nn.LeakyReLU(LEAKY_SLOPE))
        self.features = nn.Sequential(*layers)
        self.group = arch.minibatch_std
        extra = 1 if self.group else 0
        self.score = nn.Linear((8 * b + extra) * (t // DOWNSAMPLING) * (p // DOWNSAMPLING), 1)

    def forward(self, roll: torch.Tensor) -> torch.Tensor:
        """Score rolls (B, C, T, P) -> (B,)."""
        h = self.features(roll)  # (B, 8b, T/16, P/16)
        if self.group:
            h = torch.cat([h, minibatch_std(h, self.group)], dim=1)  # (B, 8b + 1, T/16, P/16)
        return self.score(h.flatten(1)).squeeze(1)  # (B,)


def minibatch_std(h: torch.Tensor, group: int) -> torch.Tensor:
    """ProGAN's minibatch standard deviation map (Karras et al. 2018): (B, C, H, W) -> (B, 1, H, W).

    The batch is cut into groups of ``group`` consecutive samples (the whole batch when it
    does not divide); within a group, the standard deviation of every feature across the
    samples is averaged into one number, which becomes a constant map for each sample of
    the group. A score then depends on the other samples of its group, by design.
    """
    b, _, hh, ww = h.shape
    g = group if b % group == 0 else b
    y = h.reshape(g, b // g, *h.shape[1:])  # (G, B/G, C, H, W): sample i is in group i % (B/G)
    y = torch.sqrt(y.var(dim=0, unbiased=False) + 1e-8)  # (B/G, C, H, W)
    y = y.mean(dim=(1, 2, 3))  # (B/G,)
    return y.repeat(g).view(b, 1, 1, 1).expand(b, 1, hh, ww)  # (B, 1, H, W)


def build_s0_unet(arch: S0UNetArch, encoding: dict[str, Any]) -> dict[str, nn.Module]:
    """Build S0's generator and critic for the roll shape in ``encoding["shape"]``."""
    shape = roll_shape(encoding)
    return {"generator": UNetGenerator(arch, shape), "critic": RollCritic(arch, shape)}


register_model("s0_unet", S0UNetArch, build_s0_unet)
