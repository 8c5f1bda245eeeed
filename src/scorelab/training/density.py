"""The density trainer: fit the naive model (S1's independent Bernoulli cells) in one step.

There is nothing to learn by gradient: the rate is the training set's share of sounding
cells (per cell class, as the model's ``rate`` buffer is shaped). It is still a
registered trainer, so the naive model is a variant like any other: trained, checkpointed,
sampled, decoded and scored by the same stages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from scorelab.config import non_negative
from scorelab.training.checkpoint import Checkpoint
from scorelab.training.registry import SampleSet, Trainer, register_trainer
from scorelab.training.run import Run


@dataclass(frozen=True)
class DensityConfig:
    """No settings: the fit is exact. ``checkpoint_every`` is accepted for uniformity."""

    checkpoint_every: int = 1


@dataclass(frozen=True)
class DensitySampleConfig:
    """``n`` samples."""

    n: int

    def __post_init__(self) -> None:
        non_negative(self, "n")


def fit_density(run: Run, cfg: DensityConfig, data: dict[str, dict[str, np.ndarray]]) -> None:
    """Set ``model.rate`` to the mean of the training items over every axis the rate does not keep."""
    model = run.modules["model"]
    x = data["train"]["x"]
    if tuple(x.shape[1:]) != tuple(model.sample_shape):
        raise ValueError(f"training data has shape {x.shape}; the model samples (N, *{model.sample_shape})")
    rate_shape = tuple(model.rate.shape)  # () or broadcastable to sample_shape, e.g. (C, 1, P)
    if rate_shape:  # average over items and every axis where the rate has size 1
        axes = (0, *(i + 1 for i, r in enumerate(rate_shape) if r == 1))
    else:
        axes = tuple(range(x.ndim))
    log = run.log("train", ("step", "density"))
    run.resume()
    # fitted on the host before the step and moved once, like every trainer's data
    mean = x.astype(np.float64).mean(axis=axes, keepdims=bool(rate_shape)).reshape(rate_shape)
    rate = run.tensor(np.asarray(mean, dtype=np.float32)).reshape(rate_shape)
    density = float(x.mean(dtype=np.float64))
    for step in run.steps(1, cfg.checkpoint_every, dict):
        with torch.no_grad():
            model.rate.copy_(rate)
        log.append(step, density)


def sample_density(
    modules: dict[str, nn.Module],
    cfg: DensitySampleConfig,
    ckpt: Checkpoint,
    test: dict[str, np.ndarray],
    seed: int,
    device: torch.device,
) -> dict[str, SampleSet]:
    """``samples``: ``cfg.n`` items of independent cells, the same for the same seed."""
    rng = torch.Generator().manual_seed(seed)
    return {"samples": SampleSet(modules["model"](cfg.n, rng).numpy(), {})}


DENSITY = register_trainer(
    Trainer(
        name="density",
        config=DensityConfig,
        sample_config=DensitySampleConfig,
        modules=("model",),
        splits=("train",),
        fit=fit_density,
        sample=sample_density,
    )
)
