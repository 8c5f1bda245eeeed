"""The adversarial trainer: every GAN of the seeds, as params.

One loop serves S0's WGAN-GP U-Net, S1's Bi-LSTM and CNN-LSTM GANs and S4's GAN and
WGAN variants. It is the pytorch/examples DCGAN loop with WGAN's Algorithm 1 (Arjovsky
et al. 2017; Gulrajani et al. 2017): per iteration ``n_critic`` critic steps on fakes
made without gradients, then ``n_gen`` generator steps against the frozen critic. What
differs between the papers is all in :class:`AdversarialConfig`: the loss (``bce``,
``wgan-clip``, ``wgan-gp``), the optimizer of each network (Adam, RMSProp, SGD with
momentum), a per-epoch learning-rate decay, the update ratio, clipping, the gradient
penalty, Gaussian noise on every layer, an L2 weight penalty and generator pre-training.

The loop relies only on :class:`scorelab.models.base.Generator`: ``latent_shape``,
``sample_shape`` and the ``condition`` hook (S0's melody), so it knows nothing of tracks.

An epoch is one shuffled pass of the real batches over the training items (what Keras'
and PyTorch's loaders call an epoch); ``lr_decay`` multiplies both learning rates after
each. Pre-training (S1: "pretraining the generator model with unsupervised learning",
without saying which) is our reading: the first ``pretrain_g_steps`` steps fit G alone to
random real batches by mean squared error, which sets its output density to the data's
before the critic sees it; they are logged with the critic columns empty (nan).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from scorelab.config import fraction, non_negative, positive
from scorelab.errors import ParamsError
from scorelab.sampling.generators import evenly_spaced, generate, sample_generator
from scorelab.training.batches import ShuffledBatches, check_batch_size
from scorelab.training.checkpoint import Checkpoint
from scorelab.training.losses import ADVERSARIAL_LOSSES
from scorelab.training.optim import add_noise, decay_lr, l2_penalty, make_optimizer
from scorelab.training.registry import SampleSet, Trainer, register_trainer
from scorelab.training.run import Run

Optimizer = Literal["adam", "rmsprop", "sgd"]


@dataclass(frozen=True)
class AdversarialConfig:
    """How to train a (generator, critic) pair; every field is a params.yaml key.

    Attributes
    ----------
    loss
        ``wgan-gp`` (S0), ``wgan-clip`` (S4's WGAN), ``bce`` (S1, S4's GAN).
    iterations
        Training iterations (each ``n_critic`` critic and ``n_gen`` generator steps).
    batch_size
        Samples per step (S0 64, S4 16).
    n_critic, n_gen
        Critic steps and generator steps per iteration: S0's runs 1, 2, 5 critic steps;
        S1's 1:10 is 10 generator steps per critic step.
    optimizer_g, optimizer_d, lr_g, lr_d, beta1, beta2, momentum
        Each network's optimizer: Adam (betas), RMSProp or SGD (momentum).
    lr_decay
        Factor applied to both learning rates after every epoch (1: none).
    gp_weight
        Gradient-penalty lambda of ``wgan-gp`` (Gulrajani et al. 2017: 10).
    clip_value
        Weight clipping bound of ``wgan-clip`` (Arjovsky et al. 2017: 0.01).
    noise_std
        Std of Gaussian noise on every layer's output of G and D, in training (S4: 0.1).
    l2_weight
        L2 coefficient on the weight matrices of G and D (S4's code: Keras' 0.01).
    pretrain_g_steps
        Steps of generator pre-training before the adversarial iterations.
    mode_seeking
        Weight of the mode-seeking term (MSGAN, Mao et al. 2019, eq. 3, as in its code):
        each generator step makes a second fake from other noise with the same condition
        and adds ``weight / (mean|G(c,z1) - G(c,z2)| / mean|z1 - z2| + 1e-5)``, so a
        generator that ignores its noise (pix2pix's finding, Isola et al. 2017: S0's U-Net
        did) pays for it. 0: off.
    binarize
        ``straight_through``: the critic sees fakes binarized at 0.5 with straight-through
        gradients (BinaryMuseGAN, Dong & Yang 2018); ``none``: the generator's values.
    checkpoint_every
        Write ``resume.pt`` every this many steps.
    max_steps
        Cap on the run's steps (0: none); part of the run's definition.
    """

    loss: Literal["bce", "wgan-clip", "wgan-gp"]
    iterations: int
    batch_size: int
    n_critic: int = 1
    n_gen: int = 1
    optimizer_g: Optimizer = "adam"
    optimizer_d: Optimizer = "adam"
    lr_g: float = 1.0e-4
    lr_d: float = 1.0e-4
    beta1: float = 0.5
    beta2: float = 0.999
    momentum: float = 0.0
    lr_decay: float = 1.0
    gp_weight: float = 10.0
    clip_value: float = 0.01
    noise_std: float = 0.0
    l2_weight: float = 0.0
    pretrain_g_steps: int = 0
    mode_seeking: float = 0.0
    binarize: Literal["none", "straight_through"] = "none"
    checkpoint_every: int = 100
    max_steps: int = 0

    def __post_init__(self) -> None:
        positive(self, "iterations", "batch_size", "n_critic", "n_gen", "lr_g", "lr_d", "checkpoint_every")
        positive(self, "clip_value", "lr_decay")
        non_negative(
            self,
            "gp_weight",
            "noise_std",
            "l2_weight",
            "pretrain_g_steps",
            "max_steps",
            "momentum",
            "mode_seeking",
        )
        fraction(self, "beta1", "beta2", closed=False)
        if self.lr_decay > 1:
            raise ParamsError(f"lr_decay: must be in (0, 1], got {self.lr_decay}")


@dataclass(frozen=True)
class AdversarialSampleConfig:
    """Sampling settings: ``n`` unconditional samples; ``accompaniment`` conditioned on test items.

    ``threshold``: items are ``value >= threshold`` as uint8 (binary rolls); None keeps
    the generator's values (the note-index codec snaps them to its vocabulary).
    """

    n: int
    accompaniment: int = 0
    threshold: float | None = None

    def __post_init__(self) -> None:
        non_negative(self, "n", "accompaniment")
        if self.threshold is not None:
            fraction(self, "threshold")


def straight_through(values: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Binarize forward, identity backward (Bengio et al. 2013; BinaryMuseGAN, Dong & Yang 2018)."""
    values = values.float()  # in bf16, hard + v - v.detach() is not exactly 0/1 (issue 21)
    hard = (values >= threshold).to(values.dtype)
    return hard + values - values.detach()


MODE_SEEKING_EPS = 1e-5  # MSGAN's code


def generate_pair(
    gen: nn.Module, real: torch.Tensor, rng: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """One fake batch like ``real`` (B, *S), and MSGAN's ratio for a second one from other noise.

    Both batches share one condition from the model's hook, so the ratio
    ``mean|G(c,z1) - G(c,z2)| / mean|z1 - z2|`` measures how much the output moves with
    the noise alone (Mao et al. 2019).
    """
    n = real.shape[0]
    cond = gen.condition(real, rng)
    z1 = torch.randn((n, *gen.latent_shape), generator=rng, device=real.device)  # (B, *L)
    z2 = torch.randn((n, *gen.latent_shape), generator=rng, device=real.device)  # (B, *L)
    fake1, fake2 = gen(z1, cond), gen(z2, cond)  # (B, *S) each
    ratio = (fake1 - fake2).abs().float().mean() / (z1 - z2).abs().mean()
    return fake1, ratio


def fit_adversarial(run: Run, cfg: AdversarialConfig, data: dict[str, dict[str, np.ndarray]]) -> None:
    """Train ``run.modules["generator"]`` against ``run.modules["critic"]`` on ``data["train"]["x"]``.

    Raises
    ------
    ValueError
        When the training items do not have the generator's ``sample_shape``.
    """
    gen, critic = run.modules["generator"], run.modules["critic"]
    x = data["train"]["x"]
    if x.ndim < 2 or tuple(x.shape[1:]) != tuple(gen.sample_shape) or len(x) == 0:
        raise ValueError(
            f"training data has shape {x.shape}; the generator makes (N>0, *{tuple(gen.sample_shape)})"
        )
    items = run.tensor(x)  # (N, *S) on the device, once
    # image codecs store uint8 0-255 and declare scale 255: every model sees [0, 1]
    scale = float(run.meta["encoding"].get("scale", 1) or 1)
    loss_fn = ADVERSARIAL_LOSSES[cfg.loss]
    opt_g = run.optimizer(
        "generator",
        make_optimizer(cfg.optimizer_g, gen.parameters(), cfg.lr_g, cfg.beta1, cfg.beta2, cfg.momentum),
    )
    opt_d = run.optimizer(
        "critic",
        make_optimizer(cfg.optimizer_d, critic.parameters(), cfg.lr_d, cfg.beta1, cfg.beta2, cfg.momentum),
    )
    if cfg.noise_std:
        add_noise(gen, cfg.noise_std)
        add_noise(critic, cfg.noise_std)
    log = run.log("train", ("step", "epoch", "loss_g", "loss_d", *loss_fn.columns))
    check_batch_size(cfg.batch_size, len(items), "training items")
    batches = ShuffledBatches(len(items), run.batch_rng, run.device)
    state = run.resume()
    if state:
        batches.load_state_dict(state["sampler"])
    binarize = straight_through if cfg.binarize == "straight_through" else (lambda v: v)

    def real_batch() -> torch.Tensor:
        batch = items[run.shard(batches.take(cfg.batch_size))].float()  # (B, *S)
        return batch / scale if scale != 1 else batch

    total = cfg.pretrain_g_steps + cfg.iterations
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    nan = float("nan")
    for step in run.steps(total, cfg.checkpoint_every, lambda: {"sampler": batches.state_dict()}):
        epoch_before = batches.passes
        if step <= cfg.pretrain_g_steps:  # (0) pre-train G alone towards real batches
            real = real_batch()
            with run.autocast():
                loss_g = F.mse_loss(generate(gen, real, run.rng).float(), real)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            value_g = loss_g.item()  # the step's one host sync (a logged scalar)
            log.append(step, batches.passes, value_g, nan, *(nan for _ in loss_fn.columns))
            run.show(pretrain=value_g)
            continue
        # (1) update the critic: n_critic steps on fresh real batches and fakes made without gradients
        sums = torch.zeros(1 + len(loss_fn.columns), device=run.device)
        for _ in range(cfg.n_critic):
            real = real_batch()
            with torch.no_grad(), run.autocast():
                fake = binarize(generate(gen, real, run.rng))  # (B, *S)
            opt_d.zero_grad(set_to_none=True)
            with run.autocast():
                out = loss_fn.critic_loss(
                    critic, real, fake.float(), gp_weight=cfg.gp_weight, generator=run.rng
                )
                loss_d = out.loss + cfg.l2_weight * l2_penalty(critic) if cfg.l2_weight else out.loss
            loss_d.backward()
            opt_d.step()
            if loss_fn.after_critic_step is not None:
                loss_fn.after_critic_step(critic, cfg.clip_value)
            sums += torch.stack([out.loss.detach().float(), *(out.stats[c].float() for c in loss_fn.columns)])
        # (2) update G: n_gen steps against the frozen critic, conditioned on the last real batch
        critic.requires_grad_(False)
        for _ in range(cfg.n_gen):
            opt_g.zero_grad(set_to_none=True)
            with run.autocast():
                if cfg.mode_seeking:
                    fake, ratio = generate_pair(gen, real, run.rng)
                    loss_g = loss_fn.generator_loss(critic, binarize(fake))
                    loss_g = loss_g + cfg.mode_seeking / (ratio + MODE_SEEKING_EPS)
                else:
                    loss_g = loss_fn.generator_loss(critic, binarize(generate(gen, real, run.rng)))
                if cfg.l2_weight:
                    loss_g = loss_g + cfg.l2_weight * l2_penalty(gen)
            loss_g.backward()
            opt_g.step()
        critic.requires_grad_(True)
        ended = batches.passes - max(epoch_before, 1)  # passes that began after a full one
        if cfg.lr_decay != 1.0 and ended > 0:
            for opt in (opt_g, opt_d):
                decay_lr(opt, cfg.lr_decay**ended)
        # the step's one host sync: every logged scalar in one copy
        value_g, *means = torch.cat([loss_g.detach().float().reshape(1), sums / cfg.n_critic]).cpu().tolist()
        log.append(step, batches.passes, value_g, *means)
        run.show(loss_g=value_g, loss_d=means[0])


def sample_adversarial(
    modules: dict[str, nn.Module],
    cfg: AdversarialSampleConfig,
    ckpt: Checkpoint,
    test: dict[str, np.ndarray],
    seed: int,
    device: torch.device,
) -> dict[str, SampleSet]:
    """``samples``: ``cfg.n`` unconditional items; ``accompaniment``: items conditioned on
    ``cfg.accompaniment`` evenly spaced test items (conditional generators only).
    """
    gen = modules["generator"]

    def finish(values: np.ndarray) -> np.ndarray:
        return values if cfg.threshold is None else (values >= cfg.threshold).astype(np.uint8)

    sets = {"samples": SampleSet(finish(sample_generator(gen, cfg.n, seed, device=device)), {})}
    if cfg.accompaniment and gen.conditional and "x" in test and len(test["x"]):
        idx = evenly_spaced(len(test["x"]), cfg.accompaniment)
        real = test["x"][idx]
        values = sample_generator(gen, len(idx), seed + 1, real=real, device=device)
        given = np.asarray(gen.given_tracks, np.int64)
        sets["accompaniment"] = SampleSet(
            finish(values), {"reference": real, "test_index": idx, "given_tracks": given}
        )
    return sets


ADVERSARIAL = register_trainer(
    Trainer(
        name="adversarial",
        config=AdversarialConfig,
        sample_config=AdversarialSampleConfig,
        modules=("generator", "critic"),
        splits=("train",),
        fit=fit_adversarial,
        sample=sample_adversarial,
    )
)
