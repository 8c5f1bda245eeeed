"""Trainers, the run harness they share, losses, optimizers, logs and self-describing checkpoints.

- :data:`TRAINERS`: ``adversarial`` (every GAN of the seeds), ``likelihood`` (next-token
  models), ``density`` (the naive model), ``vae`` (S2's VAE),
  ``autoencoder`` (S3's Hilbert-curve audio model),
  ``next_column`` (S3's LSTMs on its 88-key images). A new way of training is one module calling
  :func:`register_trainer`.
- :func:`train_variant`: the one entry point (strict config, fingerprint, seed, device,
  resume, logs, checkpoint), see :mod:`scorelab.training.run`.
- :func:`save_checkpoint` / :func:`load_checkpoint`: files that rebuild their model.

Every trainer writes ``resume.pt`` every ``checkpoint_every`` steps and continues from it
when rerun with the same fingerprint; the same params on the CPU give the same bytes.
"""

from scorelab.training import adversarial, autoencoder, density, likelihood, next_column, vae  # noqa: F401  (they register themselves)
from scorelab.training.checkpoint import Checkpoint, load_checkpoint, run_fingerprint, save_checkpoint
from scorelab.training.device import pick_device
from scorelab.training.losses import ADVERSARIAL_LOSSES
from scorelab.training.registry import TRAINERS, SampleSet, Trainer, get_trainer, register_trainer
from scorelab.training.run import Run, train_variant

__all__ = [
    "ADVERSARIAL_LOSSES",
    "TRAINERS",
    "Checkpoint",
    "Run",
    "SampleSet",
    "Trainer",
    "get_trainer",
    "load_checkpoint",
    "pick_device",
    "register_trainer",
    "run_fingerprint",
    "save_checkpoint",
    "train_variant",
]
