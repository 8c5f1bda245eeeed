"""Pictures of training beyond the loss curves: S2's latent scatter and its per-epoch GAN plot.

Kept apart from :mod:`scorelab.pictures`, which the sample stage imports (its
piano rolls): a change here redraws the report, not every variant's samples. Same rules
as there: a bare Figure, Agg, fixed size and dpi, no "Software" stamp, atomic writes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scorelab.pictures import SMALL_DPI, colormap, new_figure, read_log, save_figure

GAN_EPOCH_COLUMNS = ("loss_g", "loss_d", "d_acc_real", "d_acc_fake")


def has_gan_accuracy(train_log: Path) -> bool:
    """Whether a train log has the discriminator accuracies (a BCE GAN's)."""
    if not train_log.is_file():
        return False
    with train_log.open(encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
    return all(c in header for c in (*GAN_EPOCH_COLUMNS, "epoch"))


def gan_epochs(train_log: Path):
    """Per-epoch means of a BCE GAN's log: G and D loss, D accuracy on real and on fake.

    An epoch is a pass over the training data (the log's ``epoch`` column: passes begun);
    S2 plots these per epoch. Rows before the first critic step (pre-training) are skipped.
    """
    log = read_log(train_log).dropna(subset=["loss_d"])
    return log.groupby("epoch")[list(GAN_EPOCH_COLUMNS)].mean()


def plot_gan_epochs(train_log: Path, path: Path, title: str) -> None:
    """S2's two DCGAN plots: G and D loss per epoch; D accuracy on real and on fake per epoch."""
    per_epoch = gan_epochs(train_log)
    fig = new_figure(figsize=(8.0, 3.0))
    ax_loss, ax_acc = fig.subplots(1, 2)
    x = per_epoch.index.to_numpy()
    for column, ax in (
        ("loss_g", ax_loss),
        ("loss_d", ax_loss),
        ("d_acc_real", ax_acc),
        ("d_acc_fake", ax_acc),
    ):
        ax.plot(x, per_epoch[column].to_numpy(), marker="o", markersize=3, linewidth=1, label=column)
    ax_acc.set_ylim(-0.02, 1.02)
    for ax, label in ((ax_loss, "loss"), (ax_acc, "discriminator accuracy")):
        ax.set_xlabel("epoch", fontsize=8)
        ax.set_ylabel(label, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, frameon=False)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path, dpi=SMALL_DPI)


def plot_latent(latent_log: Path, path: Path, title: str) -> int:
    """S2's latent scatter: each logged training image at its latent mean (z1, z2), coloured by piece.

    Returns the number of pieces drawn. Colours cycle through tab20: with more pieces than
    colours, neighbours in the corpus's order may share one, but a piece's points always do.
    """
    log = read_log(latent_log)
    pieces = log["piece"].to_numpy(np.int64)
    cmap = colormap("tab20")
    fig = new_figure(figsize=(5.0, 4.5))
    ax = fig.subplots()
    ax.scatter(
        log["z1"].to_numpy(),
        log["z2"].to_numpy() if "z2" in log else np.zeros(len(log)),
        c=[cmap(p % cmap.N) for p in pieces],
        s=4,
        linewidths=0,
    )
    ax.set_xlabel("z1 (mean)", fontsize=8)
    ax.set_ylabel("z2 (mean)", fontsize=8)
    ax.tick_params(labelsize=7)
    n_pieces = len(np.unique(pieces))
    ax.set_title(f"{title}: {len(log)} training images of {n_pieces} pieces", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path, dpi=SMALL_DPI)
    return n_pieces
