"""Training logs as DVC plots: one folder per kind of curve, one TSV per variant.

Why this shape. A DVC plot that declares no ``y`` draws only the last column of its
file, so the old ``logs: {x: step}`` declaration drew the Wasserstein estimate, D's
accuracy on fake, or the density, and never the G and D losses. Top-level plot
definitions cannot loop over variants, and each trainer writes different columns, so
one declaration per log cannot name its columns. DVC does expand a folder (a plot id
that is a path) into every file inside it, with the folder's ``x`` and ``y``. So the
report stage copies each log's curves into ``reports/plots/<kind>/<variant>.tsv``, every
file of a kind with the same columns, and dvc.yaml declares one plot per kind with its
``x`` and ``y``. A new variant appears in its kinds' plots without a dvc.yaml edit;
``tests/test_e2e.py`` reads ``dvc plots show --json`` and checks every plot's fields.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from scorelab.utils import atomic_path

PLOTS_DIR = "plots"  # in the report's folder


@dataclass(frozen=True)
class Kind:
    """One kind of curve: the log it comes from, and the y columns that every file has."""

    name: str
    log: str  # train or valid
    y: tuple[str, ...]
    title: str
    # y columns taken from the train log at the rows' steps (train loss beside valid loss)
    from_train: tuple[tuple[str, str], ...] = ()
    # a log with any of these columns belongs to another kind (drawn there with them)
    unless: tuple[str, ...] = ()


KINDS: tuple[Kind, ...] = (
    Kind("losses", "train", ("loss_g", "loss_d"), "G and D losses (GANs)"),
    Kind("d_accuracy", "train", ("d_acc_real", "d_acc_fake"), "D accuracy on real and on fake (BCE GANs)"),
    Kind(
        "wasserstein_gp",
        "train",
        ("wasserstein", "gradient_penalty"),
        "Wasserstein estimate and gradient penalty (WGAN-GP)",
    ),
    Kind(
        "wasserstein",
        "train",
        ("wasserstein",),
        "Wasserstein estimate (WGAN with clipping)",
        unless=("gradient_penalty",),
    ),
    Kind(
        "train_valid_loss",
        "valid",
        ("train_loss", "valid_loss"),
        "train and validation loss (likelihood, VAE, autoencoder)",
    ),
    Kind(
        "train_test_loss",
        "valid",
        ("train_loss", "test_loss"),
        "train and held-out (test split) loss (next-column models)",
        from_train=(("loss", "train_loss"),),
    ),
    Kind("vae_terms", "train", ("bce", "kl"), "VAE loss terms: reconstruction (BCE) and KL"),
    Kind("density", "train", ("density",), "note density (S1's naive model)"),
)


def _read(path: Path) -> tuple[list[str], list[dict]]:
    if not path.is_file():
        return [], []
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        return list(reader.fieldnames or []), list(reader)


def _write(path: Path, columns: Sequence[str], rows) -> None:
    """``rows`` (dicts) as a tab-separated file with ``columns`` as its header, atomically."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), delimiter="\t", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(buf.getvalue(), encoding="utf-8")


def kind_rows(kind: Kind, logs: Path) -> list[dict] | None:
    """The kind's rows (``step`` and its y columns) from one variant's logs, or None when
    the variant's trainer does not log this kind. A kind whose columns a log has only in
    part (a WGAN with clipping has no gradient penalty) is not this variant's."""
    header, rows = _read(logs / f"{kind.log}_log.tsv")
    if not header or "step" not in header:
        return None
    train_cols = {dst for _, dst in kind.from_train}
    if any(c in header for c in kind.unless):
        return None
    if not all(c in header for c in kind.y if c not in train_cols):
        return None
    by_step: dict[str, dict] = {}
    if kind.from_train:
        theader, trows = _read(logs / "train_log.tsv")
        if not all(src in theader for src, _ in kind.from_train):
            return None
        by_step = {r["step"]: r for r in trows}
    out = []
    for r in rows:
        row = {"step": r["step"]}
        for c in kind.y:
            src = next((s for s, d in kind.from_train if d == c), None)
            row[c] = (by_step.get(r["step"], {}).get(src, "") if src else r.get(c, "")) or ""
        if any(row[c] != "" for c in kind.y):
            out.append(row)
    return out


def write_plot_data(variants: list[str], logs_dir: Path, out_dir: Path) -> dict[str, list[str]]:
    """Write ``out_dir/plots/<kind>/<variant>.tsv`` for every kind each variant logs.

    Returns ``{kind: [variants]}``. Every kind's folder exists (empty when no variant
    logs it) so that dvc.yaml's declarations always name a folder.
    """
    written: dict[str, list[str]] = {}
    for kind in KINDS:
        folder = Path(out_dir) / PLOTS_DIR / kind.name
        folder.mkdir(parents=True, exist_ok=True)
        for v in variants:
            rows = kind_rows(kind, Path(logs_dir) / v)
            if not rows:
                continue
            _write(folder / f"{v}.tsv", ["step", *kind.y], rows)
            written.setdefault(kind.name, []).append(v)
    return written


QUALITY = "quality"  # reports/plots/quality/<variant>.tsv: the relative score against steps
QUALITY_Y = ("relative", "relative_lo", "relative_hi")


def write_quality_plots(variants: list[str], metrics_dir: Path, out_dir: Path) -> list[str]:
    """Copy each variant's quality log (the evaluate stage's) into ``plots/quality/<v>.tsv``.

    Only ``step`` and the relative score with its interval, so every file of the folder
    has the columns dvc.yaml's ``quality`` plot names. Returns the variants written.
    """
    folder = Path(out_dir) / PLOTS_DIR / QUALITY
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for v in variants:
        header, rows = _read(Path(metrics_dir) / "variants" / v / "quality_log.tsv")
        if not rows or not all(c in header for c in ("step", *QUALITY_Y)):
            continue
        columns = ("step", *QUALITY_Y)
        _write(folder / f"{v}.tsv", columns, ({k: r[k] for k in columns} for r in rows))
        written.append(v)
    return written
