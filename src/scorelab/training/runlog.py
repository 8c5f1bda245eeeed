"""Training logs as TSV (for ``dvc plots``) and the resume handshake every trainer shares.

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
