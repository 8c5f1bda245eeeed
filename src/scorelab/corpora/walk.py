"""The files below a folder, listed without pathlib: fast, iterative, regular files only.

``sorted(root.rglob("*"))`` took 0.45 s for the 20,000-file benchmark corpus (a Path
object per entry, compared part by part), a tenth of that corpus's whole ingest, and
pathlib's recursive glob raises ``RecursionError`` below about 1,000 nested folders.
:func:`files_under` walks with ``os.scandir`` and an explicit stack, and keeps only
regular files: a symlink (to a file or a folder) is not followed, so a listed path
always stays inside the folder, and a FIFO or a device named ``.mid`` is not listed.
"""

from __future__ import annotations

import os


def suffix(name: str) -> str:
    """``PurePath(name).suffix``: from the last dot, unless the dot starts or ends the name."""
    i = name.rfind(".")
    return name[i:] if 0 < i < len(name) - 1 else ""


def _parts_key(rel: str) -> list[str]:
    """Sort key giving pathlib's order: part by part (``a/x`` before ``a-b/x``)."""
    return rel.split("/")


def files_under(root: str | os.PathLike, suffixes: tuple[str, ...]) -> list[str]:
    """Paths relative to ``root`` (``/``-separated) of the regular files whose lower-cased
    suffix is in ``suffixes``, in the order ``sorted(Path(root).rglob("*"))`` gives.

    A suffix is what ``Path.suffix`` calls one (``.mid`` of ``a.b.mid``; a name such as
    ``.mid`` has none). Entries that vanish or cannot be read while listing are skipped.
    """
    found: list[str] = []
    stack = [""]
    base = os.fspath(root)
    while stack:
        rel_dir = stack.pop()
        try:
            with os.scandir(os.path.join(base, rel_dir) if rel_dir else base) as it:
                entries = list(it)
        except OSError:
            continue
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(rel)
                elif entry.is_file(follow_symlinks=False):
                    if suffix(entry.name).lower() in suffixes:
                        found.append(rel)
            except OSError:
                continue
    found.sort(key=_parts_key)
    return found
