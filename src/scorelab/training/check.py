"""The train stage's part of params.yaml: one variant's model, trainer and settings.

Kept out of scorelab.params (which every stage imports) because it imports torch, the
variant's model and its trainer; the train stage imports only its own (issue 20).
"""

from __future__ import annotations

import typing

from scorelab.config import check_value, from_dict
from scorelab.errors import ParamsError
from scorelab.params import (
    VariantSection,
    _section,
    resolve_arch,
    resolve_sample,
    resolve_train,
    variant,
)


def check_variant(params: dict, name: str, encoding: dict | None = None, partial: bool = False) -> None:
    """Variant ``name``: its model's arch, its trainer's training and sampling settings
    under every profile, the defaults section it names, the batch split over processes,
    and, given the data's ``encoding``, that its model takes it.

    The model is built on the meta device (no memory, no random draws: ~1 ms), so a
    shape the model cannot take (a pitch range that is not a multiple of 16 for S0's
    U-Net) fails before training. ``partial``: the encoding is only what the codec
    settings describe (scorelab.validation, before any data exists); then only the
    models' own deliberate :class:`ParamsError` counts, since an encoding known only from
    the data (a vocabulary, the corpus's track count) can make a builder fail otherwise.
    """
    from scorelab.models import get_model_spec, parse_arch
    from scorelab.training.registry import get_trainer

    v = variant(params, name)
    where = f"variants.{name}"
    profiles = list(params["profiles"])
    spec = from_dict(VariantSection, {k: x for k, x in v.items() if k not in profiles}, where)
    active = params["base"]["profile"]
    processes = int(params["compute"].get("processes", 1))
    try:
        get_model_spec(spec.model)
        trainer = get_trainer(spec.trainer)
    except ValueError as exc:
        raise ParamsError(f"{where}: {exc}") from exc
    parse_arch(spec.model, spec.arch, f"{where}.arch")
    for pname in profiles:
        parse_arch(spec.model, resolve_arch(params, name, pname), f"{where}.{pname}.arch")
    defaults = _section(params, spec.defaults, f"{where}.defaults")
    hints = typing.get_type_hints(trainer.config)
    for key, value in defaults.items():
        if key not in hints:
            raise ParamsError(
                f"{spec.defaults}.{key}: unknown key for trainer {spec.trainer} "
                f"(variant {name}); valid keys are {sorted(hints)}"
            )
        check_value(value, hints[key], f"{spec.defaults}.{key}")
    for pname in profiles:
        train = resolve_train(params, name, profile=pname)
        cfg = from_dict(trainer.config, train, f"{where}.train (with {spec.defaults} and {pname})")
        from_dict(trainer.sample_config, resolve_sample(params, name, pname), f"{where}.sample ({pname})")
        if pname != active:
            continue
        if encoding is not None:
            _check_model_fits(spec, resolve_arch(params, name, pname), encoding, partial, where)
        if getattr(cfg, "batch_size", 0) % processes:
            raise ParamsError(
                f"{where}.train (with {spec.defaults} and {pname}).batch_size: {cfg.batch_size} does not "
                f"split into compute.processes = {processes} equal shares (use a multiple)"
            )


def check_model_fits(params: dict, name: str, encoding: dict) -> None:
    """That variant ``name``'s model takes the encoded data ``encoding`` (the train stage,
    once it has read the data's description; :func:`check_variant` first)."""
    profiles = list(params["profiles"])
    v = variant(params, name)
    spec = from_dict(VariantSection, {k: x for k, x in v.items() if k not in profiles}, f"variants.{name}")
    _check_model_fits(spec, resolve_arch(params, name), encoding, False, f"variants.{name}")


def _check_model_fits(spec: VariantSection, arch: dict, encoding: dict, partial: bool, where: str) -> None:
    """Build the model on the meta device for ``encoding`` (see :func:`check_variant`)."""
    import torch

    from scorelab.models import get_model_spec, parse_arch

    try:
        with torch.random.fork_rng(devices=[]), torch.device("meta"):
            get_model_spec(spec.model).builder(parse_arch(spec.model, arch), encoding)
    except ParamsError as exc:
        raise ParamsError(f"{where}: model {spec.model} cannot take dataset {spec.dataset}: {exc}") from exc
    except Exception:  # noqa: BLE001 - a partial encoding; the train stage builds with the real one
        if not partial:
            raise
