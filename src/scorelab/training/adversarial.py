"""The adversarial loop: n_critic critic updates, then one generator update.

One loop serves every adversarial model and loss. The model comes from the registry,
the loss from :data:`scorelab.training.losses.ADVERSARIAL_LOSSES`; the loop only relies
on the generator's ``latent_shape``, ``sample_shape`` and ``conditional`` attributes.
The structure is the pytorch/examples DCGAN loop with WGAN-GP's Algorithm 1
(Gulrajani et al. 2017): ``n_critic`` critic steps on detached fakes, then a generator
step, both with Adam(beta1, beta2).

Conditioning (S0's accompaniment): a conditional generator receives the real batch's
track 0 as the melody, hidden (zeroed) for a ``melody_dropout`` share of the samples so
the same network also learns unconditional generation.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from scorelab.models import get_model_spec, module_dict, parse_arch
from scorelab.models.config import from_dict
from scorelab.training.checkpoint import run_fingerprint
from scorelab.training.config import AdversarialTrainConfig
from scorelab.training.device import pick_device
from scorelab.training.losses import ADVERSARIAL_LOSSES
from scorelab.training.runlog import RunCheckpoints, TsvLog
from scorelab.utils import seed_everything

# The Wasserstein estimate last: `dvc plots show` draws a TSV's last column by default,
# and it is the curve that tells a WGAN's progress (Arjovsky et al. 2017, sec. 4.3).
LOG_COLUMNS = ("step", "loss_g", "loss_d", "gradient_penalty", "wasserstein")


class ShuffledBatches:
    """Batches drawn without replacement from shuffled passes over N samples.

    A pass is ``torch.randperm(N)`` from the run's data generator; a batch that runs past
    the end of a pass continues into the next one, so every batch is full even when
    N < batch_size. S0's "shuffle buffer 1000" (tf.data) approximates this full shuffle.
    """

    def __init__(self, n: int, generator: torch.Generator):
        self.n = n
        self.generator = generator
        self.perm = torch.empty(0, dtype=torch.long)
        self.cursor = 0

    def take(self, size: int) -> torch.Tensor:
        """Return the next ``size`` sample indices, (size,)."""
        parts = []
        while size > 0:
            if self.cursor == len(self.perm):
                self.perm, self.cursor = torch.randperm(self.n, generator=self.generator), 0
            part = self.perm[self.cursor : self.cursor + size]
            self.cursor += len(part)
            size -= len(part)
            parts.append(part)
        return torch.cat(parts)

    def state_dict(self) -> dict[str, Any]:
        return {"perm": self.perm.clone(), "cursor": self.cursor}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.perm, self.cursor = state["perm"], int(state["cursor"])


def straight_through(probs: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Binarize forward, identity backward (Bengio et al. 2013; BinaryMuseGAN, Dong & Yang 2018)."""
    hard = (probs >= threshold).to(probs.dtype)
    return hard + probs - probs.detach()


def generate(
    generator: nn.Module,
    real: torch.Tensor,
    rng: torch.Generator,
    melody_dropout: float,
    binarize: str = "none",
) -> torch.Tensor:
    """Fake batch like ``real`` (B, C, T, P): noise from ``rng``, melody from ``real``'s track 0."""
    n = real.shape[0]
    z = torch.randn((n, *generator.latent_shape), generator=rng).to(real.device)  # (B, L, ...)
    if not generator.conditional:
        fake = generator(z)
    else:
        conditioned = (torch.rand(n, generator=rng) >= melody_dropout).to(real.device)  # (B,)
        melody = real[:, :1] * conditioned.view(n, 1, 1, 1)  # (B, 1, T, P), zero where hidden
        fake = generator(z, melody, conditioned)  # (B, C, T, P)
    return straight_through(fake) if binarize == "straight_through" else fake


def train_adversarial(
    name: str,
    arch: dict[str, Any],
    train: dict[str, Any],
    data: np.ndarray,
    encoding: dict[str, Any],
    out_dir: Path,
    log_path: Path,
    seed: int,
    max_steps: int | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> Path:
    """Train an adversarial model; return the path of ``out_dir/checkpoint.pt``.

    Parameters
    ----------
    name
        A key of ``MODELS`` of the adversarial family (``s0_unet``).
    arch, train
        The variant's ``arch:`` and merged ``train:`` mappings (strictly checked;
        see :class:`~scorelab.training.config.AdversarialTrainConfig`).
    data
        Training rolls, uint8 0/1, (N, C, T, P).
    encoding
        The codec's description of ``data`` (recorded in the checkpoint).
    out_dir
        Receives ``checkpoint.pt`` (and ``resume.pt`` while the run is unfinished).
    log_path
        TSV with one row per iteration: step, loss_g, loss_d, gradient_penalty,
        wasserstein (critic values are means over the iteration's critic steps).
    seed
        Seeds weights, batches, noise and penalties: same params on the CPU, same bytes.
    max_steps
        Stop after this many iterations in total as if interrupted: ``resume.pt`` and a
        ``checkpoint.pt`` of the current weights are written, and the next call resumes.
    device
        Torch device; default :func:`~scorelab.training.device.pick_device`.
    progress
        Show a tqdm bar.

    Returns
    -------
    Path
        ``out_dir/checkpoint.pt``: weights of generator and critic plus the meta.

    Raises
    ------
    ValueError
        Unknown model, a model of the other family, or data of the wrong shape.
    ParamsError
        A bad ``arch`` or ``train`` key.
    """
    spec = get_model_spec(name)
    if spec.family != "adversarial":
        raise ValueError(f"model {name!r} is {spec.family}; train it with train_likelihood")
    arch_obj = parse_arch(name, arch)
    arch_cfg = asdict(arch_obj)
    cfg = from_dict(AdversarialTrainConfig, train, "train")
    loss_fn = ADVERSARIAL_LOSSES[cfg.loss]
    out_dir, dev = Path(out_dir), pick_device(device)
    fingerprint = run_fingerprint(name, arch_cfg, asdict(cfg), encoding, seed, data)

    seed_everything(seed)
    gen_net, critic = spec.builder(arch_obj, encoding)
    if data.ndim != 4 or tuple(data.shape[1:]) != tuple(gen_net.sample_shape) or len(data) == 0:
        raise ValueError(f"data has shape {data.shape}; {name} needs (N>0, *{tuple(gen_net.sample_shape)})")
    if data.min() < 0 or data.max() > 1:
        raise ValueError(f"data values span [{data.min()}, {data.max()}]; expected 0/1 piano rolls")
    gen_net.to(dev).train()
    critic.to(dev).train()
    opt_g = torch.optim.Adam(gen_net.parameters(), lr=cfg.lr_g, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam(critic.parameters(), lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2))
    modules = module_dict(spec.family, (gen_net, critic))
    optimizers = {"generator": opt_g, "critic": opt_d}
    rng = torch.Generator().manual_seed(seed)  # the data generator: batches, noise, masks, eps
    batches = ShuffledBatches(len(data), rng)
    rolls = torch.from_numpy(np.ascontiguousarray(data))  # (N, C, T, P) uint8, stays on the CPU

    train_log = TsvLog(log_path, LOG_COLUMNS)
    meta = dict(
        model_name=name,
        family=spec.family,
        arch=arch_cfg,
        train=asdict(cfg),
        encoding=encoding,
        fingerprint=fingerprint,
    )
    run = RunCheckpoints(out_dir, meta, modules, optimizers, rng, {"train": train_log})
    start, state = run.resume()
    if state:
        batches.load_state_dict(state["sampler"])

    stop = cfg.iterations if max_steps is None else max(start, min(cfg.iterations, max_steps))
    bar = tqdm(total=cfg.iterations, initial=start, desc=f"train {name}", unit="it", disable=not progress)
    for step in range(start + 1, stop + 1):
        # (1) update critic: n_critic steps on fresh real batches and detached fakes
        sums = torch.zeros(3)
        for _ in range(cfg.n_critic):
            real = rolls[batches.take(cfg.batch_size)].to(dev, torch.float32)  # (B, C, T, P)
            fake = generate(gen_net, real, rng, cfg.melody_dropout, cfg.binarize)  # (B, C, T, P)
            opt_d.zero_grad(set_to_none=True)
            out = loss_fn.critic_loss(critic, real, fake.detach(), gp_weight=cfg.gp_weight, generator=rng)
            out.loss.backward()
            opt_d.step()
            if loss_fn.after_critic_step is not None:
                loss_fn.after_critic_step(critic, cfg.clip_value)
            sums += torch.stack([out.loss.detach(), out.wasserstein, out.gradient_penalty]).cpu()
        # (2) update G: new noise, the last critic batch's melodies; the critic is frozen
        critic.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        loss_g = loss_fn.generator_loss(
            critic, generate(gen_net, real, rng, cfg.melody_dropout, cfg.binarize)
        )
        loss_g.backward()
        opt_g.step()
        critic.requires_grad_(True)

        loss_d, wasserstein, penalty = (sums / cfg.n_critic).tolist()
        train_log.append(step, loss_g.item(), loss_d, penalty, wasserstein)
        bar.update(1)
        bar.set_postfix(loss_g=f"{loss_g.item():.3g}", w=f"{wasserstein:.3g}")
        run.periodic(step, stop, cfg.checkpoint_every, {"sampler": batches.state_dict()})
    bar.close()
    return run.finish(stop, cfg.iterations, {"sampler": batches.state_dict()})
