"""The autoencoder trainer: reconstruction of images in [0, 1] (S3's Hilbert-curve audio model).

S3 (section 8) trained with Adam at Keras' defaults (lr 0.001, betas 0.9/0.999); "each
try we experienced a sudden and huge increase in both validational and training loss
... we saved the best model ADAM produced, loaded it back and switched the optimizer to
SGD with momentum". That switch is a setting: with ``blowup_factor`` > 0, once a step's
loss exceeds ``blowup_factor`` times the best epoch loss so far, the weights of that best
epoch are restored and training continues with SGD (``sgd_lr``, ``sgd_momentum``); the
step of the switch is logged (``optimizer`` column: 0 Adam, 1 SGD). The loss is the
mean squared error (S3 names none; ``loss: bce`` is the other usual choice).

Logs: ``train_log.tsv`` per step; ``valid_log.tsv`` per epoch with the validation loss
(the ``valid`` split) and its signal-to-noise ratio in dB, ``10 log10(sum x^2 / sum (x -
x_hat)^2)`` over the held-out images mapped back to [-1, 1] audio (silence is 0 there).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from scorelab.config import non_negative, positive
from scorelab.training.batches import ShuffledBatches, check_batch_size, scaled
from scorelab.training.checkpoint import Checkpoint
from scorelab.training.optim import make_optimizer
from scorelab.training.registry import SampleSet, Trainer, register_trainer
from scorelab.training.run import Run


@dataclass(frozen=True)
class AutoencoderConfig:
    """How to train an autoencoder (defaults: S3's Adam; no switch unless ``blowup_factor``)."""

    epochs: int
    batch_size: int
    lr: float = 1.0e-3
    beta1: float = 0.9
    beta2: float = 0.999
    loss: Literal["mse", "bce"] = "mse"
    blowup_factor: float = 0.0  # > 0: switch to SGD when a step's loss passes this x the best
    sgd_lr: float = 1.0e-3
    sgd_momentum: float = 0.9
    checkpoint_every: int = 100
    max_steps: int = 0

    def __post_init__(self) -> None:
        positive(self, "epochs", "batch_size", "lr", "sgd_lr", "checkpoint_every")
        non_negative(self, "blowup_factor", "sgd_momentum", "max_steps")


@dataclass(frozen=True)
class AutoencoderSampleConfig:
    """``n`` held-out test images reconstructed (evenly spaced)."""

    n: int

    def __post_init__(self) -> None:
        non_negative(self, "n")


def reconstruction_loss(kind: str, recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean squared error, or binary cross-entropy of probabilities ``recon`` against ``x``.

    CUDA's autocast refuses ``binary_cross_entropy`` (unsafe in bf16; issue 21), so the
    BCE is taken in float32 outside autocast. On the CPU nothing autocasts: same bytes.
    """
    if kind == "mse":
        return F.mse_loss(recon, x)
    with torch.autocast(x.device.type, enabled=False):
        return F.binary_cross_entropy(recon.float(), x.float())


def snr_terms(x: torch.Tensor, recon: torch.Tensor) -> torch.Tensor:
    """(signal, noise) energies of a reconstruction on audio centred at 0 (2v - 1), (2,) on the device."""
    return torch.stack([(2 * x - 1).pow(2).sum(), (2 * (x - recon)).pow(2).sum()])


def snr_from(signal: float, noise: float) -> float:
    """Signal-to-noise ratio in dB from the two energies (inf for a perfect reconstruction)."""
    return math.inf if noise == 0 else 10 * math.log10(signal / noise) if signal > 0 else -math.inf


def snr_db(x: torch.Tensor, recon: torch.Tensor) -> float:
    """Signal-to-noise ratio of a reconstruction, in dB, on audio centred at 0 (2v - 1)."""
    return snr_from(*snr_terms(x, recon).cpu().tolist())


@torch.no_grad()
def evaluate_reconstruction(model: nn.Module, x: torch.Tensor, cfg: AutoencoderConfig) -> tuple[float, float]:
    """(mean loss, SNR dB) over ``x`` in batches: one host sync for the three numbers."""
    if not len(x):
        return math.nan, math.nan
    was = model.training
    model.eval()
    recon = torch.cat([model(x[i : i + cfg.batch_size]) for i in range(0, len(x), cfg.batch_size)])
    model.train(was)
    values = torch.cat([reconstruction_loss(cfg.loss, recon, x).float().reshape(1), snr_terms(x, recon)])
    loss, signal, noise = values.cpu().tolist()
    return loss, snr_from(signal, noise)


def fit_autoencoder(run: Run, cfg: AutoencoderConfig, data: dict[str, dict[str, np.ndarray]]) -> None:
    """Train ``run.modules["model"]`` to reconstruct ``data["train"]["x"]``."""
    model = run.modules["model"]
    x = data["train"]["x"]
    if x.ndim < 2 or tuple(x.shape[1:]) != tuple(model.sample_shape) or not len(x):
        raise ValueError(
            f"training data has shape {x.shape}; the model takes (N>0, *{tuple(model.sample_shape)})"
        )
    items = scaled(run, x)
    valid = scaled(run, data["valid"]["x"]) if "valid" in data else items[:0]
    opt = run.optimizer("model", make_optimizer("adam", model.parameters(), cfg.lr, cfg.beta1, cfg.beta2))
    log = run.log("train", ("step", "epoch", "loss", "optimizer"))
    epochs = run.log("valid", ("step", "epoch", "train_loss", "valid_loss", "valid_snr_db"))
    check_batch_size(cfg.batch_size, len(items), "training images")
    batches = ShuffledBatches(len(items), run.batch_rng, run.device)
    state = run.resume()
    acc = {"epoch_sum": 0.0, "best": math.inf, "sgd": 0}
    best_weights = copy.deepcopy(model.state_dict())
    if state:
        batches.load_state_dict(state["sampler"])
        acc.update(state["acc"])
        best_weights = state["best_weights"]
        if acc["sgd"]:
            opt = switch_to_sgd(run, model, cfg)
            opt.load_state_dict(state["sgd_state"])
    steps_per_epoch = math.ceil(len(items) / cfg.batch_size)
    total = cfg.epochs * steps_per_epoch
    if cfg.max_steps:
        total = min(total, cfg.max_steps)

    def loop_state() -> dict:
        out = {"sampler": batches.state_dict(), "acc": dict(acc), "best_weights": best_weights}
        if acc["sgd"]:
            out["sgd_state"] = opt.state_dict()
        return out

    for step in run.steps(total, cfg.checkpoint_every, loop_state):
        batch = items[run.shard(batches.take(cfg.batch_size))]
        with run.autocast():
            loss = reconstruction_loss(cfg.loss, model(batch), batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        value = loss.item()  # the step's one host sync (logged, and read by the blow-up check)
        if (
            cfg.blowup_factor
            and not acc["sgd"]
            and math.isfinite(acc["best"])
            and value > cfg.blowup_factor * acc["best"]
        ):
            model.load_state_dict(best_weights)  # S3: "loaded it back and switched the optimizer"
            opt = switch_to_sgd(run, model, cfg)
            acc["sgd"] = 1
        epoch = math.ceil(step / steps_per_epoch)
        acc["epoch_sum"] += value
        log.append(step, epoch, value, acc["sgd"])
        run.show(loss=value)
        if step % steps_per_epoch == 0 or step == total:
            mean = acc["epoch_sum"] / (step - (epoch - 1) * steps_per_epoch)
            if mean < acc["best"]:
                acc["best"], best_weights = mean, copy.deepcopy(model.state_dict())
            epochs.append(step, epoch, mean, *evaluate_reconstruction(model, valid, cfg))
            acc["epoch_sum"] = 0.0


def switch_to_sgd(run: Run, model: nn.Module, cfg: AutoencoderConfig) -> torch.optim.Optimizer:
    """The SGD optimizer that replaces Adam after a blow-up (registered, so resume keeps it)."""
    return run.optimizer(
        "model", make_optimizer("sgd", model.parameters(), cfg.sgd_lr, momentum=cfg.sgd_momentum)
    )


@torch.no_grad()
def sample_autoencoder(
    modules: dict[str, nn.Module],
    cfg: AutoencoderSampleConfig,
    ckpt: Checkpoint,
    test: dict[str, np.ndarray],
    seed: int,
    device: torch.device,
) -> dict[str, SampleSet]:
    """``samples``: reconstructions of the first ``n`` test images, the inputs as ``reference``.

    The first ``n`` in order, not spread out: consecutive images of a piece, so audio
    plays as one passage. When the split has ``transfer`` (the same music rendered with
    another instrument: S3's style transfer), the model is applied to its first ``n`` too,
    as the ``transfer`` set.
    """
    model = modules["model"].eval()
    scale = float(ckpt.encoding.get("scale", 1) or 1)
    sets = {}
    for set_name, key in (("samples", "x"), ("transfer", "transfer")):
        if key not in test:
            continue
        idx = np.arange(min(cfg.n, len(test[key])), dtype=np.int64)  # empty for an empty split
        real = torch.from_numpy(test[key][idx].astype(np.float32)) / scale
        recon = model(real.to(device)).float().cpu().numpy() if len(idx) else real.numpy()
        sets[set_name] = SampleSet(recon, {"reference": real.numpy(), "test_index": idx})
    return sets


AUTOENCODER = register_trainer(
    Trainer(
        name="autoencoder",
        config=AutoencoderConfig,
        sample_config=AutoencoderSampleConfig,
        modules=("model",),
        splits=("train", "valid"),
        fit=fit_autoencoder,
        sample=sample_autoencoder,
    )
)
