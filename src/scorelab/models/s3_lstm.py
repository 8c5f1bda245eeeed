"""S3's next-column models on its 88-key images (section 9): LSTM, seq2seq LSTM, 3-class LSTM.

A column of the image is one time step of 88 values in [0, 1] (the 1-channel flavour:
onset 125/255, sustain 1). Shapes: B batch, T input columns (S3: 100), K = 88 keys.

- ``s3_lstm`` (section 9.2, figure 12): LSTM(128) over the T columns -> its last output ->
  Dense(88), linear (Keras' default); 111,104 + 11,352 weights, as S3 prints. With
  ``classes: 3`` (S3's proposed next step, section 9.3): Dense(88 * 3) -> a softmax over
  silent / onset / sustain for every key.
- ``s3_seq2seq`` (section 9.3, figure 16): encoder LSTM(128) over the T input columns;
  its final state starts a decoder LSTM(128) that unrolls ``out`` steps; each decoder
  output -> Dense(128) -> Dense(88); 250,072 weights as S3 prints. S3 "stopped using
  teacher forcing": the decoder's input at each step is its own previous prediction, the
  first one the last input column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from scorelab.errors import ParamsError

KEYS = 88


def keys_of(encoding: dict[str, Any]) -> int:
    shape = encoding.get("shape", [1, KEYS, 0])
    if not isinstance(shape, list | tuple) or len(shape) != 3 or shape[0] != 1:
        raise ParamsError(f"encoding.shape: the next-column models take 1-channel images, got {shape!r}")
    return int(shape[1])


@dataclass(frozen=True)
class S3LSTMArch:
    """``hidden`` (128) LSTM units; ``classes``: 1 (a value per key) or 3 (silent/onset/sustain)."""

    hidden: int = 128
    classes: int = 1

    def __post_init__(self) -> None:
        if self.hidden < 1:
            raise ParamsError(f"hidden: must be >= 1, got {self.hidden}")
        if self.classes not in (1, 3):
            raise ParamsError(f"classes: 1 (values) or 3 (silent/onset/sustain), got {self.classes}")


class NextColumnLSTM(nn.Module):
    """(B, T, K) columns -> the next column: (B, K) values, or (B, K, 3) logits."""

    def __init__(self, arch: S3LSTMArch, keys: int):
        super().__init__()
        self.keys, self.classes, self.out_steps = keys, arch.classes, 1
        self.lstm = nn.LSTM(keys, arch.hidden, batch_first=True)
        self.out = nn.Linear(arch.hidden, keys * arch.classes)

    def forward(self, x: torch.Tensor, steps: int = 1) -> torch.Tensor:
        h, _ = self.lstm(x)
        y = self.out(h[:, -1])
        return y if self.classes == 1 else y.view(len(x), self.keys, self.classes)


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


def build_s3_lstm(arch: S3LSTMArch, encoding: dict[str, Any]) -> dict[str, nn.Module]:
    return {"model": NextColumnLSTM(arch, keys_of(encoding))}


def build_s3_seq2seq(arch: S3Seq2SeqArch, encoding: dict[str, Any]) -> dict[str, nn.Module]:
    return {"model": Seq2SeqLSTM(arch, keys_of(encoding))}
