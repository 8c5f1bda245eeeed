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

This package module imports nothing: import each name from the module that defines it
(``scorelab.training.run.train_variant``, ``scorelab.training.checkpoint.load_checkpoint``,
``scorelab.training.registry.get_trainer``). A train stage then imports its own trainer
and the harness, not every trainer, and tests/test_stage_deps.py can read a stage's
imports from the source (scorelab.lazy explains why).
"""
