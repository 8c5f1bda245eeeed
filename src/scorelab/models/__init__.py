"""Networks, by name: ``MODELS`` maps a model name to its arch config and builder.

Models know nothing of files: a builder takes an architecture config and the encoding
(a plain dict such as ``{"shape": [4, 32, 64]}`` or ``{"vocab_size": 51}``) and returns
its networks by name, ``{"generator": G, "critic": D}`` or ``{"model": M}``. Trainers
(``scorelab.training.TRAINERS``) say which names they train and rely only on the
contracts in :mod:`scorelab.models.base`, so adding an architecture is one module plus
one entry here plus a params entry: nothing in training, sampling or the pipeline changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from scorelab.config import from_dict
from scorelab.models.naive import NaiveArch, build_naive
from scorelab.models.s0_unet import S0UNetArch, build_s0_unet
from scorelab.models.s1_gan import S1BiLSTMArch, S1CNNLSTMArch, build_s1_bilstm, build_s1_cnn_lstm
from scorelab.models.s2_image import (
    ImageMLPGANArch,
    S2DCGANArch,
    S2VAEArch,
    build_image_mlp_gan,
    build_s2_dcgan,
    build_s2_vae,
)
from scorelab.models.s3_hilbert import S3HilbertArch, build_s3_hilbert
from scorelab.models.s3_lstm import S3LSTMArch, S3Seq2SeqArch, build_s3_lstm, build_s3_seq2seq
from scorelab.models.s4_gan import S4GANArch, build_s4_gan
from scorelab.models.s4_lstm import S4LSTMArch, build_s4_lstm


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


MODELS: dict[str, ModelSpec] = {}


def register_model(
    name: str, arch: type, builder: Callable[[Any, dict[str, Any]], dict[str, nn.Module]]
) -> None:
    """Add a model to :data:`MODELS` (a test or a plugin may register its own)."""
    MODELS[name] = ModelSpec(name, arch, builder)


register_model("s0_unet", S0UNetArch, build_s0_unet)
register_model("s1_bilstm", S1BiLSTMArch, build_s1_bilstm)
register_model("s1_cnn_lstm", S1CNNLSTMArch, build_s1_cnn_lstm)
register_model("s4_lstm", S4LSTMArch, build_s4_lstm)
register_model("s4_mlp_gan", S4GANArch, build_s4_gan)
register_model("naive_bernoulli", NaiveArch, build_naive)
register_model("s2_vae", S2VAEArch, build_s2_vae)
register_model("s2_dcgan", S2DCGANArch, build_s2_dcgan)
# S3's image GANs: its DCGAN and WGAN-GP are S2's described DCGAN (the same code) on S3's
# images, with the bce or wgan-gp loss; its dense GAN is the Keras-GAN MLP layout
register_model("image_dcgan", S2DCGANArch, build_s2_dcgan)
register_model("image_mlp_gan", ImageMLPGANArch, build_image_mlp_gan)
register_model("s3_hilbert_ae", S3HilbertArch, build_s3_hilbert)
register_model("s3_lstm", S3LSTMArch, build_s3_lstm)
register_model("s3_seq2seq", S3Seq2SeqArch, build_s3_seq2seq)


def get_model_spec(name: str) -> ModelSpec:
    """Return the registered model ``name``.

    Raises
    ------
    ValueError
        When ``name`` is not registered; the message lists the valid names.
    """
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; valid models are {sorted(MODELS)}") from None


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
