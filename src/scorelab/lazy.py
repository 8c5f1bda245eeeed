"""A registry whose entries are imported on first use: one module per registered name.

The model, trainer and codec registries used to import every module they list, so every
stage imported torch and all thirteen models (about 2 s before any work; issue 20) and a
stage's code dependencies were every model and trainer. Now each registry knows only
which module defines each name, and imports that module the first time the name is
looked up. A stage therefore imports exactly the model, trainer and codec it uses, and
dvc.yaml names exactly those files (``src/scorelab/models/${item.model}.py``; checked
against the imports by tests/test_stage_deps.py). That is also why a built-in name's
module is ``<package>.<name>``: the file a DVC stage depends on is spelled by the name.

Listing the names (``sorted(MODELS)``) imports nothing. A test or a plugin can still
add an entry at run time with :meth:`Registry.register`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Mapping[str, T], Generic[T]):
    """Names mapped to objects that their modules register when first imported.

    ``builtin`` names the built-in entries; each lives in module ``<package>.<name>``,
    which must call :meth:`register` for that name when imported.
    """

    def __init__(self, kind: str, package: str, builtin: tuple[str, ...]) -> None:
        self.kind = kind
        self.package = package
        self._builtin = dict.fromkeys(builtin)
        self._items: dict[str, T] = {}

    def module_of(self, name: str) -> str:
        """The module that defines built-in ``name``."""
        return f"{self.package}.{name}"

    def register(self, name: str, obj: T) -> T:
        """Add (or replace) ``name``; returns ``obj``."""
        self._items[name] = obj
        return obj

    def pop(self, name: str, *default: T) -> T:
        """Remove a name registered at run time (a test's toy entry)."""
        return self._items.pop(name, *default)

    def __getitem__(self, name: str) -> T:
        if name not in self._items and name in self._builtin:
            importlib.import_module(self.module_of(name))
            if name not in self._items:
                raise RuntimeError(f"{self.module_of(name)} did not register {self.kind} {name!r}")
        return self._items[name]

    def get_or_raise(self, name: str) -> T:
        """The entry ``name``, or ValueError listing the valid names."""
        if name not in self:
            raise ValueError(f"unknown {self.kind} {name!r}; valid {self.kind}s are {sorted(self)}")
        return self[name]

    def __contains__(self, name: object) -> bool:
        return name in self._builtin or name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter({**self._builtin, **dict.fromkeys(self._items)})

    def __len__(self) -> int:
        return len({**self._builtin, **dict.fromkeys(self._items)})
