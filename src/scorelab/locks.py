"""DVC's stage locks after a kill: find and clear the ones held by processes that are gone.

``.dvc/tmp/rwlock`` maps each path a running ``dvc repro`` reads or writes to its pid and
command. DVC drops entries whose pid does not exist, but ``psutil.pid_exists`` is true
for a zombie: a killed ``dvc`` that its parent has not reaped yet. Measured here: a
``dvc repro`` started by a Python script and killed with SIGKILL left a zombie, and every
later ``dvc repro`` stopped with "'data/encoded/erk_tokens' is busy, it is being blocked
by: (PID 26844)" until the file was deleted by hand. A shell reaps its children at once,
which is why the same kill from a terminal needed no cleanup.

:func:`clear_stale_locks` edits the file under DVC's own ``rwlock.lock`` guard (the lock
DVC takes to edit it), so it cannot race a ``dvc`` that is starting.
"""

from __future__ import annotations

import json
from pathlib import Path

from scorelab.utils import process_alive


def clear_stale_locks(repo: Path | str = ".") -> list[tuple[int, str, int]]:
    """Remove the rwlock entries of processes that no longer run; return (pid, cmd, paths) removed.

    Raises
    ------
    ScorelabError
        The folder is not a DVC project, or its rwlock file is not JSON (then DVC itself
        cannot read it either; the message says to delete it).
    """
    from dvc.lock import make_lock

    from scorelab.errors import ScorelabError

    tmp = Path(repo) / ".dvc" / "tmp"
    if not (Path(repo) / ".dvc").is_dir():
        raise ScorelabError(f"{Path(repo).resolve()}: not a DVC project (no .dvc folder)")
    path = tmp / "rwlock"
    if not path.exists():
        return []
    removed: dict[tuple[int, str], int] = {}
    with make_lock(str(tmp / "rwlock.lock"), tmp_dir=str(tmp)):
        try:
            lock = json.loads(path.read_text(encoding="utf-8") or "{}")
        except json.JSONDecodeError as exc:
            raise ScorelabError(f"{path}: not JSON ({exc}); no dvc runs here? then delete it") from exc

        def stale(info: dict) -> bool:
            if process_alive(int(info["pid"])):
                return False
            key = (int(info["pid"]), str(info["cmd"]))
            removed[key] = removed.get(key, 0) + 1
            return True

        lock["write"] = {p: i for p, i in lock.get("write", {}).items() if not stale(i)}
        lock["read"] = {
            p: kept
            for p, infos in lock.get("read", {}).items()
            if (kept := [i for i in infos if not stale(i)])
        }
        path.write_text(json.dumps(lock), encoding="utf-8")
    return [(pid, cmd, n) for (pid, cmd), n in sorted(removed.items())]


def prune_lock_entries(lock: Path | str = "dvc.lock") -> list[str]:
    """Drop ``lock``'s entries of stages that its dvc.yaml no longer defines; return their names.

    DVC rewrites only the entries of stages it runs, so a stage that left dvc.yaml (a
    renamed group such as ``ext_train@...``, a catalogue switched off) stays in dvc.lock
    for good. The stages are read from DVC's own index (foreach and matrix expanded with
    the current params), and the file is written with DVC's own YAML dumper.
    """
    from dvc.repo import Repo
    from dvc.utils.serialize import dump_yaml, load_yaml

    lock = Path(lock)
    with Repo(str(lock.resolve().parent)) as repo:
        names = {s.addressing for s in repo.index.stages}
    data = load_yaml(lock)
    gone = [name for name in data.get("stages", {}) if name not in names]
    if gone:
        for name in gone:
            del data["stages"][name]
        dump_yaml(lock, data)
    return gone
