"""Training logs as TSV (for ``dvc plots``) and the resume handshake every trainer shares.

Rows are appended and flushed as training goes, so a live run can be watched; a resumed
run first cuts each log back to the rows its ``resume.pt`` had written, so the final
file equals an uninterrupted run's, byte for byte. Floats are written with 6
significant digits (``%.6g``), which keeps the bytes stable and the files small.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path

from scorelab.errors import CheckpointError
from scorelab.training.checkpoint import Checkpoint, load_checkpoint
from scorelab.utils import atomic_path

log = logging.getLogger(__name__)

RESUME_NAME = "resume.pt"
FINAL_NAME = "checkpoint.pt"
# Weights-only snapshots during training, ``snapshots/step_<step>.pt``: the sample stage
# samples each with the final samples' seed and the evaluate stage scores them, which
# draws quality against training steps (the quality log). Kept out of the trainers, so a
# metric fix re-scores them without retraining anything.
SNAPSHOT_DIR = "snapshots"
QUALITY_POINTS = 8  # points of the quality curve: 7 snapshots at k/8 of the steps, and the end


def format_value(value: float | int) -> str:
    """An int as is, a float with 6 significant digits (``nan`` stays ``nan``)."""
    if isinstance(value, int):
        return str(value)
    return "nan" if math.isnan(value) else f"{value:.6g}"


class TsvLog:
    """One tab-separated log with a fixed header, one row per event."""

    def __init__(
        self,
        path: Path | str,
        columns: tuple[str, ...],
        write: bool = True,
        reduce: Callable[[list], list] | None = None,
    ):
        """``write``: False on the ranks > 0 of a data-parallel run, which only count rows;
        ``reduce``: maps a row's values to their mean over the ranks (all ranks call it)."""
        self.path = Path(path)
        self.columns = columns
        self.header = "\t".join(columns) + "\n"
        self.rows = 0
        self.write, self.reduce = write, reduce

    def start(self) -> None:
        """Start an empty log (header only), replacing any previous file."""
        if self.write:
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
        if self.reduce is not None:
            values = tuple(self.reduce(list(values)))
        if self.write:
            with self.path.open("a") as f:
                f.write("\t".join(format_value(v) for v in values) + "\n")
        self.rows += 1


def resume_or_start(out_dir: Path, fingerprint: str, logs: dict[str, TsvLog]) -> Checkpoint | None:
    """Return the matching ``out_dir/resume.pt`` with logs cut to its step, or start fresh.

    A resume file is used only when its fingerprint equals this run's (same model, arch,
    train config, encoding, seed and data) and every log still holds the rows it had
    written. Otherwise it is ignored with a warning (and overwritten by the next periodic
    save), and every log restarts with its header. An unreadable one (truncated, random
    bytes) is an error naming the file: see below.

    The logs must survive a rerun for this: ``logs/<v>`` is ``persist: true`` in
    dvc.yaml, or DVC deletes them before it reruns the stage and every resume silently
    starts afresh (what a killed ``dvc repro`` did before, issue 9).

    Raises
    ------
    CheckpointError
        ``resume.pt`` exists but is not a readable scorelab checkpoint.

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
            # Written atomically, a resume file is never half-written by a kill: an
            # unreadable one is damage (disk, copy, hand edit). Overwriting it would
            # throw away the only state of a long run, so stop and say what to do.
            raise CheckpointError(
                f"{exc}. It is the saved state of an interrupted run: restore it, or delete "
                "it to train from step 0"
            ) from exc
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
