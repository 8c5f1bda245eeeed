"""The one strict-config helper: a params.yaml mapping -> a frozen dataclass, or a clear error.

Every section of params.yaml (base, corpora, datasets' codec settings, model
architectures, training and sampling settings) is described by a dataclass and built
with :func:`from_dict`. A typo (``n_critc: 5``) or a wrong type (``n_critic: true``)
fails before any work with a :class:`~scorelab.errors.ParamsError` naming the key
(``variants.s0_wgan_gp_jsb.train.n_critc: unknown key``), never after an hour of
training on a silently ignored setting (docs/design.md, Rule 4; torchtune checks its configs
against the builder the same way).

One set of coercion rules for the whole project:

- an int is accepted where a float is declared (YAML writes ``10`` for ``10.0``), and
  becomes a float, so ``10`` and ``10.0`` give the same config and the same fingerprint;
- a bool is never a number (``n_critic: true`` is a typo, not a 1);
- a list is accepted for ``tuple[X, ...]`` and ``list[X]`` and becomes a tuple;
- ``dict`` fields take any mapping (their content is checked by the section that owns them);
- ``Literal[...]`` fields take one of their values; ``X | None`` takes None too;
- a nested dataclass field is built recursively.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

import numpy as np

from scorelab.errors import ParamsError

T = TypeVar("T")


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _is_number(value: Any) -> bool:
    return _is_int(value) or (isinstance(value, float | np.floating) and not isinstance(value, bool))


def check_value(value: Any, hint: Any, key: str) -> Any:
    """Return ``value`` checked against the type hint ``hint`` (coerced as the module says).

    Raises
    ------
    ParamsError
        ``"{key}: expected ..., got ..."`` when it does not fit.
    """
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
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise ParamsError(f"{key}: expected a list, got {type(value).__name__} {value!r}")
        args = [a for a in typing.get_args(hint) if a is not Ellipsis] or [Any]
        return tuple(check_value(v, args[0], f"{key}[{i}]") for i, v in enumerate(value))
    if hint is dict or origin is dict:
        if not isinstance(value, Mapping):
            raise ParamsError(f"{key}: expected a mapping, got {type(value).__name__} {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, key)
    if hint is Any:
        return value
    if hint is float:
        if not _is_number(value):
            raise ParamsError(f"{key}: expected a number, got {type(value).__name__} {value!r}")
        return float(value)
    if hint is int:
        if not _is_int(value):
            raise ParamsError(f"{key}: expected an integer, got {type(value).__name__} {value!r}")
        return int(value)
    if hint is bool:
        if not isinstance(value, bool | np.bool_):
            raise ParamsError(f"{key}: expected true or false, got {type(value).__name__} {value!r}")
        return bool(value)
    if hint is str:
        if not isinstance(value, str):
            raise ParamsError(f"{key}: expected a string, got {type(value).__name__} {value!r}")
        return value
    raise TypeError(f"{key}: from_dict does not support the field type {hint!r}")


def from_dict(cls: type[T], d: Mapping[str, Any] | None, where: str) -> T:
    """Build the dataclass ``cls`` from a params mapping, strictly.

    Parameters
    ----------
    cls
        A dataclass; fields with defaults are optional.
    d
        The mapping read from params.yaml (``None`` is an empty mapping).
    where
        Where the mapping lives, for messages (``"variants.s0_wgan_gp_jsb.arch"``).

    Returns
    -------
    T
        The config. A ``__post_init__`` may raise ``ParamsError("key: reason")`` for
        range checks; it gets ``where.`` in front.

    Raises
    ------
    ParamsError
        On an unknown key, a missing required key or a value of the wrong type; the
        message names ``where.key`` and, for an unknown key, lists the valid ones.
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


def to_dict(config: Any) -> dict[str, Any]:
    """A config dataclass as a plain JSON-ready dict (tuples become lists)."""

    def plain(v: Any) -> Any:
        if isinstance(v, list | tuple):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(dataclasses.asdict(config))


def positive(obj: object, *keys: str) -> None:
    """Range check for ``__post_init__``: each named field must be > 0."""
    for key in keys:
        if getattr(obj, key) <= 0:
            raise ParamsError(f"{key}: must be > 0, got {getattr(obj, key)}")


def non_negative(obj: object, *keys: str) -> None:
    """Range check for ``__post_init__``: each named field must be >= 0."""
    for key in keys:
        if getattr(obj, key) < 0:
            raise ParamsError(f"{key}: must be >= 0, got {getattr(obj, key)}")


def fraction(obj: object, *keys: str, closed: bool = True) -> None:
    """Range check: each named field in [0, 1] (or [0, 1) with ``closed=False``)."""
    for key in keys:
        v = getattr(obj, key)
        if not (0.0 <= v <= 1.0 if closed else 0.0 <= v < 1.0):
            raise ParamsError(f"{key}: must be in [0, 1{']' if closed else ')'}, got {v}")
