"""Shuffled passes over a training set, resumable: what every trainer draws its batches from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from scorelab.errors import ParamsError

if TYPE_CHECKING:
    import numpy as np

    from scorelab.training.run import Run


class ShuffledBatches:
    """Batches drawn without replacement from shuffled passes over N items.

    A pass is ``torch.randperm(N)`` from the run's data generator, drawn on the training
    ``device`` (the indices never cross to the GPU per step); a batch that runs past
    the end of a pass continues into the next one, so every batch is full even when
    N < batch_size. ``passes`` counts the passes begun (the epoch). S0's "shuffle buffer
    1000" (tf.data) approximates this full shuffle.
    """

    def __init__(self, n: int, generator: torch.Generator, device: torch.device | str = "cpu"):
        self.n, self.generator, self.device = n, generator, torch.device(device)
        self.perm = torch.empty(0, dtype=torch.long, device=self.device)
        self.cursor, self.passes = 0, 0

    def take(self, size: int) -> torch.Tensor:
        """Return the next ``size`` item indices, (size,)."""
        parts = []
        while size > 0:
            if self.cursor == len(self.perm):
                self.perm, self.cursor = (
                    torch.randperm(self.n, generator=self.generator, device=self.device),
                    0,
                )
                self.passes += 1
            part = self.perm[self.cursor : self.cursor + size]
            self.cursor += len(part)
            size -= len(part)
            parts.append(part)
        return torch.cat(parts)

    def state_dict(self) -> dict[str, Any]:
        return {"perm": self.perm.clone(), "cursor": self.cursor, "passes": self.passes}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.perm = state["perm"].to(self.device)  # saved on the CPU
        self.cursor, self.passes = int(state["cursor"]), int(state["passes"])


def check_batch_size(batch_size: int, n: int, what: str) -> None:
    """A batch must fit in the training split: more would repeat items within one step.

    Raises
    ------
    ParamsError
        ``train.batch_size: 4096 is larger than the 812 training windows ...``, before any step.
    """
    if batch_size > n:
        raise ParamsError(
            f"train.batch_size: {batch_size} is larger than the {n} {what} of the training split "
            "(a batch would repeat items); use at most that"
        )


def scaled(run: Run, array: np.ndarray) -> torch.Tensor:
    """A split's items on the device as float32 in [0, 1] (divided by the encoding's ``scale``)."""
    scale = float(run.meta["encoding"].get("scale", 1) or 1)
    t = run.tensor(array).float()
    return t / scale if scale != 1 else t
