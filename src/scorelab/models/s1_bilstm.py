"""S1's Model A: a Bi-LSTM GAN on single-track piano rolls.

S1 (docs/papers.md) reads its Keras summaries' (100, 1) sequences; here a roll (1, T, P) is T
steps of P-dimensional many-hot vectors (:mod:`scorelab.models.shared`, which also holds
the discriminator this model shares with Model B, :mod:`scorelab.models.s1_cnn_lstm`).

Bi-LSTM GAN (Fig. 4): G = LSTM(512) -> Bi-LSTM(2 x 512) -> Bi-LSTM(2 x 512), dropout
after each ("Dropout is applied in every layer"; the summary shows two of the three and
no rate: we take 0.3), then Dense(1024) + LeakyReLU + BatchNorm -> Dense. The paper's
last Bi-LSTM returns only its final state and Dense(100) writes the whole sequence at
once; here every recurrent layer returns the whole sequence and the two dense layers act
per time step (Dense(P) + sigmoid: the notes of that step), so a step's output is tied
to the step's recurrent state. The paper's noise is 100 scalars, one per step; ours is
``latent`` numbers per step, z of shape (T, latent) (paper: latent 1).

Unstated: LeakyReLU slope 0.2 (DCGAN's); BatchNorm with Keras' defaults (momentum 0.99,
i.e. PyTorch momentum 0.01, and eps 1e-3), since the summaries are Keras'.

Shapes: B batch, T time steps, P pitches, Z latent per step, H hidden units.
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
        check_positive(self, "hidden", "dense", "latent", "d_hidden")
        if not 0.0 <= self.dropout < 1.0:
            raise ParamsError(f"dropout: must be in [0, 1), got {self.dropout}")
        check_slope(self.leaky_slope)


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


def build_s1_bilstm(arch: S1BiLSTMArch, encoding: dict[str, Any]) -> dict[str, nn.Module]:
    """Build Model A (Bi-LSTM generator, Bi-LSTM critic) for the roll in ``encoding["shape"]``."""
    shape = roll_shape(encoding)
    return {
        "generator": BiLSTMGenerator(arch, shape),
        "critic": s1_critic(shape, arch.d_hidden, arch.leaky_slope),
    }


register_model("s1_bilstm", S1BiLSTMArch, build_s1_bilstm)
