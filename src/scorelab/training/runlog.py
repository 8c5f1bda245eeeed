"""Training logs as TSV (for ``dvc plots``) and the resume handshake both loops share.

Rows are appended and flushed as training goes, so a live run can be watched; a resumed
run first cuts each log back to the rows its ``resume.pt`` had written, so the final
file equals an uninterrupted run's, byte for byte. Floats are written with 6
significant digits (``%.6g``), which keeps the bytes stable and the files small.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from scorelab.errors import CheckpointError
from scorelab.training.checkpoint import Checkpoint, load_checkpoint
from scorelab.utils import atomic_path

log = logging.getLogger(__name__)

RESUME_NAME = "resume.pt"
FINAL_NAME = "checkpoint.pt"


def format_value(value: float | int) -> str:
    """An int as is, a float with 6 significant digits (``nan`` stays ``nan``)."""
    if isinstance(value, int):
        return str(value)
    return "nan" if math.isnan(value) else f"{value:.6g}"


class TsvLog:
    """One tab-separated log with a fixed header, one row per event."""

    def __init__(self, path: Path | str, columns: tuple[str, ...]):
        self.path = Path(path)
        self.columns = columns
        self.header = "\t".join(columns) + "\n"
        self.rows = 0

    def start(self) -> None:
        """Start an empty log (header only), replacing any previous file."""
        with atomic_path(self.path) as tmp:
            tmp.write_text(self.header)
        self.rows = 0

    def truncate(self, rows: int) -> bool:
        """Keep the header and the first ``rows`` rows; False if the file lacks them."""
        if not self.path.is_file():
            return False
        lines = self.path.read_text().splitlines(keepends=True)
        if not lines or lines[0] != self.header or len(lines) - 1 < rows:
            return False
        with atomic_path(self.path) as tmp:
            tmp.write_text("".join(lines[: rows + 1]))
        self.rows = rows
        return True

    def append(self, *values: float | int) -> None:
        """Append one row (as many values as columns) and flush it to disk."""
        if len(values) != len(self.columns):
            raise ValueError(f"{self.path}: {len(values)} values for columns {self.columns}")
        with self.path.open("a") as f:
            f.write("\t".join(format_value(v) for v in values) + "\n")
        self.rows += 1


def resume_or_start(out_dir: Path, fingerprint: str, logs: dict[str, TsvLog]) -> Checkpoint | None:
    """Return the matching ``out_dir/resume.pt`` with logs cut to its step, or start fresh.

    A resume file is used only when its fingerprint equals this run's (same model, arch,
    train config, encoding, seed and data) and every log still holds the rows it had
    written. Otherwise it is ignored (and overwritten by the next periodic save), and
    every log restarts with its header.

    Parameters
    ----------
    out_dir
        The run's output folder, holding ``resume.pt`` if an earlier run was interrupted.
    fingerprint
        :func:`scorelab.training.checkpoint.run_fingerprint` of this run.
    logs
        The run's logs by name; ``resume.pt``'s ``state["log_rows"]`` uses the same names.
    """
    path = out_dir / RESUME_NAME
    resume: Checkpoint | None = None
    if path.exists():
        try:
            resume = load_checkpoint(path)
        except CheckpointError as exc:
            log.warning("ignoring unreadable %s", exc)
    if resume is not None and None in (resume.optimizers, resume.rng, resume.state):
        log.warning("%s lacks optimizer, RNG or loop state; starting fresh", path)
        resume = None
    if resume is not None and resume.fingerprint != fingerprint:
        log.warning("%s belongs to another run (params, seed or data changed); starting fresh", path)
        resume = None
    if resume is not None:
        rows = (resume.state or {}).get("log_rows", {})
        if set(rows) == set(logs) and all(logs[name].truncate(n) for name, n in rows.items()):
            log.info("resuming from %s at step %d", path, resume.step)
            return resume
        log.warning("%s: the logs no longer hold its rows; starting fresh", path)
    for tsv in logs.values():
        tsv.start()
    return None


class RunCheckpoints:
    """The checkpoint side of one training run, shared by both loops.

    Resuming, periodic ``resume.pt`` saves and the final ``checkpoint.pt`` are the same
    for every family; keeping them here means a fix to the resume protocol is made once.

    Parameters
    ----------
    out_dir
        The run's folder (``resume.pt``, ``checkpoint.pt``).
    meta
        ``save_checkpoint`` keywords that describe the run: model_name, family, arch,
        train, encoding, fingerprint.
    modules, optimizers
        By name, as saved in the checkpoint.
    rng
        The loop's data generator (its state is saved and restored with the global RNGs).
    logs
        The run's TSV logs by name; their row counts go into ``resume.pt``.
    """

    def __init__(
        self, out_dir: Path, meta: dict, modules: dict, optimizers: dict, rng, logs: dict[str, TsvLog]
    ):
        self.out_dir, self.meta, self.modules, self.optimizers = Path(out_dir), meta, modules, optimizers
        self.rng, self.logs = rng, logs

    def resume(self) -> tuple[int, dict]:
        """Restore from a matching ``resume.pt``; return (step to continue from, loop state).

        Without one (or with one of another run), the logs restart and (0, {}) is returned.
        """
        from scorelab.training.checkpoint import restore_rng

        ckpt = resume_or_start(self.out_dir, self.meta["fingerprint"], self.logs)
        if ckpt is None:
            return 0, {}
        ckpt.load_into(self.modules)
        for key, opt in self.optimizers.items():
            opt.load_state_dict(ckpt.optimizers[key])
        restore_rng(ckpt.rng, self.rng)
        return ckpt.step, ckpt.state or {}

    def save(self, name: str, step: int, state: dict | None) -> Path:
        """Write ``out_dir/name``: weights only when ``state`` is None, else everything to resume."""
        from scorelab.training.checkpoint import capture_rng, save_checkpoint

        full = state is not None
        return save_checkpoint(
            self.out_dir / name,
            **self.meta,
            step=step,
            modules=self.modules,
            optimizers=self.optimizers if full else None,
            rng=capture_rng(self.rng) if full else None,
            state={"log_rows": {k: v.rows for k, v in self.logs.items()}, **state} if full else None,
        )

    def periodic(self, step: int, stop: int, every: int, state: dict) -> None:
        """Save ``resume.pt`` every ``every`` steps (not at ``stop``: :meth:`finish` does)."""
        if step % every == 0 and step < stop:
            self.save(RESUME_NAME, step, state)

    def finish(self, stop: int, total: int, state: dict) -> Path:
        """Write ``checkpoint.pt``; keep a ``resume.pt`` only when stopped before ``total``."""
        final = self.save(FINAL_NAME, stop, None)
        if stop < total:  # interrupted on purpose (max_steps): leave the state to continue from
            self.save(RESUME_NAME, stop, state)
        else:
            (self.out_dir / RESUME_NAME).unlink(missing_ok=True)
        return final
