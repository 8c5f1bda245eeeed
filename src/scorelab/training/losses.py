"""Adversarial and likelihood losses, each a named function next to its paper.

The adversarial loop never branches on the loss name: it looks the name up once in
:data:`ADVERSARIAL_LOSSES` and calls the entry's ``critic_loss``, ``generator_loss`` and
``after_critic_step``. Adding a loss is adding an entry.

Shapes: B batch; critics return one score per sample, (B,).

Precision: under CUDA's bf16 autocast a critic returns bf16 scores; every loss and
logged estimate here is taken in float32 (``.float()`` before the mean), because in bf16
S4's Wasserstein estimate of 2.8e-9 rounds to 0 (issue 21). On the CPU, which never
autocasts, ``.float()`` is the identity and changes no byte.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class CriticLoss:
    """One critic evaluation: the loss to minimise and the numbers the papers plotted.

    Attributes
    ----------
    loss
        Scalar the critic minimises.
    stats
        Detached scalars named as the loss's ``columns``: ``wasserstein`` (``mean D(real)
        - mean D(fake)``, the critic's estimate of the Wasserstein-1 distance, Arjovsky et
        al. 2017) and ``gradient_penalty`` (unweighted) for WGANs; ``d_acc_real`` and
        ``d_acc_fake`` (share of real scored real, of fakes scored fake) for BCE.
    """

    loss: torch.Tensor
    stats: dict[str, torch.Tensor]


def gradient_penalty(
    critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Two-sided gradient penalty of WGAN-GP (Gulrajani et al. 2017, eq. 3).

    ``E[(||grad_x D(x_hat)||_2 - 1)^2]`` at ``x_hat = eps * real + (1 - eps) * fake``,
    ``eps ~ U[0, 1]`` per sample: the optimal critic has unit-norm gradients on the
    lines between the two distributions, so this softly enforces the 1-Lipschitz
    constraint that weight clipping enforced crudely.

    Parameters
    ----------
    critic
        Maps (B, ...) to (B,) scores; must treat samples independently (no BatchNorm).
    real, fake
        Samples of the same shape (B, ...); ``fake`` should be detached from G.
    generator
        Torch RNG on ``real``'s device for ``eps`` (seeded by the caller so runs repeat);
        default global.

    Returns
    -------
    torch.Tensor
        Scalar penalty, differentiable w.r.t. the critic's weights (``create_graph``).
    """
    n = real.shape[0]
    eps = torch.rand((n,) + (1,) * (real.dim() - 1), generator=generator, device=real.device)  # (B, 1, ...)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)  # (B, ...)
    scores = eager(critic)(x_hat).float()  # (B,)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)  # (B, ...)
    return ((grad.float().flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def eager(module: nn.Module) -> Callable[..., torch.Tensor]:
    """``module``'s uncompiled call (hooks included) when ``compute.compile`` compiled it in place.

    The gradient penalty differentiates the critic's input gradient again (a double
    backward), which torch.compile's AOTAutograd graphs refuse ("torch.compile with
    aot_autograd does not currently support double backward", issue 21): the penalty's
    forward runs eagerly, and only the real and fake scores use the compiled graph.
    ``_compiled_call_impl`` and ``_call_impl`` are nn.Module internals (torch 2.13, the
    pinned version); a torch without them leaves the module as it is.
    """
    if getattr(module, "_compiled_call_impl", None) is not None and hasattr(module, "_call_impl"):
        return module._call_impl
    return module


def wgan_gp_critic_loss(
    critic: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    gp_weight: float,
    generator: torch.Generator | None = None,
) -> CriticLoss:
    """WGAN-GP critic loss ``D(fake) - D(real) + lambda * GP`` (Gulrajani et al. 2017, Alg. 1).

    ``gp_weight`` is lambda; the paper and S0 use 10.
    """
    w = critic(real).float().mean() - critic(fake).float().mean()
    gp = gradient_penalty(critic, real, fake, generator)
    return CriticLoss(-w + gp_weight * gp, {"gradient_penalty": gp.detach(), "wasserstein": w.detach()})


def wgan_clip_critic_loss(
    critic: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    gp_weight: float,
    generator: torch.Generator | None = None,
) -> CriticLoss:
    """WGAN critic loss ``D(fake) - D(real)`` (Arjovsky et al. 2017, Alg. 1).

    The Lipschitz constraint comes from :func:`clip_weights` after every critic step;
    ``gp_weight`` and ``generator`` are unused (same signature as every critic loss).
    """
    w = critic(real).float().mean() - critic(fake).float().mean()
    return CriticLoss(-w, {"wasserstein": w.detach()})


def wgan_generator_loss(critic: nn.Module, fake: torch.Tensor) -> torch.Tensor:
    """WGAN generator loss ``-D(fake)`` (Arjovsky et al. 2017; the same for WGAN-GP)."""
    return -critic(fake).float().mean()


def clip_weights(critic: nn.Module, clip_value: float) -> None:
    """Clamp every critic weight to ``[-c, c]`` (Arjovsky et al. 2017, c = 0.01; S4)."""
    with torch.no_grad():
        for p in critic.parameters():
            p.clamp_(-clip_value, clip_value)


def bce_critic_loss(
    critic: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    gp_weight: float,
    generator: torch.Generator | None = None,
) -> CriticLoss:
    """Discriminator cross-entropy, real -> 1 and fake -> 0 (Goodfellow et al. 2014, eq. 1).

    The critic returns logits; ``BCEWithLogits`` is the stable form of sigmoid + BCE, as
    in DCGAN (Radford et al. 2015); a logit > 0 is a "real" verdict. The loss is the mean
    of the two cross-entropies, as Keras' ``0.5 * (d_loss_real + d_loss_fake)`` (S4).
    """
    s_real, s_fake = critic(real).float(), critic(fake).float()
    loss = 0.5 * (
        F.binary_cross_entropy_with_logits(s_real, torch.ones_like(s_real))
        + F.binary_cross_entropy_with_logits(s_fake, torch.zeros_like(s_fake))
    )
    acc_real = (s_real.detach() > 0).float().mean()
    acc_fake = (s_fake.detach() < 0).float().mean()
    return CriticLoss(loss, {"d_acc_real": acc_real, "d_acc_fake": acc_fake})


def bce_generator_loss(critic: nn.Module, fake: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss ``-log D(fake)`` (Goodfellow et al. 2014, sec. 3)."""
    s_fake = critic(fake).float()
    return F.binary_cross_entropy_with_logits(s_fake, torch.ones_like(s_fake))


@dataclass(frozen=True)
class AdversarialLoss:
    """One entry of :data:`ADVERSARIAL_LOSSES`.

    Attributes
    ----------
    critic_loss
        ``(critic, real, fake, *, gp_weight, generator) -> CriticLoss``.
    generator_loss
        ``(critic, fake) -> scalar``.
    columns
        The names of ``CriticLoss.stats``, in the order the log writes them.
    after_critic_step
        ``(critic, clip_value) -> None`` run after each critic optimizer step, or None.
    """

    critic_loss: Callable[..., CriticLoss]
    generator_loss: Callable[[nn.Module, torch.Tensor], torch.Tensor]
    columns: tuple[str, ...]
    after_critic_step: Callable[[nn.Module, float], None] | None = None


# The Wasserstein estimate last: `dvc plots show` draws a TSV's last column by default,
# and it is the curve that tells a WGAN's progress (Arjovsky et al. 2017, sec. 4.3).
ADVERSARIAL_LOSSES: dict[str, AdversarialLoss] = {
    "wgan-gp": AdversarialLoss(wgan_gp_critic_loss, wgan_generator_loss, ("gradient_penalty", "wasserstein")),
    "wgan-clip": AdversarialLoss(wgan_clip_critic_loss, wgan_generator_loss, ("wasserstein",), clip_weights),
    "bce": AdversarialLoss(bce_critic_loss, bce_generator_loss, ("d_acc_real", "d_acc_fake")),
}


def next_token_loss(logits: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy of the next token at every position (teacher forcing).

    S4 trains Keras' sparse categorical cross-entropy on the last symbol of each window;
    scoring every position is the same maximum-likelihood objective (the chain rule of
    ``log p(sequence)``) with ``window`` times more signal per batch.

    Parameters
    ----------
    logits
        (B, T, V) unnormalised scores.
    targets
        (B, T) token ids, the inputs shifted by one.
    reduction
        ``"mean"`` over all B * T positions, or ``"sum"``.
    """
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction=reduction)


def window_loss(logits: torch.Tensor, batch: torch.Tensor, loss_on: str) -> torch.Tensor:
    """Next-token loss of windows ``batch`` (B, W + 1) from ``logits`` (B, W, V) of its first W.

    ``loss_on="last"``: only the symbol after each window, as S4's Keras model scores it;
    ``"all"``: every position (teacher forcing), the same objective with more signal.
    """
    if loss_on == "last":
        return next_token_loss(logits[:, -1:], batch[:, -1:])
    return next_token_loss(logits, batch[:, 1:])
