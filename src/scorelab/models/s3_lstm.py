"""S3's next-column LSTM on its 88-key images (section 9), and its 3-class form.

A column of the image is one time step of 88 values in [0, 1] (the 1-channel flavour:
onset 125/255, sustain 1). Shapes: B batch, T input columns (S3: 100), K = 88 keys.

``s3_lstm`` (section 9.2, figure 12): LSTM(128) over the T columns -> its last output ->
Dense(88), linear (Keras' default); 111,104 + 11,352 weights, as S3 prints. With
``classes: 3`` (S3's proposed next step, section 9.3): Dense(88 * 3) -> a softmax over
silent / onset / sustain for every key. S3's seq2seq LSTM is
:mod:`scorelab.models.s3_seq2seq`.
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


def build_s3_lstm(arch: S3LSTMArch, encoding: dict[str, Any]) -> dict[str, nn.Module]:
    return {"model": NextColumnLSTM(arch, keys_of(encoding))}


register_model("s3_lstm", S3LSTMArch, build_s3_lstm)
