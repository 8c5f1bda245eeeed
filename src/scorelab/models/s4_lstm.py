"""S4: a one-layer LSTM over melody tokens that predicts the next token.

S4 (docs/papers.md) follows the classic Keras melody model: one-hot symbols -> LSTM(256) ->
dropout 0.2 -> dense softmax over the 38-symbol vocabulary, trained with sparse
categorical cross-entropy (Hochreiter & Schmidhuber 1997 for the LSTM; the recipe is
Velardo's "Generating melodies with LSTM nets"). The softmax lives in the loss and in
the sampler, so this module returns logits.

Shapes: B batch, T time steps, V vocabulary size, H hidden units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence

from scorelab.errors import ParamsError
from scorelab.models import register_model


@dataclass(frozen=True)
class S4LSTMArch:
    """Architecture of S4's melody LSTM.

    Attributes
    ----------
    hidden
        LSTM units (S4: 256).
    dropout
        Dropout on the LSTM outputs before the dense layer (S4: 0.2).
    """

    hidden: int
    dropout: float

    def __post_init__(self) -> None:
        if self.hidden < 1:
            raise ParamsError(f"hidden: must be >= 1, got {self.hidden}")
        if not 0.0 <= self.dropout < 1.0:
            raise ParamsError(f"dropout: must be in [0, 1), got {self.dropout}")


class MelodyLSTM(nn.Module):
    """One-hot tokens -> LSTM -> dropout -> next-token logits."""

    def __init__(self, arch: S4LSTMArch, vocab_size: int):
        super().__init__()
        self.vocab_size = vocab_size
        self.lstm = nn.LSTM(vocab_size, arch.hidden, batch_first=True)
        self.dropout = nn.Dropout(arch.dropout)
        self.head = nn.Linear(arch.hidden, vocab_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits for the token after every position: ids (B, T) -> (B, T, V)."""
        x = F.one_hot(ids, self.vocab_size).float()  # (B, T, V)
        h, _ = self.lstm(x)  # (B, T, H)
        return self.head(self.dropout(h))  # (B, T, V)

    def next_logits(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits for the token after each sequence's last real position.

        Parameters
        ----------
        ids
            Right-padded contexts, (B, T).
        lengths
            (B,) the number of real tokens in each row (>= 1).

        Returns
        -------
        torch.Tensor
            (B, V). Packing keeps the padding out of the LSTM state, so contexts of
            different lengths share one batch.
        """
        x = F.one_hot(ids, self.vocab_size).float()  # (B, T, V)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.lstm(packed)  # h_n: (1, B, H), at each row's last real step
        return self.head(self.dropout(h_n[0]))  # (B, V)


def build_s4_lstm(arch: S4LSTMArch, encoding: dict[str, Any]) -> dict[str, MelodyLSTM]:
    """Build S4's LSTM for ``encoding["vocab_size"]`` symbols.

    Raises
    ------
    ParamsError
        When the encoding has no positive integer ``vocab_size``.
    """
    vocab = encoding.get("vocab_size")
    if isinstance(vocab, bool) or not isinstance(vocab, int) or vocab < 2:
        raise ParamsError(f"encoding.vocab_size: expected an integer >= 2, got {vocab!r}")
    return {"model": MelodyLSTM(arch, vocab)}


register_model("s4_lstm", S4LSTMArch, build_s4_lstm)
