"""Networks, by name: ``MODELS`` maps a model name to how to build it.

Models know nothing of files: a builder takes an architecture config and the encoding
(a plain dict such as ``{"shape": [4, 32, 128]}`` or ``{"vocab_size": 51}``) and returns
modules. Training and sampling dispatch once, through this registry, never on the name
(STYLE.md rule 3). A model belongs to one family:

- ``adversarial``: the builder returns ``(generator, critic)``; the generator has a
  ``latent_shape`` and a ``conditional`` flag (see ``s0_unet.UNetGenerator``).
- ``likelihood``: the builder returns one module trained by maximum likelihood.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from torch import nn

from scorelab.models.config import from_dict
from scorelab.models.s0_unet import S0UNetArch, build_s0_unet
from scorelab.models.s4_lstm import S4LSTMArch, build_s4_lstm

Family = Literal["adversarial", "likelihood"]

# The names under which each family's modules are saved in a checkpoint, in build order.
FAMILY_MODULES: dict[str, tuple[str, ...]] = {
    "adversarial": ("generator", "critic"),
    "likelihood": ("model",),
}


@dataclass(frozen=True)
class ModelSpec:
    """One registered model.

    Attributes
    ----------
    name
        Registry key, as written in params.yaml (``variants.*.model``).
    family
        ``"adversarial"`` (builder returns (generator, critic)) or ``"likelihood"``.
    arch
        The strict architecture config dataclass (``variants.*.arch``).
    builder
        ``builder(arch_config, encoding) -> module or (generator, critic)``.
    """

    name: str
    family: Family
    arch: type
    builder: Callable[[Any, dict[str, Any]], Any]


MODELS: dict[str, ModelSpec] = {
    "s0_unet": ModelSpec("s0_unet", "adversarial", S0UNetArch, build_s0_unet),
    "s4_lstm": ModelSpec("s4_lstm", "likelihood", S4LSTMArch, build_s4_lstm),
}


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


def build_model(name: str, arch: dict[str, Any] | None, encoding: dict[str, Any]) -> Any:
    """Build model ``name`` from its params and the data's encoding.

    Parameters
    ----------
    name
        A key of :data:`MODELS`.
    arch
        The ``arch:`` mapping of the variant; checked strictly.
    encoding
        The codec's description of the tensors (``shape``, ``vocab_size``, ...).

    Returns
    -------
    nn.Module or tuple[nn.Module, nn.Module]
        One module for the likelihood family, ``(generator, critic)`` for adversarial.

    Raises
    ------
    ValueError
        Unknown model name.
    ParamsError
        Unknown, missing or mistyped arch key, or an encoding the model cannot take.
    """
    spec = get_model_spec(name)
    return spec.builder(parse_arch(name, arch), encoding)


def module_dict(family: str, built: Any) -> dict[str, nn.Module]:
    """Name the module(s) returned by a builder: ``{"generator": G, "critic": D}`` or ``{"model": M}``."""
    names = FAMILY_MODULES[family]
    modules = built if isinstance(built, tuple) else (built,)
    return dict(zip(names, modules, strict=True))


__all__ = [
    "FAMILY_MODULES",
    "MODELS",
    "ModelSpec",
    "build_model",
    "from_dict",
    "get_model_spec",
    "module_dict",
    "parse_arch",
]
