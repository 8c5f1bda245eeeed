"""An LSTM over binary key frames with a Bernoulli or a NADE output: the JSB ladder's models.

The ladder's published rows (Krishnan et al. 2017, Tables 3-4, on Boulanger-Lewandowski's
JSB split) include a plain RNN whose output is one independent Bernoulli per key (8.71
nats per frame) and the RNN-NADE of Boulanger-Lewandowski et al. (2012, 5.19), where the
recurrent state sets the biases of a NADE (Larochelle & Murray 2011) that models the keys
of a frame one after another. Both are here, one model with ``output: bernoulli | nade``:

- the LSTM reads the previous frame (a zero frame before the first) and gives ``h_t``;
- ``bernoulli``: ``logit_tk = (U h_t + b)_k``;
- ``nade``: visible biases ``b_t = B h_t + b`` and hidden biases ``c_t = C h_t + c`` (as
  the RNN-NADE's), shared weights ``W`` (H_nade x K) and ``V`` (K x H_nade);
  ``a_tk = c_t + W[:, :k] x_t[:k]``, ``logit_tk = b_tk + V[k] . sigmoid(a_tk)``: key k's
  probability given the past and the keys below it, which training and scoring observe
  (teacher forcing) and sampling draws in order.

Either way :meth:`FrameRNN.key_logits` gives one logit per key and frame, and the
frame's log-likelihood is the sum of the keys' Bernoulli log-likelihoods
(:mod:`scorelab.metrics.likelihood`). Shapes: B pieces, T frames, K keys, H hidden units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn
from torch.nn import functional as F

from scorelab.errors import ParamsError
from scorelab.models import register_model
from scorelab.models.base import check_positive


@dataclass(frozen=True)
class FrameRNNArch:
    """Architecture of the frame model.

    Attributes
    ----------
    hidden
        LSTM units.
    layers
        Stacked LSTM layers.
    dropout
        Dropout on the LSTM's outputs (and between its layers).
    output
        ``bernoulli`` (independent keys given the past) or ``nade``.
    nade_hidden
        The NADE's hidden units (``nade`` only).
    """

    hidden: int
    layers: int = 1
    dropout: float = 0.0
    output: Literal["bernoulli", "nade"] = "bernoulli"
    nade_hidden: int = 100

    def __post_init__(self) -> None:
        check_positive(self, "hidden", "layers", "nade_hidden")
        if not 0.0 <= self.dropout < 1.0:
            raise ParamsError(f"dropout: must be in [0, 1), got {self.dropout}")


class FrameRNN(nn.Module):
    """Previous frames -> LSTM -> per-key logits of the next frame (Bernoulli or NADE)."""

    def __init__(self, arch: FrameRNNArch, n_keys: int):
        super().__init__()
        self.n_keys, self.output = n_keys, arch.output
        between = arch.dropout if arch.layers > 1 else 0.0
        self.lstm = nn.LSTM(n_keys, arch.hidden, arch.layers, batch_first=True, dropout=between)
        self.dropout = nn.Dropout(arch.dropout)
        self.visible = nn.Linear(arch.hidden, n_keys)  # U h + b, or the NADE's b_t
        if arch.output == "nade":
            self.hidden_bias = nn.Linear(arch.hidden, arch.nade_hidden)  # c_t
            self.W = nn.Parameter(torch.randn(arch.nade_hidden, n_keys) * 0.01)
            self.V = nn.Parameter(torch.randn(n_keys, arch.nade_hidden) * 0.01)

    def states(self, frames: torch.Tensor) -> torch.Tensor:
        """h_t for every frame t, from frames 0..t-1: frames (B, T, K) -> (B, T, H)."""
        previous = F.pad(frames, (0, 0, 1, 0))[:, :-1]  # a zero frame, then frames 0..T-2
        h, _ = self.lstm(previous)
        return self.dropout(h)

    def key_logits(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, T, K) logit of each key being on, given earlier frames (and, for a NADE, the
        frame's lower keys as observed in ``frames``)."""
        h = self.states(frames)
        b = self.visible(h)  # (B, T, K)
        if self.output == "bernoulli":
            return b
        xw = frames.unsqueeze(-1) * self.W.t()  # (B, T, K, Hn): key k's contribution x_k W[:, k]
        below = torch.cumsum(xw, dim=2) - xw  # sum over keys j < k
        a = self.hidden_bias(h).unsqueeze(2) + below  # (B, T, K, Hn)
        return b + (torch.sigmoid(a) * self.V).sum(-1)

    @torch.no_grad()
    def generate(self, n: int, length: int, rng: torch.Generator) -> torch.Tensor:
        """``n`` pieces of ``length`` frames drawn from the model: (n, length, K) uint8."""
        device = self.visible.weight.device
        frame = torch.zeros(n, 1, self.n_keys, device=device)
        state, out = None, []
        for _ in range(length):
            h, state = self.lstm(frame, state)
            h = self.dropout(h[:, 0])  # (n, H)
            b = self.visible(h)
            if self.output == "bernoulli":
                u = torch.rand(b.shape, generator=rng, device=device)
                x = (u < torch.sigmoid(b)).float()
            else:
                x = self._nade_draw(h, b, rng)
            out.append(x)
            frame = x.unsqueeze(1)
        return torch.stack(out, 1).to(torch.uint8)

    def _nade_draw(self, h: torch.Tensor, b: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        """One frame per row drawn key by key from the NADE: (n, K) float 0/1."""
        a = self.hidden_bias(h)  # (n, Hn)
        keys = []
        for k in range(self.n_keys):
            p = torch.sigmoid(b[:, k] + torch.sigmoid(a) @ self.V[k])
            x = (torch.rand(p.shape, generator=rng, device=p.device) < p).float()
            a = a + x[:, None] * self.W[:, k]
            keys.append(x)
        return torch.stack(keys, 1)


def build_frame_rnn(arch: FrameRNNArch, encoding: dict[str, Any]) -> dict[str, FrameRNN]:
    """Build the frame model for ``encoding["n_keys"]`` keys (the frames codec's).

    Raises
    ------
    ParamsError
        When the encoding has no positive integer ``n_keys`` (not a frames dataset).
    """
    keys = encoding.get("n_keys")
    if isinstance(keys, bool) or not isinstance(keys, int) or keys < 1:
        raise ParamsError(f"encoding.n_keys: expected a positive integer (a frames dataset), got {keys!r}")
    return {"model": FrameRNN(arch, keys)}


register_model("frame_rnn", FrameRNNArch, build_frame_rnn)
