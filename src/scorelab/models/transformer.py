"""A small decoder-only Transformer over tokens: the modern reference model (issue 24).

None of the five papers compares with a Transformer. This is the smallest competent one,
GPT-style (Radford et al. 2018; the layout of Karpathy's nanoGPT): learned token and
position embeddings, ``layers`` pre-norm blocks of causal self-attention and a feed-forward
layer, a final LayerNorm and a linear head to the vocabulary. It keeps the sequence-model
contract of :mod:`scorelab.models.base` (``vocab_size``, ``forward(ids)`` -> logits at every
position, ``next_logits(ids, lengths)``), so the likelihood trainer trains it and the token
sampler continues seeds with it, exactly as they do S4's LSTM.

Shapes: B batch, T positions (at most ``context``), V vocabulary, D model width.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from scorelab.errors import ParamsError
from scorelab.models import register_model
from scorelab.models.base import check_positive


@dataclass(frozen=True)
class TransformerArch:
    """Architecture of the decoder-only Transformer.

    Attributes
    ----------
    width
        Model width D (embedding size).
    layers
        Transformer blocks.
    heads
        Attention heads (must divide ``width``).
    feedforward
        Hidden units of each block's feed-forward layer.
    dropout
        Dropout in attention, feed-forward and on the embeddings.
    context
        Longest sequence the position embedding covers (at least the training window).
    """

    width: int = 128
    layers: int = 2
    heads: int = 4
    feedforward: int = 256
    dropout: float = 0.1
    context: int = 512

    def __post_init__(self) -> None:
        check_positive(self, "width", "layers", "heads", "feedforward", "context")
        if self.width % self.heads:
            raise ParamsError(f"heads: must divide width ({self.width}), got {self.heads}")
        if not 0.0 <= self.dropout < 1.0:
            raise ParamsError(f"dropout: must be in [0, 1), got {self.dropout}")


class DecoderTransformer(nn.Module):
    """Token ids -> causal Transformer -> next-token logits at every position."""

    def __init__(self, arch: TransformerArch, vocab_size: int):
        super().__init__()
        self.vocab_size, self.context = vocab_size, arch.context
        self.tokens = nn.Embedding(vocab_size, arch.width)
        self.positions = nn.Embedding(arch.context, arch.width)
        self.dropout = nn.Dropout(arch.dropout)
        block = nn.TransformerEncoderLayer(
            arch.width,
            arch.heads,
            arch.feedforward,
            arch.dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,  # pre-norm, as GPT-2 and nanoGPT: stable without warm-up
        )
        self.blocks = nn.TransformerEncoder(block, arch.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(arch.width)
        self.head = nn.Linear(arch.width, vocab_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits for the token after every position: ids (B, T) -> (B, T, V).

        Raises
        ------
        ValueError
            When T exceeds ``context`` (the position embedding's length).
        """
        t = ids.shape[1]
        if t > self.context:
            raise ValueError(f"sequence of {t} tokens is longer than the model's context {self.context}")
        pos = torch.arange(t, device=ids.device)
        x = self.dropout(self.tokens(ids) + self.positions(pos))  # (B, T, D)
        mask = nn.Transformer.generate_square_subsequent_mask(t, device=ids.device)  # (T, T), -inf above
        h = self.blocks(x, mask=mask, is_causal=True)  # (B, T, D)
        return self.head(self.norm(h))  # (B, T, V)

    def next_logits(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits for the token after each row's last real position: (B, T) right-padded,
        lengths (B,) >= 1 -> (B, V). Attention is causal, so the padding after a row's last
        real token changes nothing before it."""
        logits = self.forward(ids)  # (B, T, V)
        last = (lengths.to(ids.device) - 1).clamp(min=0)
        return logits[torch.arange(len(ids), device=ids.device), last]


def build_transformer(arch: TransformerArch, encoding: dict[str, Any]) -> dict[str, DecoderTransformer]:
    """Build the Transformer for ``encoding["vocab_size"]`` tokens.

    Raises
    ------
    ParamsError
        When the encoding has no integer ``vocab_size`` >= 2.
    """
    vocab = encoding.get("vocab_size")
    if isinstance(vocab, bool) or not isinstance(vocab, int) or vocab < 2:
        raise ParamsError(f"encoding.vocab_size: expected an integer >= 2, got {vocab!r}")
    return {"model": DecoderTransformer(arch, vocab)}


register_model("transformer", TransformerArch, build_transformer)
