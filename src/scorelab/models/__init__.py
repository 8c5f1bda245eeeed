"""Networks, by name: ``MODELS`` maps a model name to its arch config and builder.

Models know nothing of files: a builder takes an architecture config and the encoding
(a plain dict such as ``{"shape": [4, 32, 64]}`` or ``{"vocab_size": 51}``) and returns
its networks by name, ``{"generator": G, "critic": D}`` or ``{"model": M}``. Trainers
(``scorelab.training.registry.TRAINERS``) say which names they train and rely only on the
contracts in :mod:`scorelab.models.base`, so nothing in training, sampling or the
pipeline changes when an architecture is added.

The registry is lazy (:class:`scorelab.lazy.Registry`): model ``<name>`` lives in the
module ``scorelab/models/<name>.py``, imported the first time the name is looked up, so
a stage imports torch and its own model only, and a DVC train stage depends on exactly
``src/scorelab/models/${item.model}.py``. Importing this package imports neither torch
nor any model. Adding a model is therefore:

1. one module ``scorelab/models/<name>.py`` that calls :func:`register_model` for
   ``<name>`` when imported; it may import :mod:`scorelab.models.base` (contracts,
   encoding helpers, arch checks), :mod:`scorelab.models.shared` (networks more than
   one model uses), ``scorelab.errors``, ``scorelab.config`` and torch, but never
   another model's module (a stage can name only one model file);
2. its name in the built-in tuple of :data:`MODELS` below;
3. a params entry (``variants.<v>.model: <name>`` and its ``arch``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scorelab.config import from_dict
from scorelab.lazy import Registry

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class ModelSpec:
    """One registered model.

    Attributes
    ----------
    name
        Registry key, as written in params.yaml (``variants.<v>.model``).
    arch
        The strict architecture config dataclass (``variants.<v>.arch``).
    builder
        ``builder(arch_config, encoding) -> {module name: nn.Module}``.
    """

    name: str
    arch: type
    builder: Callable[[Any, dict[str, Any]], dict[str, nn.Module]]


# The built-in models, each defined by the module of its name (scorelab/models/<name>.py).
# S3's image DCGAN and WGAN-GP use ``s2_dcgan``: they are S2's described DCGAN (the same
# code) on S3's images, with the bce or wgan-gp loss.
MODELS: Registry[ModelSpec] = Registry(
    "model",
    "scorelab.models",
    (
        "s0_unet",
        "s1_bilstm",
        "s1_cnn_lstm",
        "s4_lstm",
        "s4_mlp_gan",
        "naive_bernoulli",
        "s2_vae",
        "s2_dcgan",
        "image_mlp_gan",
        "s3_hilbert_ae",
        "s3_lstm",
        "s3_seq2seq",
        "frame_rnn",
        "transformer",
    ),
)


def register_model(
    name: str, arch: type, builder: Callable[[Any, dict[str, Any]], dict[str, nn.Module]]
) -> None:
    """Add a model to :data:`MODELS` (each model module registers its own; a test or a plugin may too)."""
    MODELS.register(name, ModelSpec(name, arch, builder))


def get_model_spec(name: str) -> ModelSpec:
    """Return the registered model ``name``, importing its module on first use.

    Raises
    ------
    ValueError
        When ``name`` is not registered; the message lists the valid names.
    """
    return MODELS.get_or_raise(name)


def parse_arch(name: str, arch: dict[str, Any] | None, where: str = "arch") -> Any:
    """Validate ``arch`` against model ``name``'s config dataclass (ParamsError names the key)."""
    return from_dict(get_model_spec(name).arch, arch, where)


def build_model(name: str, arch: dict[str, Any] | None, encoding: dict[str, Any]) -> dict[str, nn.Module]:
    """Build model ``name`` from its params and the data's encoding.

    Returns
    -------
    dict[str, nn.Module]
        The networks by name (``generator`` and ``critic``, or ``model``).

    Raises
    ------
    ValueError
        Unknown model name.
    ParamsError
        Unknown, missing or mistyped arch key, or an encoding the model cannot take.
    """
    spec = get_model_spec(name)
    return spec.builder(parse_arch(name, arch), encoding)


__all__ = ["MODELS", "ModelSpec", "build_model", "get_model_spec", "parse_arch", "register_model"]
