"""Frame-level negative log-likelihood on whole pieces: the polyphonic benchmark's number.

Protocol (Boulanger-Lewandowski et al. 2012; kept by every paper on their JSB split,
e.g. Krishnan et al. 2017, Tables 3-4): each test piece is a sequence of binary key
frames (one per quarter note, 88 keys); a model gives every key of every frame a
probability of being on, given what it may condition on; the score is

    NLL = - (1 / F) * sum over test frames t, keys k of [x_tk log p_tk + (1 - x_tk) log(1 - p_tk)]

in nats, with F the number of test frames of all pieces together: every frame weighs the
same (a long chorale counts more than a short one), it is not a mean of per-piece means.
A model whose keys are not independent given the past (a NADE) gives the probability of
each key given the past and the keys below it, observed: the product over keys is then
the frame's probability and the formula is unchanged.

Every number of the ladder goes through :func:`frame_nll`: the trained models (their
per-key log-probabilities of the test frames, saved by their sampler) and the two naive
references below, which need no training and fix the bottom of the ladder:

- :func:`independent_keys`: each key on with its training frequency (add-one smoothed),
  every frame independent: 11.06 on the JSB split;
- :func:`key_markov`: each key a two-state Markov chain (on/off given the key's previous
  frame; add-one smoothed transition counts over the training pieces), the first frame of
  a piece from the independent model: 10.48.
"""

from __future__ import annotations

import numpy as np

LN2 = float(np.log(2.0))


def log_bernoulli(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(log p, log(1 - p))`` in float64 for probabilities strictly inside (0, 1)."""
    p = np.asarray(p, dtype=np.float64)
    if not np.all((p > 0) & (p < 1)):
        raise ValueError("probabilities must lie strictly between 0 and 1 (smooth the estimate)")
    return np.log(p), np.log1p(-p)


def frame_nll(log_on: np.ndarray, log_off: np.ndarray, x: np.ndarray) -> float:
    """Mean negative log-likelihood per frame, nats: see the module docstring.

    Parameters
    ----------
    log_on, log_off
        (F, K) log-probabilities of each key being on / off (broadcastable to ``x``).
    x
        (F, K) the frames, 0/1.

    Raises
    ------
    ValueError
        For no frames, or shapes that do not match.
    """
    x = np.asarray(x)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"frames: expected a non-empty (F, K) array, got shape {x.shape}")
    on = x != 0
    log_on, log_off = np.broadcast_to(log_on, x.shape), np.broadcast_to(log_off, x.shape)
    total = np.where(on, log_on, log_off).astype(np.float64).sum()
    return float(-total / len(x))


def independent_keys(train_x: np.ndarray) -> np.ndarray:
    """(K,) P(key on): the key's frequency over the training frames, add-one smoothed."""
    train_x = np.asarray(train_x) != 0
    return (train_x.sum(axis=0) + 1.0) / (len(train_x) + 2.0)


def key_markov(train_x: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(2, K) P(key on at t | the key at t-1 was off / on), add-one smoothed, within pieces."""
    on = np.asarray(train_x) != 0
    counts = np.zeros((2, 2, on.shape[1]))  # [previous, now, key]
    for s, n in zip(starts, lengths, strict=True):
        prev, now = on[s : s + n - 1], on[s + 1 : s + n]
        for a in (0, 1):
            for b in (0, 1):
                counts[a, b] += ((prev == a) & (now == b)).sum(axis=0)
    return (counts[:, 1] + 1.0) / (counts.sum(axis=1) + 2.0)


def reference_probabilities(
    train: dict[str, np.ndarray], test: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Each naive reference's (F, K) P(key on) for every test frame, fitted on ``train``.

    ``train``/``test``: a frames split's arrays (``x``, ``starts``, ``lengths``;
    :class:`scorelab.codecs.frames.FramesCodec`).
    """
    marginal = independent_keys(train["x"])
    chain = key_markov(train["x"], train["starts"], train["lengths"])
    x = np.asarray(test["x"]) != 0
    prev = np.zeros_like(x)
    prev[1:] = x[:-1]
    first = np.zeros(len(x), dtype=bool)
    first[np.asarray(test["starts"], dtype=np.int64)] = True
    markov = np.where(prev, chain[1], chain[0])  # (F, K)
    markov[first] = marginal  # a piece's first frame has no previous frame
    return {"independent_keys": np.broadcast_to(marginal, x.shape), "key_markov": markov}


REFERENCES = {
    "independent_keys": "independent keys at their training frequencies (add-one)",
    "key_markov": "a two-state Markov chain per key (add-one)",
}


def ladder_references(train: dict[str, np.ndarray], test: dict[str, np.ndarray]) -> dict:
    """The naive references' test NLL (nats per frame) and the frames counted."""
    out = {
        name: frame_nll(*log_bernoulli(p), test["x"])
        for name, p in reference_probabilities(train, test).items()
    }
    return {**out, "frames": int(len(test["x"])), "pieces": int(len(test["lengths"]))}


def model_nll(arrays: dict[str, np.ndarray], test: dict[str, np.ndarray]) -> float:
    """A model's test NLL from the log-probabilities its sampler saved beside its samples.

    ``arrays``: a sample set's npz with ``test_log_on``/``test_log_off`` (F, K), row t
    the model's log P(key on / off) for test frame t given what precedes it.

    Raises
    ------
    ValueError
        When the saved rows do not match the test split's frames.
    """
    log_on, log_off = arrays["test_log_on"], arrays["test_log_off"]
    if log_on.shape != np.shape(test["x"]):
        raise ValueError(
            f"saved log-probabilities {log_on.shape} do not match the test frames {np.shape(test['x'])}"
        )
    return frame_nll(log_on, log_off, test["x"])
