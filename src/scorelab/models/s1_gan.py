"""S1: a Bi-LSTM GAN (Model A) and a CNN-LSTM GAN (Model B) on single-track piano rolls.

S1 (SEEDS.md) trains both on one-track many-hot rolls of the Lakh Pianoroll Dataset. The
paper has no code; its Keras summaries (Fig. 4 and 5) show a generator and a
discriminator on (100, 1) sequences: 100 steps of one scalar (the first LSTM's 1 052 672
weights imply one input feature). On a piano roll we read each time step as one
P-dimensional many-hot vector, so both networks work on sequences of T steps x P
features, and the roll (1, T, P) is that sequence with a track axis in front.

Model A, Bi-LSTM GAN (Fig. 4): G = LSTM(512) -> Bi-LSTM(2 x 512) -> Bi-LSTM(2 x 512),
dropout after each ("Dropout is applied in every layer"; the summary shows two of the
three and no rate: we take 0.3), then Dense(1024) + LeakyReLU + BatchNorm -> Dense.
The paper's last Bi-LSTM returns only its final state and Dense(100) writes the whole
sequence at once; here every recurrent layer returns the whole sequence and the two dense
layers act per time step (Dense(P) + sigmoid: the notes of that step), so a step's
output is tied to the step's recurrent state. The paper's noise is 100 scalars, one per
step; ours is ``latent`` numbers per step, z of shape (T, latent) (paper: latent 1).

Model B, CNN-LSTM GAN (Fig. 6, prose only): "DCGAN-like": z(100) -> Dense -> reshape ->
two [UpSampling + Conv2DTranspose] sub-units, BatchNorm after the first, LeakyReLU at the
end of each -> Conv2DTranspose -> the roll. Unstated details follow the Keras DCGAN
built of up-sampling + convolution sub-units (Keras-GAN's ``dcgan.py``, after Radford et
al. 2015): 3x3 kernels with "same" padding (so only the up-samplings change the size,
hence T and P divisible by 4), channels c then c/2, a nonlinearity after the dense
projection, conv -> BatchNorm -> activation; the output is a sigmoid (0/1 cells).

Discriminator of both (Fig. 5): LSTM(512) -> Bi-LSTM(512) (its final output, both
directions) -> Dense(512) LeakyReLU -> Dense(256) LeakyReLU -> Dense(1). The paper's
sigmoid is in the loss (``BCEWithLogits``), so the critic returns logits and a WGAN
loss can use it unchanged. No BatchNorm and no dropout: the summary shows none, and a
per-sample critic keeps a sample's score independent of its batch.

Unstated everywhere: LeakyReLU slope 0.2 (DCGAN's); BatchNorm with Keras' defaults
(momentum 0.99, i.e. PyTorch momentum 0.01, and eps 1e-3), since the summaries are
Keras'.

Shapes: B batch, T time steps, P pitches, Z latent per step, H hidden units, c channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from scorelab.errors import ParamsError
from scorelab.models.base import Generator

DEFAULT_SHAPE = (1, 32, 64)  # one piano track x 2 bars of 16th notes x 64 pitches
KERAS_BN_MOMENTUM = 0.01  # Keras BatchNormalization(momentum=0.99): running = 0.99 run + 0.01 batch
KERAS_BN_EPS = 1e-3  # Keras' default epsilon (PyTorch's is 1e-5)
D_WIDTHS = (512, 256)  # the discriminator's dense layers (S1, Fig. 5)
UPSAMPLING = 4  # Model B: two x2 up-sampling sub-units
KERNEL = 3  # Model B: 3x3 transposed convolutions, "same" padding (Keras-GAN's DCGAN)


def _check_positive(arch: Any, *keys: str) -> None:
    for key in keys:
        if getattr(arch, key) < 1:
            raise ParamsError(f"{key}: must be >= 1, got {getattr(arch, key)}")


def _check_slope(leaky_slope: float) -> None:
    if not 0.0 <= leaky_slope < 1.0:
        raise ParamsError(f"leaky_slope: must be in [0, 1), got {leaky_slope}")


@dataclass(frozen=True)
class S1BiLSTMArch:
    """Architecture of S1's Model A, the Bi-LSTM GAN.

    Attributes
    ----------
    hidden
        Units of G's LSTM and of each direction of its Bi-LSTMs (S1: 512).
    dense
        Width of G's per-step hidden dense layer (S1: 1024).
    latent
        Noise numbers per time step; z is (T, latent) (S1: 1, its input is (100, 1)).
    d_hidden
        Units of D's LSTM and of each direction of its Bi-LSTM (S1: 512).
    dropout
        Rate of the dropout after each of G's recurrent layers (S1: unstated; 0.3).
    leaky_slope
        Negative slope of every LeakyReLU (S1: unstated; DCGAN's 0.2).
    """

    hidden: int
    dense: int
    latent: int
    d_hidden: int
    dropout: float = 0.3
    leaky_slope: float = 0.2

    def __post_init__(self) -> None:
        _check_positive(self, "hidden", "dense", "latent", "d_hidden")
        if not 0.0 <= self.dropout < 1.0:
            raise ParamsError(f"dropout: must be in [0, 1), got {self.dropout}")
        _check_slope(self.leaky_slope)


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
        _check_positive(self, "latent", "d_hidden")
        if self.channels < 2:
            raise ParamsError(f"channels: must be >= 2 (the second sub-unit has half), got {self.channels}")
        _check_slope(self.leaky_slope)


def roll_shape(encoding: dict[str, Any], multiple: int = 1) -> tuple[int, int, int]:
    """Return (1, T, P) from ``encoding["shape"]`` (default 1 x 32 x 64), checked.

    Raises
    ------
    ParamsError
        When the shape is not three positive integers, has more than one track (S1's
        models are single-track: set the codec's ``merge_tracks``), or T or P is not a
        multiple of ``multiple`` (Model B up-samples by 4).
    """
    shape = encoding.get("shape", DEFAULT_SHAPE)
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


class BiLSTMCritic(nn.Module):
    """Sequence critic: LSTM -> Bi-LSTM (final outputs) -> Dense + LeakyReLU ... -> Dense(1).

    S1's discriminator (Fig. 5); S4's (:mod:`scorelab.models.s4_gan`) is the same with one
    more dense layer and dropout. A sample of ``sample_shape`` is read as ``seq_len``
    steps of ``features`` numbers (a (1, T, P) roll: T steps of P pitches; S4's (L,)
    sequence: L steps of one value).

    Parameters
    ----------
    seq_len, features
        Steps and features per step of a sample.
    hidden
        Units of the LSTM and of each direction of the Bi-LSTM.
    widths
        Widths of the dense layers, each followed by LeakyReLU.
    dropout
        Rate of a dropout before the output layer (0: none).
    leaky_slope
        Negative slope of the LeakyReLUs.
    """

    def __init__(
        self,
        seq_len: int,
        features: int,
        hidden: int,
        widths: tuple[int, ...],
        dropout: float = 0.0,
        leaky_slope: float = 0.2,
    ):
        super().__init__()
        self.seq_len, self.features, self.hidden = seq_len, features, hidden
        self.lstm = nn.LSTM(features, hidden, batch_first=True)
        self.bilstm = nn.LSTM(hidden, hidden, batch_first=True, bidirectional=True)
        layers: list[nn.Module] = []
        width = 2 * hidden
        for w in widths:
            layers += [nn.Linear(width, w), nn.LeakyReLU(leaky_slope)]
            width = w
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(width, 1))
        self.head = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Score samples (B, *sample_shape) -> logits (B,)."""
        seq = x.reshape(x.shape[0], self.seq_len, self.features)  # (B, T, F)
        h, _ = self.lstm(seq)  # (B, T, H)
        h, _ = self.bilstm(h)  # (B, T, 2H)
        # Keras' Bidirectional(LSTM) output: the forward pass at the last step, the backward
        # pass at the first. Read from the sequence (equal to h_n) so a noise hook on the
        # layer's output (optim.add_noise) reaches it, as Keras' GaussianNoise after it does.
        last = torch.cat([h[:, -1, : self.hidden], h[:, 0, self.hidden :]], dim=1)  # (B, 2H)
        return self.head(last).squeeze(1)  # (B,)


class BiLSTMGenerator(Generator):
    """Model A's generator: per-step noise (B, T, Z) -> roll probabilities (B, 1, T, P)."""

    def __init__(self, arch: S1BiLSTMArch, shape: tuple[int, int, int]):
        super().__init__()
        _, t, p = shape
        h = arch.hidden
        self.sample_shape = shape
        self.latent_shape = (t, arch.latent)
        self.lstm = nn.LSTM(arch.latent, h, batch_first=True)
        self.bilstm1 = nn.LSTM(h, h, batch_first=True, bidirectional=True)
        self.bilstm2 = nn.LSTM(2 * h, h, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(arch.dropout)
        self.dense = nn.Linear(2 * h, arch.dense)
        self.act = nn.LeakyReLU(arch.leaky_slope)
        self.norm = nn.BatchNorm1d(arch.dense, eps=KERAS_BN_EPS, momentum=KERAS_BN_MOMENTUM)
        self.out = nn.Linear(arch.dense, p)

    def forward(self, z: torch.Tensor, cond: None = None) -> torch.Tensor:
        """Generate rolls from noise z (B, T, Z); ``cond`` is unused (unconditional)."""
        h, _ = self.lstm(z)  # (B, T, H)
        h, _ = self.bilstm1(self.dropout(h))  # (B, T, 2H)
        h, _ = self.bilstm2(self.dropout(h))  # (B, T, 2H)
        h = self.act(self.dense(self.dropout(h)))  # (B, T, dense)
        h = self.norm(h.transpose(1, 2)).transpose(1, 2)  # (B, T, dense); statistics over batch and steps
        return torch.sigmoid(self.out(h)).unsqueeze(1)  # (B, 1, T, P)


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


def s1_critic(shape: tuple[int, int, int], d_hidden: int, leaky_slope: float) -> BiLSTMCritic:
    """S1's discriminator for rolls of ``shape`` (1, T, P): T steps of P pitches."""
    _, t, p = shape
    return BiLSTMCritic(t, p, d_hidden, D_WIDTHS, dropout=0.0, leaky_slope=leaky_slope)


def build_s1_bilstm(arch: S1BiLSTMArch, encoding: dict[str, Any]) -> dict[str, nn.Module]:
    """Build Model A (Bi-LSTM generator, Bi-LSTM critic) for the roll in ``encoding["shape"]``."""
    shape = roll_shape(encoding)
    return {
        "generator": BiLSTMGenerator(arch, shape),
        "critic": s1_critic(shape, arch.d_hidden, arch.leaky_slope),
    }


def build_s1_cnn_lstm(arch: S1CNNLSTMArch, encoding: dict[str, Any]) -> dict[str, nn.Module]:
    """Build Model B (DCGAN-like generator, Bi-LSTM critic); T and P must divide by 4."""
    shape = roll_shape(encoding, UPSAMPLING)
    return {
        "generator": CNNGenerator(arch, shape),
        "critic": s1_critic(shape, arch.d_hidden, arch.leaky_slope),
    }
