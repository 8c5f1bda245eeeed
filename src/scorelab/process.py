"""How a stage runs as a process: dying with DVC, errors as one line, logging, OpenMP waits.

Nothing here can change what a stage writes, so dvc.yaml lists this file as no stage's
dependency (tests/test_stage_deps.py keeps it that way, and test_e2e edits it to show
that no stage reruns): fixing how a stage dies or waits must not retrain 26 models
(issue 20: an edit of ``utils.py``, where these lived, reran every stage). Whatever
decides bytes (kernels, threads, seeds, atomic writes) lives elsewhere.
"""

from __future__ import annotations

import os
import time

# How torch's OpenMP threads wait for each other, unless the environment chose. By
# default libgomp's threads spin for 300,000 rounds while they wait; on a 2-core machine
# with one other busy process, one of torch's two threads keeps losing its core and the
# other spins on: S0 trained 30 times slower (issue 20; benchmarks/busy_core.py measures
# it). PASSIVE alone (sleep at once) kept 70-80 % of the quiet speed beside a busy
# process but cost 23-35 % on a quiet machine on a 2-core EPYC VM (2026-12-05; 0.94-1.09
# on the VM before it): each wait became a sleep and a wake-up. A spin of 1,000 rounds
# before sleeping cost nothing quiet there (0.97-1.00 of torch's default) and kept
# 49-60 %. libgomp (torch's OpenMP on Linux) takes an explicit GOMP_SPINCOUNT over the
# policy's own count; another OpenMP runtime ignores it and sleeps at once (PASSIVE).
# How a thread waits decides when it computes, not what: the bytes are the same.
WAIT_POLICY = "PASSIVE"
SPIN_COUNT = "1000"


def quiet_waits() -> str:
    """Set ``OMP_WAIT_POLICY`` (to :data:`WAIT_POLICY`) and ``GOMP_SPINCOUNT`` (to
    :data:`SPIN_COUNT`) unless the environment set the policy; return the policy.

    A policy already set is the user's whole choice: no spin count is added to it (an
    explicit count would override libgomp's count for that policy). Must run before
    torch starts its OpenMP threads: stage scripts call it first, and the ``scorelab``
    command at start-up. Worker processes inherit the environment.
    """
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ["OMP_WAIT_POLICY"] = WAIT_POLICY
        os.environ.setdefault("GOMP_SPINCOUNT", SPIN_COUNT)
    return os.environ["OMP_WAIT_POLICY"]


def exit_on_error(call) -> None:
    """Run ``call()``; a ScorelabError becomes one clear line on stderr and exit code 1.

    Bad input (an empty corpus after a filter, a wrong params key, a corrupt checkpoint) is
    the user's to fix, so they get the message that names the file and the reason, not a
    traceback. Any other exception is a bug and keeps its traceback.
    """
    import sys

    from scorelab.errors import ScorelabError

    try:
        call()
    except ScorelabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)


def die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies (``PR_SET_PDEATHSIG``).

    ``kill -9`` of ``dvc repro`` kills DVC only: its stage process was left running as an
    orphan (measured: a killed repro's train stage went on for its 400 steps and wrote
    ``checkpoint.pt`` after DVC was gone), racing the rerun that the user starts, which
    writes the same ``models/<v>`` and ``logs/<v>``. A stage now dies with DVC; its atomic
    writes leave the previous file or none, and the rerun resumes or redoes it. A no-op
    off Linux (and when the C library is not reachable). Safe in a ``preexec_fn``: no
    thread, no allocation beyond ctypes'. When a shell stands between DVC and the stage,
    see :func:`die_with_dvc`.
    """
    import ctypes
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - a libc without symbols
        return
    parent = os.getppid()
    PR_SET_PDEATHSIG = 1
    libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request: go now
        os.kill(os.getpid(), signal.SIGKILL)


# shells DVC may run a stage's command with (it uses $SHELL, else /bin/sh)
_SHELLS = frozenset({"sh", "dash", "bash", "zsh", "fish", "ksh", "mksh", "busybox"})


def _ppid(pid: int) -> int | None:
    """The parent of ``pid`` (None when it is gone)."""
    import psutil

    try:
        return psutil.Process(pid).ppid()
    except psutil.Error:
        return None


def _is_shell_wrapper(pid: int) -> bool:
    """Whether ``pid`` is a shell running a ``-c`` command (DVC's ``$SHELL -c cmd``)."""
    import psutil

    try:
        argv = psutil.Process(pid).cmdline()
    except psutil.Error:
        return False
    return bool(argv) and os.path.basename(argv[0]).lstrip("-") in _SHELLS and "-c" in argv[1:]


def die_with_dvc(poll: float = 0.2) -> None:
    """Die with the process that launched this stage, even through a shell.

    DVC runs a stage as ``$SHELL -c "<cmd>"`` (``/bin/sh`` when SHELL is unset). bash
    execs a lone command, so the stage's parent is DVC and :func:`die_with_parent`
    suffices; Debian's ``/bin/sh`` (dash 0.5.12) forks instead and waits, so the parent
    is the shell, which outlives a killed DVC: measured in CI, where every ``kill -9`` of
    ``dvc repro`` left its stage running to the end. So when the parent is such a shell
    (or a chain of them), a daemon thread watches the shell's own parent: once that dies
    the shell is re-parented, its parent pid changes, and this process kills itself
    (within ``poll`` seconds). Reading ``/proc`` five times a second costs nothing a
    step would notice; the thread touches no random state, so runs keep their bytes.
    """
    import signal
    import sys
    import threading

    die_with_parent()
    if not sys.platform.startswith("linux"):
        return
    below, up = os.getpid(), os.getppid()
    while up > 1 and _is_shell_wrapper(up):
        below, up = up, _ppid(up)
        if up is None:
            return
    if below == os.getpid() or up <= 1:  # no shell between, or already orphaned
        return

    def watch() -> None:
        while _ppid(below) == up:
            time.sleep(poll)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="scorelab-die-with-dvc", daemon=True).start()


def configure_logging() -> None:
    """Show the project's warnings and progress notes on stderr (``scorelab: ...``).

    Without this a stage's ``logging`` calls went nowhere: the resume logic's warning
    that it was starting afresh was never seen (issue 9). Idempotent.
    """
    import logging

    logger = logging.getLogger("scorelab")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("scorelab: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def one_line(mapping: dict) -> str:
    """A stage's result as one readable line: ``pieces_kept 80, splits (train 64, test 8)``.

    Stages and commands print their summaries with this instead of a raw dict (issue 23):
    keys with underscores become words, nested mappings go in parentheses, lists are
    joined by commas.
    """

    def show(value) -> str:
        if isinstance(value, dict):
            return f"({one_line(value)})"
        if isinstance(value, (list, tuple)):
            return ", ".join(map(str, value))
        return str(value)

    return ", ".join(f"{str(k).replace('_', ' ')} {show(v)}" for k, v in mapping.items())


def run_stage(main) -> None:
    """Run a stage script's typer ``main``: logging on, dying with DVC, errors as one line."""
    import typer

    quiet_waits()
    die_with_dvc()
    configure_logging()
    exit_on_error(lambda: typer.run(main))
