"""Strict training configs: the ``model:`` section merged with a variant's ``train:``.

Built with :func:`scorelab.models.config.from_dict`, so an unknown key, a missing key or
a wrong type fails before training with the key's name. The stage merges the defaults,
the variant and the profile; these classes see the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from scorelab.errors import ParamsError
from scorelab.training.losses import ADVERSARIAL_LOSSES


def _positive(obj: object, *keys: str) -> None:
    for key in keys:
        if getattr(obj, key) <= 0:
            raise ParamsError(f"{key}: must be > 0, got {getattr(obj, key)}")


@dataclass(frozen=True)
class AdversarialTrainConfig:
    """How to train a (generator, critic) pair.

    Attributes
    ----------
    loss
        A key of ``ADVERSARIAL_LOSSES``: ``wgan-gp`` (S0), ``wgan-clip``, ``bce``.
    n_critic
        Critic updates per generator update (S0's experiments: 1, 2, 5).
    gp_weight
        Gradient penalty coefficient lambda (Gulrajani et al. 2017: 10).
    lr_g, lr_d, beta1, beta2
        Adam settings of generator and critic (WGAN-GP: 1e-4, 0.5, 0.9).
    batch_size
        Samples per update (S0: 64).
    iterations
        Generator updates in the whole run.
    checkpoint_every
        Write ``resume.pt`` every this many iterations.
    melody_dropout
        Share of samples whose melody condition is hidden (all zeros), so a conditional
        generator also learns unconditional generation; ignored by unconditional models.
    clip_value
        Weight clipping bound of the ``wgan-clip`` loss (Arjovsky et al. 2017).
    binarize
        ``straight_through``: the critic sees rolls binarized at 0.5 with gradients passed
        straight through (deterministic binary neurons of BinaryMuseGAN, Dong & Yang
        2018), so it cannot tell fakes by their fractional values and the generator must
        push notes above the sampling threshold; ``none``: probabilities, as in S0.
        Weight clipping bound c of ``wgan-clip`` (Arjovsky et al. 2017: 0.01).
    """

    loss: str
    n_critic: int
    gp_weight: float
    lr_g: float
    lr_d: float
    beta1: float
    beta2: float
    batch_size: int
    iterations: int
    checkpoint_every: int
    melody_dropout: float = 0.0
    clip_value: float = 0.01
    binarize: Literal["none", "straight_through"] = "none"

    def __post_init__(self) -> None:
        if self.loss not in ADVERSARIAL_LOSSES:
            raise ParamsError(f"loss: {self.loss!r} is not one of {sorted(ADVERSARIAL_LOSSES)}")
        _positive(
            self, "n_critic", "lr_g", "lr_d", "batch_size", "iterations", "checkpoint_every", "clip_value"
        )
        if self.gp_weight < 0:
            raise ParamsError(f"gp_weight: must be >= 0, got {self.gp_weight}")
        for key in ("beta1", "beta2"):
            if not 0.0 <= getattr(self, key) < 1.0:
                raise ParamsError(f"{key}: must be in [0, 1), got {getattr(self, key)}")
        if not 0.0 <= self.melody_dropout <= 1.0:
            raise ParamsError(f"melody_dropout: must be in [0, 1], got {self.melody_dropout}")


@dataclass(frozen=True)
class LikelihoodTrainConfig:
    """How to train a next-token model.

    Attributes
    ----------
    lr
        Adam learning rate (S4: 0.001).
    epochs
        Passes over the training stream; one epoch is
        ``ceil(len(stream) / (batch_size * window))`` batches of random windows.
    batch_size
        Windows per batch (S4: 64).
    window
        Input length (S4: 64); each window has ``window + 1`` tokens.
    checkpoint_every
        Write ``resume.pt`` every this many steps.
    max_steps
        Stop after this many steps in total (0: no cap). Part of the run's definition,
        unlike the ``max_steps`` argument of the loop, which interrupts a run.
    """

    lr: float
    epochs: int
    batch_size: int
    window: int
    checkpoint_every: int
    max_steps: int = 0

    def __post_init__(self) -> None:
        _positive(self, "lr", "epochs", "batch_size", "window", "checkpoint_every")
        if self.max_steps < 0:
            raise ParamsError(f"max_steps: must be >= 0 (0 = no cap), got {self.max_steps}")
