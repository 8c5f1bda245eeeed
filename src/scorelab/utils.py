"""Small helpers shared by every layer: atomic writes, seeding, JSON."""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np


def process_alive(pid: int) -> bool:
    """True if ``pid`` runs. A zombie does not: it has exited and only waits to be reaped
    (``psutil.pid_exists`` and ``os.kill(pid, 0)`` call it alive; DVC's lock check is
    fooled by that, see scorelab.locks). Another user's process counts as not ours to
    judge: False only when it is known gone."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.AccessDenied:
        return True
    except (psutil.NoSuchProcess, ValueError):
        return False


def _remove_stale_temporaries(path: Path) -> None:
    """Delete the hidden ``.<name>.tmp<pid>`` / ``.<name>.old<pid>`` siblings of ``path``
    left by writers that were killed (their pid is gone, or is this process: an earlier
    attempt of ours). A ``kill -9`` mid-write left them for good before (measured: the
    fault tests' killed corpus, encode and sample stages); now the rerun's write clears
    them. A live writer's temporary is left alone.
    """
    prefix = f".{path.name}."
    try:
        siblings = list(os.scandir(path.parent))
    except OSError:
        return
    for entry in siblings:
        rest = entry.name[len(prefix) :] if entry.name.startswith(prefix) else ""
        kind, pid = rest[:3], rest[3:]
        if kind not in ("tmp", "old") or not pid.isdigit():
            continue
        if int(pid) != os.getpid() and process_alive(int(pid)):
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            Path(entry.path).unlink(missing_ok=True)


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; rename it onto ``path`` only on success.

    A killed process therefore leaves the previous file or none, never half of one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            if tmp.is_dir():
                shutil.rmtree(tmp)
            else:
                tmp.unlink()


@contextmanager
def atomic_dir(path: Path | str) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``path`` as a whole on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.mkdir()
    try:
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.old{os.getpid()}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def write_json(path: Path | str, obj: object) -> None:
    """Write JSON with sorted keys and a trailing newline, atomically (stable bytes)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (when installed) so CPU runs repeat byte for byte."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    try:
        import torch
    except ImportError:  # metrics and corpora run without torch
        return
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def save_npz(path: Path | str, arrays: dict[str, np.ndarray]) -> None:
    """Write an uncompressed-format ``.npz`` whose bytes depend only on the arrays.

    ``np.savez`` stamps each zip member with the current time, so the same data would
    give new bytes (and a new DVC hash) on every run. Members here carry a fixed date,
    are written in sorted order and deflated, and the file is written atomically.
    """
    import io
    import zipfile

    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name in sorted(arrays):
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.asarray(arrays[name]), allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, buf.getvalue())


def load_npz(path: Path | str) -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` into memory (no pickles)."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


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


def run_stage(main) -> None:
    """Run a stage script's typer ``main``: logging on, dying with DVC, errors as one line."""
    import typer

    die_with_dvc()
    configure_logging()
    exit_on_error(lambda: typer.run(main))
