"""Token sequences from a likelihood checkpoint: continue seed melodies with temperature.

S4 generates a melody from a seed: at each step the model reads the last ``window``
symbols (the window it was trained on), the next-symbol distribution is sharpened or
flattened with temperature T as ``p ** (1 / T)`` renormalised, one symbol is drawn, and
generation stops at the song delimiter or after ``max_steps`` symbols.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Probabilities ``p ** (1/T) / sum(p ** (1/T))`` for ``p = softmax(logits)``.

    That equals ``softmax(logits / T)``, computed that way in float64 for stability:
    T -> 0 gives the argmax (one-hot), T = 1 the model's distribution, T > 1 flattens it.
    """
    return torch.softmax(logits.double() / temperature, dim=-1)


@torch.no_grad()
def sample_tokens(
    model: nn.Module,
    n: int,
    seed: int,
    seed_ids: list[np.ndarray],
    temperature: float,
    max_steps: int,
    stop_id: int,
    window: int | None = None,
    device: str | torch.device = "cpu",
    min_steps: int = 0,
) -> list[np.ndarray]:
    """Continue seed sequences with temperature sampling.

    ``min_steps`` forbids ``stop_id`` for the first steps of each continuation: a model
    that has only seen delimiters (a melody from nothing) would otherwise often stop at
    once, since inside a run of delimiters the next symbol is a delimiter.

    Parameters
    ----------
    model
        A sequence model in eval mode (``vocab_size``, ``next_logits``).
    n
        Number of sequences; sequence i continues ``seed_ids[i % len(seed_ids)]``.
    seed
        Seeds the draws: the same call returns the same sequences (on the CPU).
    seed_ids
        Non-empty 1-D id arrays to continue.
    temperature
        T > 0; see :func:`apply_temperature`.
    max_steps
        At most this many symbols are generated per sequence.
    stop_id
        Generation of a sequence ends when it draws this id (S4: the delimiter).
    window
        The model sees at most the last ``window`` symbols (the context it was trained
        on, S4's 64); None: the whole history.
    device
        Where the model is.

    Returns
    -------
    list[np.ndarray]
        n int64 arrays: the generated continuations, without the seed and without the
        stop symbol (concatenate with the seed to get the whole melody).

    Raises
    ------
    ValueError
        T <= 0, empty or out-of-vocabulary seeds, or a stop id outside the vocabulary.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    dev = torch.device(device)
    vocab = model.vocab_size
    if not 0 <= stop_id < vocab:
        raise ValueError(f"stop_id {stop_id} is outside the vocabulary [0, {vocab})")
    if not seed_ids or any(np.asarray(s).ndim != 1 or len(s) == 0 for s in seed_ids):
        raise ValueError("seed_ids must be a non-empty list of non-empty 1-D id arrays")
    if any(np.asarray(s).min() < 0 or np.asarray(s).max() >= vocab for s in seed_ids):
        raise ValueError(f"seed_ids hold ids outside the vocabulary [0, {vocab})")
    rng = torch.Generator().manual_seed(seed)

    seeds = [np.asarray(seed_ids[i % len(seed_ids)], dtype=np.int64) for i in range(n)]
    history = torch.zeros((n, max(len(s) for s in seeds) + max_steps), dtype=torch.long)  # (n, S + max_steps)
    lengths = torch.tensor([len(s) for s in seeds])  # (n,)
    for i, s in enumerate(seeds):
        history[i, : len(s)] = torch.from_numpy(s)
    generated: list[list[int]] = [[] for _ in range(n)]
    active = list(range(n))
    for _ in range(max_steps):
        if not active:
            break
        ctx_len = lengths[active] if window is None else lengths[active].clamp(max=window)  # (a,)
        ctx = torch.zeros((len(active), int(ctx_len.max())), dtype=torch.long)  # (a, W), right-padded
        for row, (i, k) in enumerate(zip(active, ctx_len.tolist(), strict=True)):
            ctx[row, :k] = history[i, lengths[i] - k : lengths[i]]
        logits = model.next_logits(ctx.to(dev), ctx_len).cpu()  # (a, V)
        if min_steps:
            too_early = torch.tensor([len(generated[i]) < min_steps for i in active])  # (a,)
            logits[too_early, stop_id] = float("-inf")
        draws = torch.multinomial(apply_temperature(logits, temperature), 1, generator=rng)[:, 0]  # (a,)
        still = []
        for i, token in zip(active, draws.tolist(), strict=True):
            if token == stop_id:
                continue
            history[i, lengths[i]] = token
            lengths[i] += 1
            generated[i].append(token)
            still.append(i)
        active = still
    return [np.array(g, dtype=np.int64) for g in generated]
