"""S1's naive model: every cell of a roll an independent Bernoulli draw at the data's density.

S1 lists a "naive model" row (EB 40.6 %, UPC 8.92, QN 30.4 % on LPD) without defining
it; the issue that added it here defines it as independent Bernoulli cells at the
training set's density. With ``per: all`` one density serves every cell (the literal
reading, S1's row looks like it: UPC near 9 means pitches drawn with no preference);
``per: pitch`` fits one density per (track, pitch), the stronger baseline that
evaluate_data's codec noise already gives. The rate is fitted by the ``density``
trainer; the model has no trainable weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from scorelab.errors import ParamsError
from scorelab.models import register_model
from scorelab.models.base import BernoulliCells


@dataclass(frozen=True)
class NaiveArch:
    """``per``: one density for all cells (``all``) or one per track and pitch (``pitch``)."""

    per: Literal["all", "pitch"] = "all"


def build_naive_bernoulli(arch: NaiveArch, encoding: dict[str, Any]) -> dict[str, BernoulliCells]:
    """Bernoulli cells for rolls of ``encoding["shape"]`` = (C, T, P)."""
    shape = encoding.get("shape")
    if not isinstance(shape, list | tuple) or len(shape) != 3:
        raise ParamsError(
            f"encoding.shape: naive_bernoulli needs rolls [tracks, steps, pitches], got {shape!r}"
        )
    c, _, p = (int(s) for s in shape)
    rate_shape = () if arch.per == "all" else (c, 1, p)
    return {"model": BernoulliCells(tuple(int(s) for s in shape), rate_shape)}


register_model("naive_bernoulli", NaiveArch, build_naive_bernoulli)
