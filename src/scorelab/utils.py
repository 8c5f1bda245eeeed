"""Small helpers shared by every layer: atomic writes, seeding, JSON."""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; rename it onto ``path`` only on success.

    A killed process therefore leaves the previous file or none, never half of one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
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
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
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
    off Linux (and when the C library is not reachable).
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

    die_with_parent()
    configure_logging()
    exit_on_error(lambda: typer.run(main))
