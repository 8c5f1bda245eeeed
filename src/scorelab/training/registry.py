"""Trainers, by name: the only place that knows how a kind of model learns and samples.

``TRAINERS`` maps a variant's ``trainer:`` to a :class:`Trainer`. The pipeline looks the
name up once and never branches (docs/design.md: dispatch once, through the registry), so a
new way of training is one module that calls :func:`register_trainer`; nothing in
``pipeline/``, dvc.yaml or another trainer changes. A test registers a toy trainer this
way and runs it through the real stage functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scorelab.lazy import Registry


@dataclass(frozen=True)
class Trainer:
    """One registered way of training.

    Attributes
    ----------
    name
        Registry key (``variants.<v>.trainer``).
    config
        Strict dataclass of its training settings (``defaults`` < ``train`` < profile).
    sample_config
        Strict dataclass of its sampling settings (``variants.<v>.sample``).
    modules
        The network names it needs from the model's builder.
    splits
        The encoded splits ``fit`` reads (``train``, and ``valid``/``test`` for likelihoods).
    fit
        ``fit(run, config, data)``: trains ``run.modules`` on ``data = {split: arrays}``.
    sample
        ``sample(modules, settings, ckpt, test, seed, device) -> {set name: SampleSet}``:
        generated items for each sample set (``samples``, ``accompaniment``, ...), each
        item in the codec's array form so ``codec.decode(item)`` gives a Score. ``ckpt``
        is the loaded :class:`~scorelab.training.checkpoint.Checkpoint` (encoding, train
        config); ``test`` the test split's arrays (seeds and conditions come from there).
    """

    name: str
    config: type
    sample_config: type
    modules: tuple[str, ...]
    splits: tuple[str, ...]
    fit: Callable[..., None]
    sample: Callable[..., dict[str, SampleSet]]


@dataclass(frozen=True)
class SampleSet:
    """Generated items of one set plus arrays saved beside them (``reference``, ``test_index``)."""

    items: list[np.ndarray] | np.ndarray
    extra: dict[str, np.ndarray]


# Built-in trainers, each defined (and registered) by scorelab/training/<name>.py and
# imported on first lookup (scorelab.lazy): a train stage imports only its own trainer.
TRAINERS: Registry[Trainer] = Registry(
    "trainer",
    "scorelab.training",
    ("adversarial", "autoencoder", "density", "frames", "likelihood", "next_column", "vae"),
)


def register_trainer(trainer: Trainer) -> Trainer:
    """Add ``trainer`` to :data:`TRAINERS` under its name (replacing one of the same name)."""
    return TRAINERS.register(trainer.name, trainer)


def get_trainer(name: str) -> Trainer:
    """Return the registered trainer ``name``.

    Raises
    ------
    ValueError
        When ``name`` is not registered; the message lists the valid names.
    """
    try:
        return TRAINERS[name]
    except KeyError:
        raise ValueError(f"unknown trainer {name!r}; valid trainers are {sorted(TRAINERS)}") from None
