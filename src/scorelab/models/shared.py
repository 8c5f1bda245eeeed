"""Networks that more than one model uses: S1's Bi-LSTM discriminator, also S4's.

S1 (docs/papers.md) trains a Bi-LSTM GAN (Model A, :mod:`scorelab.models.s1_bilstm`) and a
CNN-LSTM GAN (Model B, :mod:`scorelab.models.s1_cnn_lstm`) on one-track many-hot rolls
of the Lakh Pianoroll Dataset. The paper has no code; its Keras summaries (Fig. 4 and 5)
show a generator and a discriminator on (100, 1) sequences: 100 steps of one scalar (the
first LSTM's 1 052 672 weights imply one input feature). On a piano roll we read each
time step as one P-dimensional many-hot vector, so both networks work on sequences of T
steps x P features, and the roll (1, T, P) is that sequence with a track axis in front.

Discriminator of both (Fig. 5): LSTM(512) -> Bi-LSTM(512) (its final output, both
directions) -> Dense(512) LeakyReLU -> Dense(256) LeakyReLU -> Dense(1). The paper's
sigmoid is in the loss (``BCEWithLogits``), so the critic returns logits and a WGAN
loss can use it unchanged. No BatchNorm and no dropout: the summary shows none, and a
per-sample critic keeps a sample's score independent of its batch. S4's discriminator
(:mod:`scorelab.models.s4_mlp_gan`) is the same network with one more dense layer and
dropout.

Unstated everywhere in S1: LeakyReLU slope 0.2 (DCGAN's); BatchNorm with Keras' defaults
(momentum 0.99, i.e. PyTorch momentum 0.01, and eps 1e-3;
:data:`scorelab.models.base.KERAS_BN_MOMENTUM`), since the summaries are Keras'.

Shapes: B batch, T time steps, P pitches, F features per step, H hidden units.
"""

from __future__ import annotations

import torch
from torch import nn

S1_D_WIDTHS = (512, 256)  # S1's discriminator's dense layers (Fig. 5)


class BiLSTMCritic(nn.Module):
    """Sequence critic: LSTM -> Bi-LSTM (final outputs) -> Dense + LeakyReLU ... -> Dense(1).

    S1's discriminator (Fig. 5); S4's (:mod:`scorelab.models.s4_mlp_gan`) is the same with
    one more dense layer and dropout. A sample of ``sample_shape`` is read as ``seq_len``
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


def s1_critic(shape: tuple[int, int, int], d_hidden: int, leaky_slope: float) -> BiLSTMCritic:
    """S1's discriminator for rolls of ``shape`` (1, T, P): T steps of P pitches."""
    _, t, p = shape
    return BiLSTMCritic(t, p, d_hidden, S1_D_WIDTHS, dropout=0.0, leaky_slope=leaky_slope)
