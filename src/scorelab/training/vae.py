"""The VAE trainer: S2's convolutional VAE (reconstruction cross-entropy + KL), and its samples.

S2 trains with Keras: ``fit(x, validation_split=0.2, epochs=100)``, Adam, and the loss of
Chollet's VAE layer, whose code S2's description follows: per image the mean binary
cross-entropy over its pixels plus ``kl_weight * -mean(1 + log_var - mu^2 - exp(log_var))``
over the latent dimensions (Chollet's weight 5e-4), averaged over the batch. Keras'
``validation_split`` holds out the *last* 20 % of the training array before any shuffle;
so does this trainer, and it logs that part's loss once per epoch beside the epoch's
mean training loss (S2's two curves), plus the test split's loss.

Images come as the codec's uint8 values; they are divided by the encoding's ``scale``
(255 for the image codecs, 1 otherwise), so the model sees [0, 1].

Samples: ``samples``, ``n`` images decoded from ``z ~ N(0, I)``; ``grid``, ``grid x grid``
images decoded from an even grid over ``[-grid_range, grid_range]^2`` (S2: [-4, 4]^2),
row by row, the first latent dimension along the rows (only for a 2-D latent). Items
are the decoder's [0, 1] values; the codec binarises them at its threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from scorelab.config import non_negative, positive
from scorelab.errors import ParamsError
from scorelab.training.batches import ShuffledBatches, check_batch_size, scaled
from scorelab.training.checkpoint import Checkpoint
from scorelab.training.device import generator_on
from scorelab.training.optim import make_optimizer
from scorelab.training.registry import SampleSet, Trainer, register_trainer
from scorelab.training.run import Run


@dataclass(frozen=True)
class VAEConfig:
    """How to train a VAE (defaults: S2's Keras settings, Chollet's KL weight)."""

    epochs: int
    batch_size: int
    lr: float = 1.0e-3  # Keras' Adam default
    beta1: float = 0.9
    beta2: float = 0.999
    kl_weight: float = 5.0e-4
    validation_split: float = 0.2  # the last share of the training array (Keras)
    checkpoint_every: int = 100
    max_steps: int = 0  # stop after this many steps in all (0: no cap)

    def __post_init__(self) -> None:
        positive(self, "epochs", "batch_size", "lr", "checkpoint_every")
        non_negative(self, "kl_weight", "max_steps")
        if not 0.0 <= self.validation_split < 1.0:
            raise ValueError(f"validation_split must be in [0, 1), got {self.validation_split}")


@dataclass(frozen=True)
class VAESampleConfig:
    """``n`` samples from N(0, I); a ``grid`` x ``grid`` sweep of [-grid_range, grid_range]^2.

    Binarizing (S2: images "white or black"): by default the dataset codec's threshold
    does it when decoding. A VAE trained with BCE on images that are 99 % black decodes
    to grey probability maps well below 0.5, which that threshold turns into silence,
    and a fixed lower one is fragile (measured on quick: 0.25 after 6 epochs gave 19
    pitches per image, 0.3 after 10 epochs almost none). ``match_density`` binarizes
    each set here instead, at the value above which the set has the test split's share
    of note cells: the model decides where the notes go, the data how many there are.
    ``threshold`` binarizes at a fixed value (ignored with ``match_density``).
    """

    n: int
    grid: int = 0
    grid_range: float = 4.0
    threshold: float | None = None
    match_density: bool = False

    def __post_init__(self) -> None:
        non_negative(self, "n", "grid")
        positive(self, "grid_range")
        if self.threshold is not None and not 0.0 < self.threshold <= 1.0:
            raise ParamsError(f"threshold: must be in (0, 1], got {self.threshold}")


def vae_loss(model: nn.Module, x: torch.Tensor, kl_weight: float, rng: torch.Generator | None):
    """(loss, bce, kl) of a batch in [0, 1]: Chollet's per-image mean BCE + weighted KL, batch mean."""
    recon, mu, log_var = model(x, rng)
    # CUDA's autocast refuses binary_cross_entropy on probabilities (unsafe in bf16; issue
    # 21): the loss is taken in float32 outside autocast. The CPU never autocasts: same bytes.
    with torch.autocast(x.device.type, enabled=False):
        bce = F.binary_cross_entropy(recon.float().flatten(1), x.float().flatten(1), reduction="none").mean(
            dim=1
        )
        log_var, mu = log_var.float(), mu.float()
        kl = -(1 + log_var - mu.pow(2) - log_var.exp()).mean(dim=1)
        return (bce + kl_weight * kl).mean(), bce.mean(), kl.mean()


@torch.no_grad()
def held_out_loss(model: nn.Module, x: torch.Tensor, cfg: VAEConfig, seed: int) -> torch.Tensor:
    """Mean loss over ``x`` in batches, with a fixed noise seed (the same every epoch).

    A float64 scalar on ``x``'s device, summed there in the order (and with the float64
    arithmetic) of a Python float sum of each batch's ``.item()``: no host sync per batch.
    """
    if not len(x):
        return torch.tensor(math.nan, dtype=torch.float64, device=x.device)
    was = model.training
    model.eval()
    rng = generator_on(x.device, seed)
    total = torch.zeros((), dtype=torch.float64, device=x.device)
    for lo in range(0, len(x), cfg.batch_size):
        part = x[lo : lo + cfg.batch_size]
        total += vae_loss(model, part, cfg.kl_weight, rng)[0].double() * len(part)
    model.train(was)
    return total / len(x)


def fit_vae(run: Run, cfg: VAEConfig, data: dict[str, dict[str, np.ndarray]]) -> None:
    """Train ``run.modules["model"]`` on the first ``1 - validation_split`` of ``data["train"]["x"]``."""
    model = run.modules["model"]
    x = data["train"]["x"]
    if x.ndim < 2 or tuple(x.shape[1:]) != tuple(model.sample_shape):
        raise ValueError(
            f"training data has shape {x.shape}; the model takes (N, *{tuple(model.sample_shape)})"
        )
    n_valid = int(len(x) * cfg.validation_split)  # Keras: int(n * split) items at the end
    if len(x) - n_valid < 1:
        raise ValueError(f"{len(x)} training items leave none after validation_split {cfg.validation_split}")
    items = scaled(run, x[: len(x) - n_valid])
    valid = scaled(run, x[len(x) - n_valid :])
    test = scaled(run, data["test"]["x"]) if "test" in data else items[:0]
    opt = run.optimizer("model", make_optimizer("adam", model.parameters(), cfg.lr, cfg.beta1, cfg.beta2))
    log = run.log("train", ("step", "epoch", "loss", "bce", "kl"))
    epochs = run.log("valid", ("step", "epoch", "train_loss", "valid_loss", "test_loss"))
    latent_log = run.log("latent", ("step", "piece", *(f"z{i + 1}" for i in range(model.latent))))
    check_batch_size(cfg.batch_size, len(items), "training images")
    batches = ShuffledBatches(len(items), run.batch_rng, run.device)
    state = run.resume()
    if state:
        batches.load_state_dict(state["sampler"])
    steps_per_epoch = math.ceil(len(items) / cfg.batch_size)
    total = cfg.epochs * steps_per_epoch
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    acc = {"epoch_sum": float(state.get("epoch_sum", 0.0)) if state else 0.0}  # read by the resume state

    def loop_state() -> dict:
        return {"sampler": batches.state_dict(), **acc}

    last = run.start
    for step in run.steps(total, cfg.checkpoint_every, loop_state):
        batch = items[run.shard(batches.take(cfg.batch_size))]
        with run.autocast():
            loss, bce, kl = vae_loss(model, batch, cfg.kl_weight, run.rng)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        epoch = math.ceil(step / steps_per_epoch)
        values = torch.stack([loss.detach(), bce.detach(), kl.detach()]).cpu().tolist()  # the step's one sync
        acc["epoch_sum"] += values[0]
        log.append(step, epoch, *values)
        run.show(loss=values[0])
        if step % steps_per_epoch == 0 or step == total:
            done = step - (epoch - 1) * steps_per_epoch
            held = torch.stack([held_out_loss(model, valid, cfg, 0), held_out_loss(model, test, cfg, 1)])
            valid_loss, test_loss = held.cpu().tolist()  # the epoch row's one sync
            epochs.append(step, epoch, acc["epoch_sum"] / done, valid_loss, test_loss)
            acc["epoch_sum"] = 0.0
        last = step
    if last == total:  # after the last step, outside it: a once-per-run read-back, not a step's
        log_latent(model, data["train"], run, cfg, latent_log, total)


LATENT_POINTS = 2000  # training images in the latent log, evenly spread (S2's scatter plot)


@torch.no_grad()
def log_latent(
    model: nn.Module, train: dict[str, np.ndarray], run: Run, cfg: VAEConfig, log, step: int
) -> None:
    """The latent means of up to ``LATENT_POINTS`` training images, with their piece, as ``latent_log.tsv``.

    S2 plots the training set in its 2-D latent space coloured by song: whether pieces
    form regions is what the latent space learned. Written once, after the last step.
    """
    from scorelab.sampling.generators import evenly_spaced

    idx = evenly_spaced(len(train["x"]), LATENT_POINTS)
    pieces = train["piece_index"][idx] if "piece_index" in train else np.zeros(len(idx), np.int64)
    x = scaled(run, train["x"][idx])
    was = model.training
    model.eval()
    mu = torch.cat([model.encode(x[i : i + cfg.batch_size])[0] for i in range(0, len(x), cfg.batch_size)])
    model.train(was)
    for piece, z in zip(pieces.tolist(), mu.float().cpu().tolist(), strict=True):
        log.append(step, piece, *z)


@torch.no_grad()
def sample_vae(
    modules: dict[str, nn.Module],
    cfg: VAESampleConfig,
    ckpt: Checkpoint,
    test: dict[str, np.ndarray],
    seed: int,
    device: torch.device,
) -> dict[str, SampleSet]:
    """``samples`` from N(0, I); ``grid`` over [-grid_range, grid_range]^2 for a 2-D latent."""
    model = modules["model"].eval()
    rng = torch.Generator().manual_seed(seed)

    share = float((test["x"] > 0).mean()) if "x" in test and test["x"].size else 0.0

    def images(z: torch.Tensor) -> np.ndarray:
        values = model.decode(z.to(device)).float().cpu().numpy()
        if cfg.match_density and values.size:
            cut = np.quantile(values, 1.0 - share) if share > 0 else np.inf
            return (values >= max(cut, np.finfo(np.float32).tiny)).astype(np.float32)
        return values if cfg.threshold is None else (values >= cfg.threshold).astype(np.float32)

    z = torch.randn((cfg.n, model.latent), generator=rng)
    sets = {"samples": SampleSet(images(z), {"z": z.numpy()})}
    if cfg.grid and model.latent == 2:
        axis = torch.linspace(-cfg.grid_range, cfg.grid_range, cfg.grid)
        zz = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), dim=-1).reshape(-1, 2)
        sets["grid"] = SampleSet(images(zz), {"z": zz.numpy()})
    return sets


VAE = register_trainer(
    Trainer(
        name="vae",
        config=VAEConfig,
        sample_config=VAESampleConfig,
        modules=("model",),
        splits=("train", "test"),
        fit=fit_vae,
        sample=sample_vae,
    )
)
