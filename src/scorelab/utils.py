"""Small helpers shared by every layer: atomic writes, seeding, JSON."""

from __future__ import annotations

import json
import os
import shutil
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
