"""Figures, audio and other files made in worker processes while a stage goes on.

Why: the report stage drew its ~160 figures and encoded its ~240 Ogg clips one after
another on one core (about a minute of every `dvc repro` that reaches it), and a sample
stage rendered its 8 audio clips the same way (a roll a GAN filled with notes asks the
SoundFont player for ~30,000 voices a clip: 31 s of a 50 s stage); each file depends on
its own inputs alone. Inside :func:`workers`, :func:`draw` hands a call to a pool of
processes and returns at once, and :func:`each` runs a function over items in the pool
and returns the results in order; :func:`finish`, and the block's end, wait for every
call (and raise the first error). Outside it, both just call the function: the same
files, written in this process.

The pool is forked eagerly when the block opens, before the stage reads any table or
imports torch: a fork copies a process's memory, and forking later (after pyarrow, a
thread pool or torch's OpenMP threads have started) could copy a held lock into a child.
So the stage scripts (and the same steps of the ``scorelab`` command) open the block
first thing, around the one pipeline call that uses it: ``stages/sample.py``,
``stages/evaluate.py`` for a variant, ``stages/report.py``. A pipeline function called
without it, as the tests mostly do, runs everything in its own process. Each file is
written by one call from its own arguments, so the bytes do not depend on which process
made it (tests/test_report.py and tests/test_seam.py check both ways).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.pool import AsyncResult, Pool

_pool: Pool | None = None
_pending: list[AsyncResult] = []
pooled = 0  # calls handed to worker processes so far (what tests check)


@contextlib.contextmanager
def workers(n: int | None = None) -> Iterator[None]:
    """Run :func:`draw`, :func:`each` and :func:`later` in ``n`` forked processes (default:
    every core) within the block; at its end, wait for every call. One process (``n`` 1, one
    core, or no ``fork`` on this platform) runs everything in this process."""
    global _pool
    n = n or os.cpu_count() or 1
    if n < 2 or _pool is not None or "fork" not in mp.get_all_start_methods():
        yield
        return
    pool = mp.get_context("fork").Pool(n)
    _pool = pool
    try:
        yield
        finish()
        pool.close()
    finally:
        _pool = None
        _pending.clear()
        pool.terminate()
        pool.join()


def finish() -> None:
    """Wait for every call handed to the pool so far; re-raise the first error, here."""
    while _pending:
        _pending.pop(0).get()


def draw(fn: Callable[..., object], *args, **kwargs) -> None:
    """``fn(*args, **kwargs)`` for its files, in the pool when there is one; its return
    value is dropped (a call whose result the caller needs is made directly)."""
    global pooled
    if _pool is None:
        fn(*args, **kwargs)
    else:
        _pending.append(_pool.apply_async(fn, args, kwargs))
        pooled += 1


def each(fn: Callable[..., object], items: Iterable[tuple]) -> list:
    """``[fn(*item) for item in items]``, in the pool when there is one, in order."""
    global pooled
    items = list(items)
    if _pool is None:
        return [fn(*item) for item in items]
    pooled += len(items)
    return _pool.starmap(fn, items, chunksize=1)


class _Done:
    """A result computed at once (no pool): what :func:`later` returns outside one."""

    def __init__(self, value: object):
        self.value = value

    def get(self) -> object:
        return self.value


def later(fn: Callable[..., object], *args, **kwargs) -> AsyncResult | _Done:
    """``fn(*args, **kwargs)`` started in the pool when there is one (else computed now);
    ``.get()`` of what comes back waits for its value (and raises its error, here)."""
    global pooled
    if _pool is None:
        return _Done(fn(*args, **kwargs))
    pooled += 1
    return _pool.apply_async(fn, args, kwargs)
