"""Pictures of Scores, of training and of set statistics: piano-roll grids, loss curves,
pitch-class bars, transition heatmaps, MGEval distance densities, note-frequency bars.

Every figure is drawn on a bare :class:`matplotlib.figure.Figure` (no pyplot state, no
GUI backend), saved as PNG by Agg at a fixed size and dpi with no "Software" stamp, and
written atomically, so the same inputs give the same bytes (and the same DVC hash).

matplotlib is imported by the functions that draw, not by this module (:func:`new_figure`):
the sample and report stages draw in worker processes (:mod:`scorelab.workers`), and
their own process, which imports this module for the functions it hands them, never
draws. Importing matplotlib there cost about 0.2 s of each stage's start (issue 20's
``benchmarks/stage_imports.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from scorelab.constants import PITCH_CLASSES
from scorelab.score import Score
from scorelab.utils import atomic_path

if TYPE_CHECKING:  # the sample stage draws rolls with this module; it needs no metrics code
    from matplotlib.figure import Figure

    from scorelab.metrics.compare import MGEvalResult

DPI = 100
SMALL_DPI = 80  # the report's own statistics figures: reports/ is committed to git
PANEL_SIZE = (3.6, 2.4)  # inches per piano-roll panel
MAX_COLUMNS = 4  # panels per row of a piano-roll grid
MAX_PANELS = 16  # pieces a piano-roll grid draws at most: the first ones of its set
# pieces of a sample set the sample stage draws AND renders to audio: every piece shown
# in the report can be heard and downloaded (8 WAVs of 2-4 s per set stay small in the cache)
SAMPLES_SHOWN = 8
DEFAULT_PITCH_RANGE = (48, 84)  # C3..C6, for a grid with no notes at all
LOSS_PANEL_SIZE = (8.0, 3.0)  # inches per variant in a loss figure
PITCH_CLASS_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
NON_LOSS_COLUMNS = ("step", "epoch")  # log columns that are axes, not curves
PNG_METADATA = {"Software": None}  # matplotlib would stamp its version: bytes would change
SETS = ("generated", "training set")  # the two sides of every generated-vs-data picture
KDE_SPIKE_RATIO = 50.0  # a density peaking this many times above the other is a spike (see _kde_top)


def new_figure(**kwargs) -> Figure:
    """A bare :class:`matplotlib.figure.Figure`, matplotlib imported here (see the module doc)."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _polygons(*args, **kwargs):
    """A :class:`matplotlib.collections.PolyCollection` (matplotlib imported here)."""
    from matplotlib.collections import PolyCollection

    return PolyCollection(*args, **kwargs)


def colormap(name: str):
    """matplotlib's colormap ``name`` (matplotlib imported here)."""
    from matplotlib import colormaps

    return colormaps[name]


def save_figure(fig: Figure, path: Path | str, dpi: int = DPI) -> None:
    """Save ``fig`` as a PNG at ``dpi`` with stable bytes, atomically."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, metadata=PNG_METADATA)


def _track_colours(n: int) -> list[tuple[float, float, float, float]]:
    """One tab10 colour per track index (cycling past 10)."""
    cmap = colormap("tab10")
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
            ax.add_collection(_polygons(rects, facecolors=colours[track % len(colours)], linewidths=0))
    ax.set_xlim(0, length_beats)
    ax.set_ylim(pitch_range[0] - 0.5, pitch_range[1] + 0.5)
    ax.set_title(score.piece_id, fontsize=8)
    ax.tick_params(labelsize=6)


def plot_rolls(
    scores: Sequence[Score],
    path: Path | str,
    title: str | None = None,
    pitch_range: tuple[int, int] | None = None,
    max_items: int = MAX_PANELS,
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
    fig = new_figure(figsize=(PANEL_SIZE[0] * cols, PANEL_SIZE[1] * rows + 0.6), layout="constrained")
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
        handles = [_polygons([], facecolors=colours[i], label=t.name) for i, t in enumerate(shown[0].tracks)]
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
    fig = new_figure(figsize=(LOSS_PANEL_SIZE[0], LOSS_PANEL_SIZE[1] * n))
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
    fig = new_figure(figsize=(8.0, 3.2))
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


def _shares(matrix: np.ndarray) -> np.ndarray:
    """``matrix`` divided by its sum (all zeros when it sums to 0)."""
    total = float(matrix.sum())
    return matrix / total if total > 0 else np.zeros_like(matrix)


def plot_transition_matrices(
    kinds: Sequence[tuple[str, Sequence[str], np.ndarray, np.ndarray]],
    path: Path | str,
    title: str | None = None,
) -> None:
    """Heatmaps of a generated set's mean transition matrices beside the training set's (S4, A.3).

    One row per kind of transition (S4 draws pitch classes and note lengths), generated
    left, training set right; in each matrix the row is the previous class and the
    column the next one. A matrix is drawn as shares of its transitions: the means are
    counts per piece, and two sets whose pieces differ in length would otherwise differ
    by length rather than by pattern (the mean count per piece is in each panel's
    title). The two panels of a row share one colour scale, so they compare cell by cell.

    Parameters
    ----------
    kinds
        Per row: (name, labels, generated, training): the classes' name ("pitch class"),
        their tick labels, and the two square matrices of mean counts per piece.
    path
        Target PNG; its folder is created.
    title
        Figure title.
    """
    fig = new_figure(figsize=(7.6, 3.3 * max(len(kinds), 1)), layout="constrained")
    axes = fig.subplots(max(len(kinds), 1), 2, squeeze=False)
    for row, (name, labels, *matrices) in zip(axes, kinds, strict=False):
        counts = [np.asarray(m, dtype=np.float64) for m in matrices]
        shares = [_shares(m) for m in counts]
        vmax = max(float(s.max()) for s in shares) or 1.0
        ticks = np.arange(len(labels))
        for ax, label, count, share in zip(row, SETS, counts, shares, strict=True):
            image = ax.imshow(share, cmap="viridis", vmin=0.0, vmax=vmax, interpolation="nearest")
            ax.set_xticks(ticks, labels)
            ax.set_yticks(ticks, labels)
            ax.set_xlabel(f"next {name}", fontsize=8)
            ax.set_ylabel(f"previous {name}", fontsize=8)
            ax.set_title(f"{label}: {float(count.sum()):.3g} transitions per piece", fontsize=8)
            ax.tick_params(labelsize=6)
        bar = fig.colorbar(image, ax=list(row), shrink=0.85)
        bar.set_label("share of transitions", fontsize=7)
        bar.ax.tick_params(labelsize=6)
    if title:
        fig.suptitle(title, fontsize=10, x=0.01, ha="left")
    save_figure(fig, path, dpi=SMALL_DPI)


def overlap_text(overlap: float) -> str:
    """An MGEval overlap area as the report prints it: 3 significant digits."""
    return f"{overlap:.3g}"


def _kde_top(*pdfs: np.ndarray) -> float:
    """Upper y limit for the compared densities: above the higher peak, unless that peak
    is over ``KDE_SPIKE_RATIO`` times the other's (a constant feature's spike), which
    then runs off the top so the other density stays readable."""
    low, high = sorted(float(np.nanmax(p)) for p in pdfs)
    return 1.1 * (high if high <= KDE_SPIKE_RATIO * low else low)


def plot_mgeval_kdes(results: Mapping[str, MGEvalResult], path: Path | str, title: str | None = None) -> None:
    """MGEval's densities (Yang & Lerch 2020, as S4 draws them), one panel per feature.

    Each panel draws, against the distance, the KDE of the training set's intra-set
    distances and the KDE of the inter-set distances (generated to training pieces), the
    area under both shaded; that area's size, the overlap computed with the KDEs, is in
    the title. The generated set's own intra-set KDE is dotted: narrower than the
    training set's when the generator repeats itself. A constant feature gives a KDE of
    the minimum bandwidth, a spike far higher than any other density: the y axis follows
    the two compared densities (:func:`_kde_top`), so a spike runs off the top.

    Parameters
    ----------
    results
        Feature name -> :func:`scorelab.metrics.compare.mgeval_compare` of the generated
        (A) against the training set (B), with a finite overlap; drawn in order.
    path
        Target PNG; its folder is created.
    title
        Figure title.
    """
    cols = max(1, min(2, len(results)))
    rows = max(1, math.ceil(len(results) / cols))
    fig = new_figure(figsize=(4.0 * cols, 2.4 * rows + 0.5), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[len(results) :]:
        ax.set_axis_off()
    for ax, (feature, r) in zip(axes.flat, results.items(), strict=False):
        ax.fill_between(r.grid, np.minimum(r.pdf_intra_b, r.pdf_inter), color="0.85", linewidth=0)
        ax.plot(r.grid, r.pdf_intra_b, lw=1.2, label=f"{SETS[1]}, intra-set")
        ax.plot(r.grid, r.pdf_inter, lw=1.2, label=f"{SETS[0]} to {SETS[1]}, inter-set")
        ax.plot(r.grid, r.pdf_intra_a, lw=0.8, ls=":", color="0.3", label=f"{SETS[0]}, intra-set")
        ax.set_ylim(0.0, _kde_top(r.pdf_intra_b, r.pdf_inter))
        ax.set_title(f"{feature}: overlap {overlap_text(r.overlap)}", fontsize=8)
        ax.set_xlabel(f"distance in {feature}", fontsize=7)
        ax.set_ylabel("density", fontsize=7)
        ax.tick_params(labelsize=6)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=7, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10, x=0.01, ha="left")
    save_figure(fig, path, dpi=SMALL_DPI)


def plot_pitch_frequency(
    generated: Sequence[float | None],
    training: Sequence[float | None],
    path: Path | str,
    title: str | None = None,
) -> None:
    """S2's note-frequency bars: each MIDI pitch's share of notes, generated beside training.

    The lower panel is their difference (generated minus training, in the colour of the
    set with more), so a missing or overused register stands out. x runs over the pitches
    either set uses, padded by one: S2's pictures leave out the unused ends of 0-127.

    Parameters
    ----------
    generated, training
        128 shares (``pitch_frequency`` bins "0".."127"); None reads as 0.
    path
        Target PNG; its folder is created.
    title
        Figure title.
    """
    g, t = (np.array([0.0 if v is None else float(v) for v in values]) for values in (generated, training))
    used = np.flatnonzero((g > 0) | (t > 0))
    low, high = (int(used[0]), int(used[-1])) if used.size else DEFAULT_PITCH_RANGE
    x = np.arange(low, high + 1)
    colours = _track_colours(2)
    fig = new_figure(figsize=(8.0, 4.2), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    for offset, label, values, colour in zip((-0.2, 0.2), SETS, (g, t), colours, strict=True):
        top.bar(x + offset, values[x], width=0.4, color=colour, label=label)
    diff = g[x] - t[x]
    bottom.bar(x, diff, width=0.8, color=[colours[0] if d >= 0 else colours[1] for d in diff])
    bottom.axhline(0.0, color="0.3", linewidth=0.6)
    named = [p for p in x if p % 12 in (0, 7)]  # every C and G: a narrow range still gets a name
    bottom.set_xticks(named, [f"{PITCH_CLASS_NAMES[p % 12]}{p // 12 - 1}\n{p}" for p in named])
    bottom.set_xticks(x, minor=True)
    bottom.set_xlim(low - 1, high + 1)
    top.set_ylabel("share of notes", fontsize=8)
    bottom.set_ylabel(f"{SETS[0]} - training", fontsize=8)
    bottom.set_xlabel("MIDI pitch", fontsize=8)
    for ax in (top, bottom):
        ax.tick_params(labelsize=7)
    top.legend(fontsize=7, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10, x=0.01, ha="left")
    save_figure(fig, path, dpi=SMALL_DPI)


def plot_quality(tsv: Path | str, path: Path | str, title: str) -> None:
    """A variant's relative headline score against training steps, between its references.

    The quality log (``metrics/variants/<v>/quality_log.tsv``, written by the evaluate
    stage): the relative score with its 95 % interval as a band, the test split's level
    (1, the ceiling) and the naive baseline's (0, the floor) as dashed lines.
    """
    log = read_log(tsv)
    fig = new_figure(figsize=(6.0, 2.6))
    ax = fig.subplots()
    steps = log["step"].to_numpy()
    ax.fill_between(steps, log["relative_lo"].to_numpy(float), log["relative_hi"].to_numpy(float), alpha=0.25)
    ax.plot(
        steps, log["relative"].to_numpy(float), marker="o", markersize=3, linewidth=1, label="relative score"
    )
    ax.axhline(1.0, linestyle="--", linewidth=0.8, color="green", label="test split (ceiling)")
    ax.axhline(0.0, linestyle="--", linewidth=0.8, color="red", label="naive baseline (floor)")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("training step", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, frameon=False, loc="best")
    fig.tight_layout()
    save_figure(fig, path)
