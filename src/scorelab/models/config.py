"""Strict config dataclasses: one helper that turns a params.yaml mapping into one.

A typo in params.yaml (``base_channel: 16``) must fail before anything trains, naming the
key, rather than silently training the default (STYLE.md rule 4; torchtune validates its
configs against the builder the same way). Architecture configs (here) and training
configs (``scorelab.training.config``) share this one helper.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from scorelab.errors import ParamsError

T = TypeVar("T")


def check_value(value: Any, hint: Any, key: str) -> Any:
    """Return ``value`` coerced to ``hint`` (int -> float only) or raise ParamsError."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return check_value(value, option, key)
            except ParamsError as exc:
                errors.append(str(exc))
        raise ParamsError(errors[0] if len(errors) == 1 else f"{key}: {value!r} matches none of {hint}")
    if origin is typing.Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            raise ParamsError(f"{key}: {value!r} is not one of {list(allowed)}")
        return value
    # bool is a subclass of int in Python; `n_critic: true` is a typo, not a 1.
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParamsError(f"{key}: expected a number, got {type(value).__name__} {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamsError(f"{key}: expected an integer, got {type(value).__name__} {value!r}")
        return value
    if hint in (bool, str):
        if not isinstance(value, hint):
            raise ParamsError(f"{key}: expected {hint.__name__}, got {type(value).__name__} {value!r}")
        return value
    raise TypeError(f"{key}: from_dict does not support the field type {hint!r}")


def from_dict(cls: type[T], d: Mapping[str, Any] | None, where: str) -> T:
    """Build the dataclass ``cls`` from a params mapping, strictly.

    Parameters
    ----------
    cls
        A dataclass whose fields are ``int``, ``float``, ``str``, ``bool``, ``Literal``
        or ``X | None``. Fields with defaults are optional.
    d
        The mapping read from params.yaml (``None`` is an empty mapping).
    where
        Where the mapping lives, for messages (``"variants.adversarial.s0.arch"``).

    Returns
    -------
    T
        The config; integers given for float fields become floats, so ``10`` and ``10.0``
        give the same config (and the same checkpoint fingerprint). A ``__post_init__``
        may raise ``ParamsError("key: reason")`` for range checks; it gets ``where.``
        in front.

    Raises
    ------
    ParamsError
        On an unknown key, a missing required key or a value of the wrong type; the
        message names ``where.key``.
    """
    if d is None:
        d = {}
    if not isinstance(d, Mapping):
        raise ParamsError(f"{where}: expected a mapping, got {type(d).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(d) - set(fields))
    if unknown:
        raise ParamsError(f"{where}.{unknown[0]}: unknown key; valid keys are {sorted(fields)}")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for name, field in fields.items():
        key = f"{where}.{name}"
        if name in d:
            values[name] = check_value(d[name], hints[name], key)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ParamsError(f"{key}: missing required key")
    try:
        return cls(**values)
    except ParamsError as exc:  # a range check in __post_init__ names the key only
        raise ParamsError(f"{where}.{exc}") from None
