"""What both samplers share: turning a path or a Checkpoint into a checked Checkpoint."""

from __future__ import annotations

from pathlib import Path

from scorelab.errors import CheckpointError
from scorelab.training.checkpoint import Checkpoint, load_checkpoint


def resolve_checkpoint(checkpoint: Checkpoint | Path | str, family: str) -> Checkpoint:
    """Load ``checkpoint`` if it is a path and check that its model is of ``family``.

    Raises
    ------
    CheckpointError
        Unreadable file, or a model of the other family (e.g. rolls from an LSTM).
    """
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint)
    if ckpt.family != family:
        raise CheckpointError(
            f"{ckpt.path}: holds {ckpt.model_name!r} ({ckpt.family}); this sampler needs {family}"
        )
    return ckpt
