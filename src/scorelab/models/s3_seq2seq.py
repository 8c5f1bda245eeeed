"""S3's seq2seq LSTM on its 88-key images (section 9.3): the next columns, free-running.

A column of the image is one time step of 88 values in [0, 1] (the 1-channel flavour:
onset 125/255, sustain 1). Shapes: B batch, T input columns (S3: 100), K = 88 keys.

``s3_seq2seq`` (section 9.3, figure 16): encoder LSTM(128) over the T input columns; its
final state starts a decoder LSTM(128) that unrolls ``out`` steps; each decoder output ->
Dense(128) -> Dense(88); 250,072 weights as S3 prints. S3 "stopped using teacher
forcing": the decoder's input at each step is its own previous prediction, the first one
the last input column. The one-step LSTM is :mod:`scorelab.models.s3_lstm`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from scorelab.errors import ParamsError
from scorelab.models import register_model
from scorelab.models.base import keys_of


@dataclass(frozen=True)
class S3Seq2SeqArch:
    """``hidden`` (128) units of both LSTMs and of the Dense between them and the output."""

    hidden: int = 128

    def __post_init__(self) -> None:
        if self.hidden < 1:
            raise ParamsError(f"hidden: must be >= 1, got {self.hidden}")


class Seq2SeqLSTM(nn.Module):
    """(B, T, K) columns -> the next ``steps`` columns (B, steps, K), free-running decoder."""

    def __init__(self, arch: S3Seq2SeqArch, keys: int):
        super().__init__()
        self.keys, self.classes = keys, 1
        self.encoder = nn.LSTM(keys, arch.hidden, batch_first=True)
        self.decoder = nn.LSTMCell(keys, arch.hidden)
        self.head = nn.Sequential(nn.Linear(arch.hidden, arch.hidden), nn.Linear(arch.hidden, keys))

    def forward(self, x: torch.Tensor, steps: int = 1) -> torch.Tensor:
        _, (h, c) = self.encoder(x)
        h, c = h[0], c[0]
        prev, outs = x[:, -1], []
        for _ in range(steps):
            h, c = self.decoder(prev, (h, c))
            prev = self.head(h)
            outs.append(prev)
        return torch.stack(outs, dim=1)


def build_s3_seq2seq(arch: S3Seq2SeqArch, encoding: dict[str, Any]) -> dict[str, nn.Module]:
    return {"model": Seq2SeqLSTM(arch, keys_of(encoding))}


register_model("s3_seq2seq", S3Seq2SeqArch, build_s3_seq2seq)
