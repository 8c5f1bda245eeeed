"""Reader processes that cannot take the stage down: a wall-time limit and a memory ceiling each.

A 24 KB ABC tune takes music21 30 s, a 1.9 MB one ran past 300 s at 3 GB, a 786 KB kern
file with repeated spine splits took 40 s and 1.8 GB (each extra line doubling it), and
an ``.mxl`` zip bomb reached 3.4 GB before a memory cap stopped it; killing one worker
of the old ``ProcessPoolExecutor`` (as the out-of-memory killer would) ended the stage
with ``BrokenProcessPool`` (issue 22). :class:`GuardedPool` runs tasks in its own worker
processes, each started with an address-space ceiling (``RLIMIT_AS``: what the process
starts with plus ``limits.memory_mb``; past it an allocation fails inside the parse,
which the reader records as that file's reason) and watched against a wall-time limit (a task of *k*
jobs gets ``k * limits.parse_seconds``). A worker that runs past its time is killed; one
that dies (a signal, the OOM killer, a crash in C) is noticed by its pipe closing. Either
way it is replaced and its task retried one job at a time, so the job that was at fault
is the only one lost, recorded as ``parse stopped after N s (limits.parse_seconds)`` or
``the reader process died (...)``, and the stage goes on.

Results come back in task order, at most ``ahead`` tasks in flight, so memory stays
bounded and the output does not depend on which worker was faster.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from scorelab.io.limits import ReadLimits


def _worker(conn: Connection, fn: Callable, memory_mb: int) -> None:
    """A reader process: apply the ceiling, then run tasks from ``conn`` until it closes."""
    import resource

    from scorelab.process import die_with_parent

    die_with_parent()
    # the ceiling is what the parse may add to the address space the process starts
    # with: a fork of the stage already maps about 1.4 GB (pyarrow's allocator reserves
    # most of it, untouched), which a bare memory_mb would leave no room above
    limit = _address_space() + memory_mb * (1 << 20)
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:  # never above a ceiling the stage itself runs under
        limit = min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):  # a hard limit below ours already bounds it
        pass
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        conn.send(fn(task))


def _address_space() -> int:
    """This process's virtual size in bytes (Linux ``/proc``; 0 where it cannot be read)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


@dataclass
class _Slot:
    """One worker process and the task it is running (None when idle)."""

    process: Any
    conn: Connection
    task_id: int | None = None
    started: float = 0.0
    deadline: float = 0.0


@dataclass
class _Pending:
    """A task handed in: its payload, how many jobs it holds, and its result when known."""

    task: Any
    jobs: int
    result: Any = None
    done: bool = False
    singles: list = field(default_factory=list)  # after a failure: one sub-task per job
    parent: int | None = None  # the task a single-job retry belongs to


class GuardedPool:
    """Run ``fn(task)`` in ``workers`` guarded processes; results in task order.

    Parameters
    ----------
    fn
        A picklable top-level function of one task; it must not raise (readers return
        their reasons).
    workers
        Reader processes.
    limits
        ``parse_seconds`` (per job) and ``memory_mb`` (per process).
    split
        ``split(task) -> [task of one job, ...]``: how a failed task is retried job by job.
    fail
        ``fail(single_task, reason) -> result``: the result that records a lost job.
    jobs_of
        ``jobs_of(task) -> int``: how many jobs a task holds (its time budget).
    merge
        ``merge([result of each single, ...]) -> result``: a retried task's result.
    """

    def __init__(
        self,
        fn: Callable,
        workers: int,
        limits: ReadLimits,
        split: Callable[[Any], list],
        fail: Callable[[Any, str], Any],
        jobs_of: Callable[[Any], int],
        merge: Callable[[list], Any],
    ):
        self._fn, self._limits = fn, limits
        self._split, self._fail, self._jobs_of, self._merge = split, fail, jobs_of, merge
        self._ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        self._slots = [self._start() for _ in range(max(1, workers))]
        self._queue: deque[tuple[int, Any]] = deque()  # (task id, payload) not yet running
        self._pending: dict[int, _Pending] = {}
        self._next_id = 0

    def _start(self) -> _Slot:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(
            target=_worker, args=(child, self._fn, self._limits.memory_mb), daemon=True
        )
        process.start()
        child.close()
        return _Slot(process, parent)

    def _replace(self, slot: _Slot) -> None:
        with contextlib.suppress(OSError, ValueError):
            slot.process.kill()
        slot.process.join(5)
        slot.conn.close()
        fresh = self._start()
        slot.process, slot.conn, slot.task_id = fresh.process, fresh.conn, None

    def map(self, tasks: Iterator, ahead: int) -> Iterator:
        """Results of ``tasks`` in order, at most ``ahead`` tasks submitted and not yet yielded."""
        order: deque[int] = deque()
        source = iter(tasks)
        exhausted = False
        while True:
            while not exhausted and len(order) < ahead:
                task = next(source, None)
                if task is None:
                    exhausted = True
                    break
                order.append(self._submit(task, self._jobs_of(task)))
            if not order:
                return
            head = order[0]
            while not self._pending[head].done:
                self._step()
            order.popleft()
            yield self._pending.pop(head).result

    def _submit(self, task: Any, jobs: int, parent: int | None = None) -> int:
        tid = self._next_id
        self._next_id += 1
        self._pending[tid] = _Pending(task, jobs, parent=parent)
        self._queue.append((tid, task))
        return tid

    def _step(self) -> None:
        """Hand queued tasks to idle workers, then wait for one result, death or deadline."""
        for slot in self._slots:
            if slot.task_id is None and self._queue:
                tid, task = self._queue.popleft()
                try:
                    slot.conn.send(task)
                except (BrokenPipeError, OSError):
                    self._replace(slot)
                    slot.conn.send(task)
                now = time.monotonic()
                budget = self._limits.parse_seconds * max(self._pending[tid].jobs, 1)
                slot.task_id, slot.started, slot.deadline = tid, now, now + budget
        busy = [s for s in self._slots if s.task_id is not None]
        if not busy:
            return
        timeout = max(0.0, min(s.deadline for s in busy) - time.monotonic())
        ready = wait([s.conn for s in busy], timeout)
        now = time.monotonic()
        for slot in busy:
            if slot.conn in ready:
                try:
                    result = slot.conn.recv()
                except (EOFError, OSError):
                    slot.process.join(1)  # its pipe closed: it has ended, or is ending
                    self._lost(slot, _death(slot.process.exitcode))
                    continue
                tid, slot.task_id = slot.task_id, None
                self._finish(tid, result)
            elif now >= slot.deadline:
                seconds = now - slot.started
                self._lost(slot, f"parse stopped after {seconds:.0f} s (limits.parse_seconds)")

    def _lost(self, slot: _Slot, reason: str) -> None:
        """A worker was killed or died: replace it; retry its task job by job, or record the job."""
        tid = slot.task_id
        self._replace(slot)
        pending = self._pending[tid]
        if pending.jobs > 1:
            singles = self._split(pending.task)
            pending.singles = [self._submit(s, 1, parent=tid) for s in singles]
            return
        self._finish(tid, self._fail(pending.task, reason))

    def _finish(self, tid: int, result: Any) -> None:
        pending = self._pending[tid]
        pending.result, pending.done = result, True
        parent = pending.parent
        if parent is None:
            return
        whole = self._pending[parent]
        if all(self._pending[s].done for s in whole.singles):
            whole.result = self._merge([self._pending.pop(s).result for s in whole.singles])
            whole.done = True

    def close(self) -> None:
        for slot in self._slots:
            with contextlib.suppress(OSError, ValueError):
                slot.conn.close()
            with contextlib.suppress(OSError, ValueError):
                slot.process.kill()
            slot.process.join(5)


def _death(code: int | None) -> str:
    """Why a reader process ended, in words."""
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (the out-of-memory killer's signal)" if -code == signal.SIGKILL else ""
        return f"the reader process died of {name}{hint}"
    return f"the reader process died (exit code {code})"
