"""Duration metrics: S1's qualified notes (QN), after MuseGAN (Dong et al. 2018)."""

from __future__ import annotations

import numpy as np

from scorelab.metrics.bars import pitched_track_mask
from scorelab.score import Score


def qualified_notes_percent(score: Score, step_ticks: int, min_steps: int = 3) -> float:
    """S1's QN: percentage of notes lasting at least ``min_steps`` grid steps.

    Dong et al. 2018, "MuseGAN", Sec. 5: "QN: ratio of qualified notes (in %). We
    consider a note no shorter than three time steps as a qualified note"; it shows
    whether a model makes fragmented notes. Drum tracks are left out, as in MuseGAN.

    Parameters
    ----------
    score
        The piece.
    step_ticks
        Ticks per grid step of the codec the notes were judged on (6 for a 16th-note
        grid at 24 ticks per quarter).
    min_steps
        A note is qualified when ``duration >= min_steps * step_ticks``.

    Returns
    -------
    float
        In [0, 100]. Return NaN if the score has no pitched note.

    Raises
    ------
    ValueError
        If ``step_ticks`` or ``min_steps`` is not positive.
    """
    if step_ticks <= 0 or min_steps <= 0:
        raise ValueError(f"step_ticks and min_steps must be > 0, got {step_ticks}, {min_steps}")
    durations = score.notes["duration"].to_numpy(np.int64)[pitched_track_mask(score)]
    if durations.size == 0:
        return float("nan")
    return float(100.0 * (durations >= min_steps * step_ticks).mean())
