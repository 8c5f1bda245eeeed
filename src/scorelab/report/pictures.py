"""Pictures of Scores and of training: piano-roll grids, loss curves, pitch-class bars.

Every figure is drawn on a bare :class:`matplotlib.figure.Figure` (no pyplot state, no
GUI backend), saved as PNG by Agg at a fixed size and dpi with no "Software" stamp, and
written atomically, so the same inputs give the same bytes (and the same DVC hash).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from scorelab.constants import PITCH_CLASSES
from scorelab.score import Score
from scorelab.utils import atomic_path

DPI = 100
PANEL_SIZE = (3.6, 2.4)  # inches per piano-roll panel
MAX_COLUMNS = 4  # panels per row of a piano-roll grid
DEFAULT_PITCH_RANGE = (48, 84)  # C3..C6, for a grid with no notes at all
LOSS_PANEL_SIZE = (8.0, 3.0)  # inches per variant in a loss figure
PITCH_CLASS_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
NON_LOSS_COLUMNS = ("step", "epoch")  # log columns that are axes, not curves
PNG_METADATA = {"Software": None}  # matplotlib would stamp its version: bytes would change


def save_figure(fig: Figure, path: Path | str) -> None:
    """Save ``fig`` as a PNG at ``DPI`` with stable bytes, atomically."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, metadata=PNG_METADATA)


def _track_colours(n: int) -> list[tuple[float, float, float, float]]:
    """One tab10 colour per track index (cycling past 10)."""
    cmap = colormaps["tab10"]
    return [cmap(i % cmap.N) for i in range(max(n, 1))]


def _note_rectangles(notes: pd.DataFrame, resolution: int) -> np.ndarray:
    """Rectangles (n, 4, 2) in (beats, pitch) for a PolyCollection: one per note."""
    x0 = notes["onset"].to_numpy(np.float64) / resolution
    x1 = x0 + notes["duration"].to_numpy(np.float64) / resolution
    y0 = notes["pitch"].to_numpy(np.float64) - 0.45
    y1 = y0 + 0.9
    return np.stack(
        [np.stack([x0, y0], -1), np.stack([x1, y0], -1), np.stack([x1, y1], -1), np.stack([x0, y1], -1)],
        axis=1,
    )


def _pitch_range(scores: Sequence[Score]) -> tuple[int, int]:
    """Lowest and highest pitch over the scores, padded by 2 semitones."""
    pitches = [s.notes["pitch"].to_numpy() for s in scores if len(s.notes)]
    if not pitches:
        return DEFAULT_PITCH_RANGE
    all_pitches = np.concatenate(pitches)
    return int(all_pitches.min()) - 2, int(all_pitches.max()) + 2


def _draw_roll(ax, score: Score, colours: list, pitch_range: tuple[int, int]) -> None:
    """One panel: the notes of every track in its colour, bar lines, the piece id."""
    length_beats = max(score.length / score.resolution, 1.0)
    bar_beats = 4 * score.time_signature[0] / score.time_signature[1]  # quarter notes per bar
    for bar in np.arange(0.0, length_beats + 1e-9, bar_beats):
        ax.axvline(bar, color="0.85", linewidth=0.6, zorder=0)
    for track in range(len(score.tracks)):
        notes = score.track_notes(track)
        if len(notes):
            rects = _note_rectangles(notes, score.resolution)
            ax.add_collection(PolyCollection(rects, facecolors=colours[track % len(colours)], linewidths=0))
    ax.set_xlim(0, length_beats)
    ax.set_ylim(pitch_range[0] - 0.5, pitch_range[1] + 0.5)
    ax.set_title(score.piece_id, fontsize=8)
    ax.tick_params(labelsize=6)


def plot_rolls(
    scores: Sequence[Score],
    path: Path | str,
    title: str | None = None,
    pitch_range: tuple[int, int] | None = None,
    max_items: int = 16,
) -> None:
    """Draw a grid of piano rolls, one panel per Score, tracks in different colours.

    x is in beats (quarter notes) with grey bar lines from each score's time
    signature; y is MIDI pitch, shared by all panels so they compare. The legend names
    the first score's tracks.

    Parameters
    ----------
    scores
        The pieces; only the first ``max_items`` are drawn.
    path
        Target PNG; its folder is created.
    title
        Figure title.
    pitch_range
        (lowest, highest) MIDI pitch shown; default: the notes' range padded by 2
        (C3-C6 when there are no notes).
    max_items
        Most panels drawn (``MAX_COLUMNS`` per row).
    """
    shown = list(scores)[:max_items]
    cols = max(1, min(MAX_COLUMNS, len(shown)))
    rows = max(1, math.ceil(len(shown) / cols))
    fig = Figure(figsize=(PANEL_SIZE[0] * cols, PANEL_SIZE[1] * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    low_high = pitch_range or _pitch_range(shown)
    n_tracks = max((len(s.tracks) for s in shown), default=1)
    colours = _track_colours(n_tracks)
    for i, ax in enumerate(axes.flat):
        if i < len(shown):
            _draw_roll(ax, shown[i], colours, low_high)
        else:
            ax.set_axis_off()
    if not shown:
        axes[0, 0].text(0.5, 0.5, "no scores", ha="center", va="center", transform=axes[0, 0].transAxes)
    else:
        handles = [
            PolyCollection([], facecolors=colours[i], label=t.name) for i, t in enumerate(shown[0].tracks)
        ]
        fig.legend(
            handles=handles, loc="outside upper right", fontsize=7, ncols=min(len(handles), 4), frameon=False
        )
    if title:
        fig.suptitle(title, fontsize=10, x=0.01, ha="left")
    fig.supxlabel("beats", fontsize=8)
    fig.supylabel("MIDI pitch", fontsize=8)
    save_figure(fig, path)


def read_log(path: Path | str) -> pd.DataFrame:
    """A training log TSV (``step`` plus loss columns) as a DataFrame."""
    return pd.read_csv(path, sep="\t")


def _loss_curves(tsv: Path) -> pd.DataFrame:
    """Loss columns of a train log, indexed by step, with ``valid_loss`` when a sibling
    ``valid_log.tsv`` exists (likelihood training writes one)."""
    log = read_log(tsv)
    curves = log.set_index("step")[[c for c in log.columns if c not in NON_LOSS_COLUMNS]]
    valid = Path(tsv).with_name("valid_log.tsv")
    if valid.is_file():
        v = read_log(valid)
        v = v.set_index("step")[[c for c in v.columns if c not in NON_LOSS_COLUMNS]]
        v = v.rename(columns={c: f"{c} (epoch mean)" for c in v.columns if c in curves.columns})
        curves = curves.join(v, how="outer")
    return curves.sort_index()


def plot_losses(tsv_paths: Mapping[str, Path], path: Path | str) -> None:
    """Draw the loss curves of each variant, one panel per variant, against step.

    Every column other than ``step`` and ``epoch`` is a curve: adversarial logs give
    ``loss_g``, ``loss_d``, ``wasserstein``, ``gradient_penalty``; likelihood logs give
    ``train_loss``, plus the per-epoch ``valid_loss``, ``test_nll`` and epoch-mean train
    loss (drawn with markers, since they are logged once per epoch) from a sibling
    ``valid_log.tsv`` when it exists. BCE logs add the discriminator's accuracies.

    Parameters
    ----------
    tsv_paths
        Variant name -> its ``train_log.tsv``, drawn in the mapping's order.
    path
        Target PNG; its folder is created.

    Raises
    ------
    FileNotFoundError
        If a listed log does not exist.
    """
    for name, tsv in tsv_paths.items():
        if not Path(tsv).is_file():
            raise FileNotFoundError(f"{tsv}: training log of {name} not found")
    n = max(len(tsv_paths), 1)
    fig = Figure(figsize=(LOSS_PANEL_SIZE[0], LOSS_PANEL_SIZE[1] * n))
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    if not tsv_paths:
        axes[0].text(0.5, 0.5, "no training logs", ha="center", va="center", transform=axes[0].transAxes)
    for ax, (name, tsv) in zip(axes, tsv_paths.items(), strict=False):
        curves = _loss_curves(Path(tsv))
        for column in curves.columns:
            series = curves[column].dropna()
            per_epoch = column.startswith(("valid", "test")) or column.endswith("(epoch mean)")
            style = {"marker": "o", "markersize": 3} if per_epoch else {}
            ax.plot(series.index.to_numpy(), series.to_numpy(), label=column, linewidth=1, **style)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        if len(curves.columns):
            ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    save_figure(fig, path)


def plot_pitch_class_histograms(
    rows: Mapping[str, Sequence[float | None]], path: Path | str, title: str | None = None
) -> None:
    """Grouped bar chart of 12-bin pitch-class histograms, one colour per row.

    Parameters
    ----------
    rows
        Label -> 12 shares (``pch_00 .. pch_11`` of a metrics file); None reads as 0.
    path
        Target PNG; its folder is created.
    title
        Axes title.
    """
    fig = Figure(figsize=(8.0, 3.2))
    ax = fig.subplots()
    width = 0.8 / max(len(rows), 1)
    x = np.arange(PITCH_CLASSES)
    for i, (label, values) in enumerate(rows.items()):
        heights = np.array([0.0 if v is None else float(v) for v in values])
        ax.bar(x - 0.4 + width * (i + 0.5), heights, width=width, label=label)
    ax.set_xticks(x, PITCH_CLASS_NAMES)
    ax.set_ylabel("share of notes", fontsize=8)
    ax.tick_params(labelsize=7)
    if rows:
        ax.legend(fontsize=7, frameon=False)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
