"""Optimizers, learning-rate decay, Gaussian noise injection and L2 weight penalty, by params.

Every option is a named function a trainer calls with values from its config, so the
papers' choices (S0: Adam; S1: SGD decayed every epoch; S4's WGAN: RMSProp, noise
std 0.1 on every layer, L2) are params, never branches on a model's name.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

OPTIMIZERS = ("adam", "rmsprop", "sgd")
# Layers whose outputs get noise: the "layers" of a network, as Keras' GaussianNoise is
# inserted after Dense/Conv/LSTM layers (S4's code); activations, norms and dropout are not.
NOISY_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.LSTM, nn.GRU)


def make_optimizer(
    name: str,
    params: Iterable[torch.nn.Parameter],
    lr: float,
    beta1: float = 0.9,
    beta2: float = 0.999,
    momentum: float = 0.0,
) -> torch.optim.Optimizer:
    """Adam(lr, (beta1, beta2)), RMSprop(lr, momentum) or SGD(lr, momentum).

    RMSprop keeps PyTorch's alpha 0.99 and eps 1e-8 (Keras: rho 0.9, eps 1e-7; WGAN's
    reference code uses PyTorch's). Raises ValueError on an unknown name.
    """
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(beta1, beta2))
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=momentum)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum)
    raise ValueError(f"unknown optimizer {name!r}; valid: {list(OPTIMIZERS)}")


def decay_lr(optimizer: torch.optim.Optimizer, factor: float) -> None:
    """Multiply every learning rate by ``factor`` (S1: "decreases in every epoch").

    The new rate lives in the optimizer's param groups, so it is saved in ``resume.pt``.
    """
    for group in optimizer.param_groups:
        group["lr"] *= factor


def add_noise(module: nn.Module, std: float) -> list[torch.utils.hooks.RemovableHandle]:
    """Gaussian noise of ``std`` on the output of every layer of ``module``, in training only.

    S4's WGAN+noise variant puts Keras ``GaussianNoise(0.1)`` after the layers of G and D;
    Keras applies it only in training, and so do these hooks (``module.training``). For
    recurrent layers the noise goes on the output sequence, not the final states. The
    draws come from torch's global RNG, which the run seeds and ``resume.pt`` restores.
    Returns the hook handles (remove them to switch the noise off).
    """

    def hook(layer: nn.Module, _inputs, output):
        if not layer.training or std == 0:
            return None
        if isinstance(output, tuple):  # (sequence, states) of an LSTM/GRU
            return (output[0] + std * torch.randn_like(output[0]), *output[1:])
        return output + std * torch.randn_like(output)

    return [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, NOISY_LAYERS)]


def l2_penalty(module: nn.Module) -> torch.Tensor:
    """``sum(w ** 2)`` over the weight matrices of the module's Linear and Conv layers.

    Keras' ``kernel_regularizer=l2(c)`` adds ``c * sum(w ** 2)`` of each kernel to the loss
    (biases excluded); S4's L2 variant puts it on the Dense layers of G and D. The trainer
    multiplies by ``l2_weight``.
    """
    terms = [m.weight.pow(2).sum() for m in module.modules() if isinstance(m, NOISY_LAYERS[:5])]
    if not terms:
        return torch.zeros(())
    return torch.stack(terms).sum()
