"""The likelihood trainer: next-token prediction on every window of a token stream (S4's LSTM).

S4's code (Appendix A.1) trains a Keras LSTM on every window of 64 symbols of the joined
songs, stride 1, with the 65th symbol as the target: sparse categorical cross-entropy,
Adam(0.001), batch 64, 50 epochs, about ``(N - 64) / 64`` updates per epoch. An epoch here
is the same: one shuffled pass over all ``N - window`` windows in batches of
``batch_size``. ``loss_on: last`` scores only the symbol after each window, as S4's Keras
model does; ``loss_on: all`` scores every position of the window (teacher forcing), the
same maximum-likelihood objective with ``window`` times more signal per update, which a
short CPU run needs.

Logs: ``train_log.tsv`` per step (train loss); ``valid_log.tsv`` per epoch: the epoch's
mean train loss, the validation loss and the test negative log-likelihood, all in nats
per symbol (one symbol = one grid step, a 16th note), each held-out token scored once
(non-overlapping windows, :func:`stream_loss`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from scorelab.config import non_negative, positive
from scorelab.sampling.generators import evenly_spaced
from scorelab.sampling.tokens import sample_tokens
from scorelab.training.batches import ShuffledBatches, check_batch_size
from scorelab.training.checkpoint import Checkpoint
from scorelab.training.losses import next_token_loss, window_loss
from scorelab.training.optim import make_optimizer
from scorelab.training.registry import SampleSet, Trainer, register_trainer
from scorelab.training.run import Run


@dataclass(frozen=True)
class LikelihoodConfig:
    """How to train a next-token model.

    Attributes
    ----------
    lr
        Adam learning rate (S4: 0.001).
    epochs
        Passes over every window of the training stream.
    batch_size
        Windows per step (S4: 64).
    window
        Input length (S4: 64).
    loss_on
        ``last``: the symbol after the window only (S4); ``all``: every position.
    checkpoint_every
        Write ``resume.pt`` every this many steps.
    max_steps
        Stop after this many steps in total (0: no cap): the quick profile's budget.
    """

    lr: float
    epochs: int
    batch_size: int
    window: int
    loss_on: Literal["last", "all"] = "last"
    checkpoint_every: int = 500
    max_steps: int = 0

    def __post_init__(self) -> None:
        positive(self, "lr", "epochs", "batch_size", "window", "checkpoint_every")
        non_negative(self, "max_steps")


@dataclass(frozen=True)
class LikelihoodSampleConfig:
    """Sampling settings (S4: 500 steps at temperature 0.9 from its seed melody).

    ``n`` melodies; each continues ``seed_symbols`` when given (space-separated symbols,
    S4's ``"67 _ 67 _ 67 _ _ 65 64 _ 64 _ 64 _ _"``), else the first ``seed_steps`` steps
    of evenly spaced test songs, after a run of delimiters (the context every training
    song starts from); at most ``max_steps`` symbols, stopping at the delimiter.
    """

    n: int
    temperature: float = 1.0
    max_steps: int = 500
    seed_steps: int = 16
    seed_symbols: str = ""

    def __post_init__(self) -> None:
        positive(self, "temperature", "max_steps")
        non_negative(self, "n", "seed_steps")


def _token_tensor(stream: np.ndarray, vocab_size: int, what: str) -> torch.Tensor:
    """Check a 1-D stream of ids in [0, vocab_size) and return it as int64."""
    if stream.ndim != 1 or (stream.size and (stream.min() < 0 or stream.max() >= vocab_size)):
        raise ValueError(
            f"{what}: expected a 1-D stream of ids in [0, {vocab_size}), got shape {stream.shape}"
        )
    return torch.from_numpy(stream.astype(np.int64))


@torch.no_grad()
def stream_loss(
    model: nn.Module, ids: torch.Tensor, window: int, batch_size: int, device: torch.device
) -> float:
    """Mean next-token cross-entropy (nats per symbol) over non-overlapping windows covering ``ids``.

    Window k predicts tokens ``k*window+1 .. (k+1)*window``; the last window may be
    shorter. Returns NaN for a stream of fewer than 2 tokens.
    """
    return float(stream_loss_on_device(model, ids.to(device), window, batch_size))


@torch.no_grad()
def stream_loss_on_device(model: nn.Module, ids: torch.Tensor, window: int, batch_size: int) -> torch.Tensor:
    """:func:`stream_loss` as a float64 scalar on ``ids``' device, with no host sync.

    The sum runs in float64 over each window batch's float32 sum, in order: the bytes of
    the Python float sum of ``.item()`` values it replaced.
    """
    device = ids.device
    if len(ids) < 2:
        return torch.tensor(math.nan, dtype=torch.float64, device=device)
    was_training = model.training
    model.eval()
    total, count = torch.zeros((), dtype=torch.float64, device=device), 0
    n_full = (len(ids) - 1) // window
    full = ids[: n_full * window + 1]
    starts = torch.arange(n_full, device=device) * window
    span = torch.arange(window + 1, device=device)
    for lo in range(0, n_full, batch_size):
        batch = full[starts[lo : lo + batch_size, None] + span]  # (b, window + 1)
        total += next_token_loss(model(batch[:, :-1]), batch[:, 1:], reduction="sum").double()
        count += batch[:, 1:].numel()
    rest = ids[n_full * window :]  # (r,) with r in [1, window]
    if len(rest) > 1:
        batch = rest.unsqueeze(0)  # (1, r)
        total += next_token_loss(model(batch[:, :-1]), batch[:, 1:], reduction="sum").double()
        count += len(rest) - 1
    model.train(was_training)
    return total / count


def fit_likelihood(run: Run, cfg: LikelihoodConfig, data: dict[str, dict[str, np.ndarray]]) -> None:
    """Train ``run.modules["model"]`` on the token streams ``data[split]["x"]``.

    Raises
    ------
    ValueError
        Ids outside the vocabulary, or a training stream shorter than ``window + 1``.
    """
    model = run.modules["model"]
    ids = _token_tensor(data["train"]["x"], model.vocab_size, "train stream")
    held_out = {s: _token_tensor(data[s]["x"], model.vocab_size, f"{s} stream") for s in ("valid", "test")}
    if len(ids) < cfg.window + 1:
        raise ValueError(f"train stream has {len(ids)} tokens; windows need window + 1 = {cfg.window + 1}")
    tokens = ids.to(run.device)  # the whole stream on the device, once
    held_out = {s: t.to(run.device) for s, t in held_out.items()}  # and the held-out ones
    opt = run.optimizer("model", make_optimizer("adam", model.parameters(), cfg.lr))
    log = run.log("train", ("step", "epoch", "train_loss"))
    epochs = run.log("valid", ("step", "epoch", "train_loss", "valid_loss", "test_nll"))
    n_windows = len(ids) - cfg.window
    check_batch_size(cfg.batch_size, n_windows, "training windows")
    batches = ShuffledBatches(n_windows, run.batch_rng, run.device)
    state = run.resume()
    if state:
        batches.load_state_dict(state["sampler"])
    epoch_sum = torch.zeros((), device=run.device)
    epoch_sum += float(state.get("epoch_sum", 0.0))
    steps_per_epoch = math.ceil(n_windows / cfg.batch_size)
    total = cfg.epochs * steps_per_epoch
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    span = torch.arange(cfg.window + 1, device=run.device)  # (window + 1,)

    def loop_state() -> dict[str, Any]:
        return {"sampler": batches.state_dict(), "epoch_sum": float(epoch_sum)}

    for step in run.steps(total, cfg.checkpoint_every, loop_state):
        offsets = run.shard(batches.take(cfg.batch_size))  # (B,), drawn on the device
        batch = tokens[offsets[:, None] + span]  # (B, window + 1)
        with run.autocast():
            loss = window_loss(model(batch[:, :-1]), batch, cfg.loss_on)  # logits (B, window, V)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        epoch = math.ceil(step / steps_per_epoch)
        value = loss.item()  # the step's one host sync (a logged scalar)
        epoch_sum += value
        log.append(step, epoch, value)
        run.show(epoch=epoch, loss=value)
        if step % steps_per_epoch == 0 or step == total:
            done = step - (epoch - 1) * steps_per_epoch
            held = [
                stream_loss_on_device(model, held_out[s], cfg.window, cfg.batch_size)
                for s in ("valid", "test")
            ]
            summed, *losses = torch.stack([epoch_sum.double(), *held]).cpu().tolist()  # the row's one sync
            epochs.append(step, epoch, summed / done, *losses)
            epoch_sum.zero_()


def sample_likelihood(
    modules: dict[str, nn.Module],
    cfg: LikelihoodSampleConfig,
    ckpt: Checkpoint,
    test: dict[str, np.ndarray],
    seed: int,
    device: torch.device,
) -> dict[str, SampleSet]:
    """``samples``: ``cfg.n`` melodies, each its seed followed by the continuation (as S4 keeps it)."""
    encoding = ckpt.encoding
    vocab = list(encoding["vocab"])
    delim_id = int(encoding["delimiter_id"])
    if cfg.seed_symbols:
        index = {s: i for i, s in enumerate(vocab)}
        unknown = [t for t in cfg.seed_symbols.split() if t not in index]
        if unknown:
            raise ValueError(f"sample.seed_symbols: {unknown[0]!r} is not in the vocabulary")
        seeds = [np.array([index[t] for t in cfg.seed_symbols.split()], dtype=np.int64)] * cfg.n
        idx = np.full(cfg.n, -1)
    else:
        starts, lengths = test["song_starts"], test["song_lengths"]
        idx = np.resize(evenly_spaced(len(starts), cfg.n), cfg.n)  # fewer test songs than samples: reuse
        seeds = [test["x"][starts[i] : starts[i] + min(cfg.seed_steps, lengths[i])] for i in idx]
    delim = np.full(int(encoding["delimiter_length"]), delim_id, dtype=np.int64)
    model = modules["model"]
    # A model may bring its own sampler with the same arguments (the Transformer's keeps a
    # KV cache); the LSTM uses the generic one, which re-reads the window at every step.
    own = getattr(model, "sample_tokens", None)
    conts = (own or partial(sample_tokens, model))(
        len(seeds),
        seed,
        seed_ids=[np.concatenate([delim, s]) for s in seeds],
        temperature=cfg.temperature,
        max_steps=cfg.max_steps,
        stop_id=delim_id,
        window=ckpt.train.get("window"),  # the context it was trained on
        device=device,
        min_steps=1 if any(len(s) == 0 for s in seeds) else 0,  # from nothing: at least a symbol
    )
    items = [np.concatenate([s, c]).astype(np.int64) for s, c in zip(seeds, conts, strict=True)]
    return {"samples": SampleSet(items, {"seed_index": idx})}


LIKELIHOOD = register_trainer(
    Trainer(
        name="likelihood",
        config=LikelihoodConfig,
        sample_config=LikelihoodSampleConfig,
        modules=("model",),
        splits=("train", "valid", "test"),
        fit=fit_likelihood,
        sample=sample_likelihood,
    )
)
