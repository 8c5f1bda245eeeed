"""The next-column trainer: S3's LSTMs that continue an 88-key image column by column.

S3 (section 9) feeds 100 columns of its 1-channel image (0.05 s each, 88 keys, values
0, 125/255 and 1) and trains the network to predict what follows: the next column
(teacher forcing: the input is always real columns), or the next 10 or 100 at once
(seq2seq). Three losses, a setting:

- ``mse``: mean squared error over the predicted cells (S3's first model);
- ``weighted``: S3's custom loss (eq. 5). Its limit ``y_true^(1/x) -> 1`` for every
  ``y_true > 0`` turns the target into the note mask ``m``, so the loss is
  ``mean(alpha * m * (y - 1)^2 + beta * (1 - m) * y^2)``: ``alpha`` (1.5) weighs missed
  notes, ``beta`` (0.8) false ones;
- ``ce3``: S3's proposed next step, per key a softmax over silent / onset / sustain
  (cells < 62.5/255, < 190/255, else), categorical cross-entropy (the model's
  ``classes: 3``).

Training pairs are drawn at random: a training window and a start column, the input
``in_columns`` columns from there and the target the ``out_columns`` after them.

Logs: ``train_log.tsv`` per step; ``valid_log.tsv`` every ``eval_every`` steps: the loss,
precision, recall and F1 of the predicted notes on 256 fixed (window, start) pairs of
the test split, a cell being a note where its value is at least ``threshold`` (for
``ce3``: where its class is not silent). That is S3's trade-off made measurable: alpha
buys recall (fewer missed notes), beta precision (fewer false ones).

Samples: ``n`` test windows' first ``in_columns`` columns as seeds, each continued by
``columns`` predicted columns (fed back as predicted, clipped to [0, 1]; ``ce3``'s as
their classes' values); the item is the continuation alone, a 1-channel image for the
``s3_image`` codec (the seed, real music, is saved beside it as ``seed``, not scored).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from scorelab.config import non_negative, positive
from scorelab.errors import ParamsError
from scorelab.training.checkpoint import Checkpoint
from scorelab.training.optim import make_optimizer
from scorelab.training.registry import SampleSet, Trainer, register_trainer
from scorelab.training.run import Run

EVAL_PAIRS = 256
CLASS_VALUES = torch.tensor([0.0, 125 / 255, 1.0])  # silent, onset, sustain
CLASS_EDGES = (62.5 / 255, 190 / 255)


@dataclass(frozen=True)
class NextColumnConfig:
    """How to train a next-column model (S3: 100 columns in; 1, 10 or 100 out; Adam)."""

    iterations: int
    batch_size: int
    lr: float = 1.0e-3
    in_columns: int = 100
    out_columns: int = 1
    loss: Literal["mse", "weighted", "ce3"] = "mse"
    alpha: float = 1.5
    beta: float = 0.8
    threshold: float = 0.25
    eval_every: int = 100
    checkpoint_every: int = 100
    max_steps: int = 0

    def __post_init__(self) -> None:
        positive(self, "iterations", "batch_size", "lr", "in_columns", "out_columns", "eval_every")
        positive(self, "checkpoint_every")
        non_negative(self, "alpha", "beta", "max_steps")
        if not 0.0 < self.threshold <= 1.0:
            raise ParamsError(f"threshold: must be in (0, 1], got {self.threshold}")


@dataclass(frozen=True)
class NextColumnSampleConfig:
    """``n`` continuations of ``columns`` columns each."""

    n: int
    columns: int = 100

    def __post_init__(self) -> None:
        non_negative(self, "n")
        positive(self, "columns")


def columns_of(x: np.ndarray) -> torch.Tensor:
    """(N, 1, K, W) uint8 images -> (N, W, K) float columns in [0, 1]."""
    if x.ndim != 4 or x.shape[1] != 1:
        raise ValueError(f"expected 1-channel images (N, 1, K, W), got {x.shape}")
    return torch.from_numpy(np.ascontiguousarray(x[:, 0].transpose(0, 2, 1))).float() / 255.0


def classes_of(values: torch.Tensor) -> torch.Tensor:
    """Cell values in [0, 1] -> 0 silent, 1 onset, 2 sustain.

    ``bucketize`` against the two edges, written as the count of edges below each value
    (the same classes; the edges compare as float32, as a float32 edge tensor did), so no
    edge tensor is built on the host and copied to the GPU at every step.
    """
    low, high = CLASS_EDGES
    return (values > low).long() + (values > high).long()


def column_loss(cfg: NextColumnConfig, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The configured loss of predictions (B, S, K) [or (B, S, K, 3) logits] against targets (B, S, K)."""
    if cfg.loss == "ce3":
        return F.cross_entropy(pred.reshape(-1, 3), classes_of(target).reshape(-1))
    if cfg.loss == "weighted":
        m = (target > 0).float()
        return (cfg.alpha * m * (pred - 1).pow(2) + cfg.beta * (1 - m) * pred.pow(2)).mean()
    return F.mse_loss(pred, target)


def predict(model: nn.Module, x: torch.Tensor, steps: int) -> torch.Tensor:
    """(B, steps, K) values or (B, steps, K, 3) logits, whatever the model's output form."""
    y = model(x, steps)
    if y.dim() == 2 or (getattr(model, "classes", 1) == 3 and y.dim() == 3):
        y = y.unsqueeze(1)  # a next-column model: one step
    return y


def as_values(model: nn.Module, pred: torch.Tensor) -> torch.Tensor:
    """Predictions as cell values in [0, 1] (``ce3``: the argmax class's value)."""
    if getattr(model, "classes", 1) == 3:
        return CLASS_VALUES.to(pred.device)[pred.argmax(-1)]
    return pred.clamp(0.0, 1.0)


def note_scores(cfg: NextColumnConfig, model: nn.Module, pred: torch.Tensor, target: torch.Tensor):
    """(precision, recall, F1) of predicted notes against real ones (cells, micro-averaged)."""
    return scores_from(*note_counts(cfg, model, pred, target).cpu().tolist())


def note_counts(
    cfg: NextColumnConfig, model: nn.Module, pred: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """(true positives, predicted notes, real notes) as float64, (3,), on the device (exact below 2^53)."""
    if getattr(model, "classes", 1) == 3:
        said = pred.argmax(-1) > 0
    else:
        said = pred >= cfg.threshold
    real = target > 0
    return torch.stack([(said & real).sum(), said.sum(), real.sum()]).double()


def scores_from(tp: float, said: float, real: float) -> tuple[float, float, float]:
    """(precision, recall, F1) from the three counts."""
    p = tp / max(said, 1)
    r = tp / max(real, 1)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def pairs(
    cols: torch.Tensor, n: int, span: int, generator: torch.Generator, device: torch.device | str = "cpu"
):
    """``n`` random (window, start) pairs whose ``span`` columns fit in a window, drawn on ``device``."""
    room = cols.shape[1] - span + 1
    if room < 1:
        raise ValueError(f"windows of {cols.shape[1]} columns are shorter than in + out = {span}")
    return (
        torch.randint(len(cols), (n,), generator=generator, device=device),
        torch.randint(room, (n,), generator=generator, device=device),
    )


def fit_next_column(run: Run, cfg: NextColumnConfig, data: dict[str, dict[str, np.ndarray]]) -> None:
    """Train ``run.modules["model"]`` on random spans of the training windows."""
    model = run.modules["model"]
    cols = columns_of(data["train"]["x"]).to(run.device)
    test = columns_of(data["test"]["x"]).to(run.device) if "test" in data else cols
    span = cfg.in_columns + cfg.out_columns
    offsets = torch.arange(span, device=run.device)
    ev_w, ev_t = pairs(test, EVAL_PAIRS, span, torch.Generator().manual_seed(0))
    ev_w, ev_t = ev_w.to(run.device), ev_t.to(run.device)
    opt = run.optimizer("model", make_optimizer("adam", model.parameters(), cfg.lr))
    log = run.log("train", ("step", "loss"))
    evals = run.log("valid", ("step", "test_loss", "test_precision", "test_recall", "test_f1"))
    run.resume()
    total = min(cfg.iterations, cfg.max_steps) if cfg.max_steps else cfg.iterations

    def take(source: torch.Tensor, w: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        spans = source[w[:, None], t[:, None] + offsets]  # (B, span, K)
        return spans[:, : cfg.in_columns], spans[:, cfg.in_columns :]

    for step in run.steps(total, cfg.checkpoint_every, dict):
        w, t = (run.shard(v) for v in pairs(cols, cfg.batch_size, span, run.batch_rng, run.device))
        x, y = take(cols, w, t)  # with replacement
        with run.autocast():
            loss = column_loss(cfg, predict(model, x, cfg.out_columns), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        value = loss.item()  # the step's one host sync (a logged scalar)
        log.append(step, value)
        run.show(loss=value)
        if step % cfg.eval_every == 0 or step == total:
            model.eval()
            with torch.no_grad():
                x, y = take(test, ev_w, ev_t)
                pred = predict(model, x, cfg.out_columns)
                counts = note_counts(cfg, model, pred, y)
                loss_t, tp, said, real = (
                    torch.cat([column_loss(cfg, pred, y).double().reshape(1), counts]).cpu().tolist()
                )
                evals.append(step, loss_t, *scores_from(tp, said, real))
            model.train()


@torch.no_grad()
def sample_next_column(
    modules: dict[str, nn.Module],
    cfg: NextColumnSampleConfig,
    ckpt: Checkpoint,
    test: dict[str, np.ndarray],
    seed: int,
    device: torch.device,
) -> dict[str, SampleSet]:
    """``samples``: test seeds continued; items (1, K, columns) in [0, 1], the seeds as ``seed``."""
    from scorelab.sampling.generators import evenly_spaced

    model = modules["model"].eval()
    n_in = int(ckpt.train.get("in_columns", 100))
    cols = columns_of(test["x"])
    idx = evenly_spaced(len(cols), cfg.n)
    seq = cols[idx, :n_in].to(device)  # (n, in, K)
    while seq.shape[1] < n_in + cfg.columns:
        step = as_values(model, predict(model, seq[:, -n_in:], 1))[:, :1]  # (n, 1, K)
        seq = torch.cat([seq, step], dim=1)
    seq = seq.transpose(1, 2).unsqueeze(1).float().cpu().numpy()  # (n, 1, K, in + columns)
    # the items are the model's columns alone: the seed is real music, and scoring it with
    # the continuation would credit the model with the data (kept beside them as ``seed``)
    items = seq[..., n_in:]
    return {
        "samples": SampleSet(
            items, {"seed": seq[..., :n_in], "seed_index": idx, "seed_columns": np.array(n_in)}
        )
    }


NEXT_COLUMN = register_trainer(
    Trainer(
        name="next_column",
        config=NextColumnConfig,
        sample_config=NextColumnSampleConfig,
        modules=("model",),
        splits=("train", "test"),
        fit=fit_next_column,
        sample=sample_next_column,
    )
)
