"""The frames trainer: maximum likelihood of whole pieces of key frames (the JSB ladder).

Each step takes ``batch_size`` training pieces (shuffled, an epoch is one pass), pads
them to the longest, and minimises the negative log-likelihood of their real frames
(padding masked), in nats per frame: the benchmark's own unit, so the training curve,
the held-out curves and the ladder's rows are one quantity
(:mod:`scorelab.metrics.likelihood`).

After every epoch the valid and test NLL (nats per frame, every frame weighing the same)
are logged in ``valid_log.tsv``: the learning curve the report draws. The weights kept
at the end are those of the epoch with the lowest valid NLL (early stopping, as the
benchmark's papers select their models; the first such epoch, which the log shows).

Sampling gives ``n`` pieces of ``frames`` frames, and saves beside them the model's
per-key log-probabilities of every test frame (``test_log_on``/``test_log_off``), from
which the evaluate stage computes the test NLL with the same code as the naive references.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from scorelab.config import non_negative, positive
from scorelab.training.batches import ShuffledBatches, check_batch_size
from scorelab.training.checkpoint import Checkpoint
from scorelab.training.device import generator_on
from scorelab.training.optim import make_optimizer
from scorelab.training.registry import SampleSet, Trainer, register_trainer
from scorelab.training.run import Run

EVAL_PIECES = 32  # pieces per forward pass when scoring a held-out split


@dataclass(frozen=True)
class FramesConfig:
    """How to train a frame model.

    Attributes
    ----------
    lr
        Adam learning rate.
    epochs
        Passes over the training pieces.
    batch_size
        Pieces per step.
    grad_clip
        Clip the gradient's norm to this (0: no clipping).
    checkpoint_every
        Write ``resume.pt`` every this many steps.
    max_steps
        Stop after this many steps (0: no cap).
    """

    lr: float
    epochs: int
    batch_size: int
    grad_clip: float = 0.0
    checkpoint_every: int = 500
    max_steps: int = 0

    def __post_init__(self) -> None:
        positive(self, "lr", "epochs", "batch_size", "checkpoint_every")
        non_negative(self, "grad_clip", "max_steps")


@dataclass(frozen=True)
class FramesSampleConfig:
    """``n`` pieces of ``frames`` frames each (64 quarter notes: 16 bars of 4/4)."""

    n: int
    frames: int = 64

    def __post_init__(self) -> None:
        non_negative(self, "n")
        positive(self, "frames")


def padded(arrays: dict[str, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """A frames split as (pieces (N, T_max, K) float32, zero-padded; lengths (N,) int64)."""
    x, starts, lengths = arrays["x"], arrays["starts"], arrays["lengths"]
    out = np.zeros((len(lengths), int(lengths.max()), x.shape[1]), dtype=np.float32)
    for i, (s, n) in enumerate(zip(starts, lengths, strict=True)):
        out[i, :n] = x[s : s + n]
    return torch.from_numpy(out), torch.from_numpy(np.asarray(lengths, dtype=np.int64))


def frame_mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """(B, steps) True on each piece's real frames."""
    return torch.arange(steps, device=lengths.device)[None, :] < lengths[:, None]


def used_steps(frames: torch.Tensor, lengths: torch.Tensor) -> int:
    """How many frames of a padded batch to run: its longest piece's on the CPU, all on a GPU.

    Reading the longest length is free on the CPU and a wait for the device on a GPU
    (one host sync per step, issue 21), where the padding costs next to nothing; the
    padded frames are masked either way, and no real frame's logits depend on them (the
    LSTM reads forward), so the loss is the same.
    """
    return frames.shape[1] if frames.device.type == "cuda" else int(lengths.max())


def summed_nll(model: nn.Module, frames: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The NLL of the real frames of a padded batch, summed over frames and keys (nats), float32."""
    logits = model.key_logits(frames).float()  # (B, T, K)
    per_key = F.binary_cross_entropy_with_logits(logits, frames, reduction="none")
    return (per_key.sum(-1) * frame_mask(lengths, frames.shape[1])).sum()


@torch.no_grad()
def split_nll(model: nn.Module, frames: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean NLL per frame of a whole split (every frame weighing the same), float64, on its device."""
    was = model.training
    model.eval()
    total = torch.zeros((), dtype=torch.float64, device=frames.device)
    for lo in range(0, len(frames), EVAL_PIECES):
        hi = lo + EVAL_PIECES
        n = used_steps(frames[lo:hi], lengths[lo:hi])
        total += summed_nll(model, frames[lo:hi, :n], lengths[lo:hi]).double()
    model.train(was)
    return total / lengths.sum()


def start_at_rates(model: nn.Module, x: np.ndarray) -> None:
    """Set the output bias to each key's log-odds in the training frames (add-one smoothed).

    A fresh model then starts at the independent-keys reference (11.06 on JSB) instead of
    at 88 coin flips (61 nats per frame): measured on JSB (LSTM 128, Adam 3e-3), the
    valid NLL reached 8.68 after 5 epochs this way and 11.76 without it, and the plain
    LSTM's best moved from 8.50 after 150 epochs to 8.49 after 10.
    """
    on = (np.asarray(x) != 0).sum(axis=0, dtype=np.float64)
    rate = (on + 1.0) / (len(x) + 2.0)
    with torch.no_grad():
        model.visible.bias.copy_(torch.from_numpy(np.log(rate / (1.0 - rate))).float())


def fit_frames(run: Run, cfg: FramesConfig, data: dict[str, dict[str, np.ndarray]]) -> None:
    """Train ``run.modules["model"]`` on the pieces of ``data["train"]``; keep the best-valid weights."""
    model = run.modules["model"]
    split = {s: tuple(t.to(run.device) for t in padded(data[s])) for s in ("train", "valid", "test")}
    frames, lengths = split["train"]
    if frames.shape[2] != model.n_keys:
        raise ValueError(f"frames have {frames.shape[2]} keys; the model was built for {model.n_keys}")
    opt = run.optimizer("model", make_optimizer("adam", model.parameters(), cfg.lr))
    log = run.log("train", ("step", "epoch", "train_nll"))
    epochs = run.log("valid", ("step", "epoch", "train_nll", "valid_nll", "test_nll"))
    check_batch_size(cfg.batch_size, len(frames), "training pieces")
    batches = ShuffledBatches(len(frames), run.batch_rng, run.device)
    state = run.resume()
    if state:
        batches.load_state_dict(state["sampler"])
    else:
        start_at_rates(model, data["train"]["x"])
    sums = torch.zeros(2, dtype=torch.float64, device=run.device)  # the epoch's NLL and frames
    sums += torch.tensor(state.get("epoch_sums", [0.0, 0.0]), dtype=torch.float64, device=run.device)
    best = state.get("best", {"valid": math.inf, "epoch": 0, "weights": None})
    steps_per_epoch = math.ceil(len(frames) / cfg.batch_size)
    total = cfg.epochs * steps_per_epoch
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    stop = total if run.max_steps is None else max(run.start, min(total, run.max_steps))

    def loop_state() -> dict[str, Any]:
        return {"sampler": batches.state_dict(), "epoch_sums": sums.tolist(), "best": best}

    for step in run.steps(total, cfg.checkpoint_every, loop_state):
        idx = run.shard(batches.take(cfg.batch_size))
        n = lengths[idx]
        batch = frames[idx, : used_steps(frames, n)]
        with run.autocast():
            nll = summed_nll(model, batch, n)
        count = n.sum()
        loss = nll / count
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        epoch = math.ceil(step / steps_per_epoch)
        value = loss.item()  # the step's one host sync (a logged scalar)
        sums += torch.stack([nll.detach().double(), count.double()])
        log.append(step, epoch, value)
        run.show(epoch=epoch, nll=value)
        if step % steps_per_epoch == 0 or step == total:
            held = [split_nll(model, *split[s]) for s in ("valid", "test")]
            row = torch.stack([sums[0] / sums[1], *held]).cpu().tolist()  # the row's one sync
            if row[1] < best["valid"]:
                weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
                best = {"valid": row[1], "epoch": epoch, "weights": weights}
            epochs.append(step, epoch, *row)
            sums.zero_()
        if step == stop and best["weights"] is not None:
            model.load_state_dict(best["weights"])  # checkpoint.pt: the best-valid epoch's weights


@torch.no_grad()
def test_log_probabilities(model: nn.Module, test: dict[str, np.ndarray], device: torch.device) -> dict:
    """``test_log_on``/``test_log_off``: (F, K) float32 log P(key on / off) for every test frame,
    rows in the test split's frame order (what :func:`scorelab.metrics.likelihood.model_nll` reads)."""
    frames, lengths = padded(test)
    on, off = [], []
    for lo in range(0, len(frames), EVAL_PIECES):
        batch, n = frames[lo : lo + EVAL_PIECES].to(device), lengths[lo : lo + EVAL_PIECES]
        logits = model.key_logits(batch).float().cpu()  # (b, T, K)
        for row, k in zip(logits, n.tolist(), strict=True):
            on.append(F.logsigmoid(row[:k]))
            off.append(F.logsigmoid(-row[:k]))
    return {"test_log_on": torch.cat(on).numpy(), "test_log_off": torch.cat(off).numpy()}


def sample_frames(
    modules: dict[str, nn.Module],
    cfg: FramesSampleConfig,
    ckpt: Checkpoint,
    test: dict[str, np.ndarray],
    seed: int,
    device: torch.device,
) -> dict[str, SampleSet]:
    """``samples``: ``cfg.n`` pieces drawn frame by frame; beside them the test frames' log-probabilities."""
    model = modules["model"].eval()
    rng = generator_on(device, seed)
    items = model.generate(cfg.n, cfg.frames, rng).cpu().numpy()
    return {"samples": SampleSet(items, test_log_probabilities(model, test, device))}


FRAMES = register_trainer(
    Trainer(
        name="frames",
        config=FramesConfig,
        sample_config=FramesSampleConfig,
        modules=("model",),
        splits=("train", "valid", "test"),
        fit=fit_frames,
        sample=sample_frames,
    )
)
