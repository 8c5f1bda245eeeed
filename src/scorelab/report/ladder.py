"""The JSB likelihood ladder: published test NLLs on Boulanger-Lewandowski's split, and ours.

A reference point none of the five papers gives: how far a model at this project's CPU
budget gets on the standard polyphonic benchmark, between two naive references computed
here and the published rows. The evaluate stages write ``likelihood.json`` (the test NLL
in nats per frame, :mod:`scorelab.metrics.likelihood`) for a dataset of the frames codec
(``metrics/data/<dataset>/``: the naive references) and for each variant on it
(``metrics/variants/<variant>/``: the model's, with the references); the frames
trainer's ``valid_log.tsv`` holds each epoch's valid and test NLL (the learning curve).
The split is a download, so the measured rows appear when the papers catalogue is on.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from scorelab.report.render import Block, Heading, Image, Paragraph, Table, safe_name
from scorelab.workers import draw

LADDER_SOURCE = (
    "Krishnan, Shalit & Sontag (2017), Structured Inference Networks for Nonlinear State Space "
    "Models, AAAI, Tables 3-4"
)
# (model, test NLL in nats per frame, where it was published) on the same 229/76/77 split
PUBLISHED_LADDER: tuple[tuple[str, float, str], ...] = (
    ("plain RNN", 8.71, LADDER_SOURCE),
    ("DMM", 6.39, LADDER_SOURCE),
    ("RNN-NADE", 5.19, LADDER_SOURCE),
    ("DMM-Aug-NADE", 5.12, LADDER_SOURCE),
)
REFERENCE_NAMES = {
    "independent_keys": "naive: independent keys at their training frequencies (add-one)",
    "key_markov": "naive: a two-state Markov chain per key (add-one)",
}
LIKELIHOOD = "likelihood.json"


def _read(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _curve(logs_dir: Path, variant: str) -> pd.DataFrame | None:
    tsv = Path(logs_dir) / variant / "valid_log.tsv"
    if not tsv.is_file():
        return None
    log = pd.read_csv(tsv, sep="\t")
    return log if {"epoch", "valid_nll", "test_nll"} <= set(log.columns) and len(log) else None


def plot_curves(curves: dict[str, pd.DataFrame], path: Path) -> None:
    """Valid and test NLL per epoch of each frame model, with the published rows as lines."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    for name, log in curves.items():
        ax.plot(log["epoch"], log["valid_nll"], label=f"{name} valid")
        ax.plot(log["epoch"], log["test_nll"], linestyle="--", label=f"{name} test")
    for label, value, _ in PUBLISHED_LADDER:
        ax.axhline(value, color="grey", linewidth=0.8, linestyle=":")
        ax.text(ax.get_xlim()[1], value, f" {label}", va="center", fontsize=7, color="grey")
    ax.set_xlabel("epoch")
    ax.set_ylabel("NLL (nats per frame)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})


def ladder_blocks(variants, metrics_dir: Path, logs_dir: Path, figures: Path) -> list[Block]:
    """The ladder's section: the published rows, the naive references and each frame model, by NLL.

    ``variants``: the declared variants (``name``, ``dataset``); those with a
    ``likelihood.json`` are the ladder's models.
    """
    metrics_dir = Path(metrics_dir)
    rows: list[tuple[float, tuple[str, ...]]] = [
        (v, (label, f"{v:.2f}", "", source)) for label, v, source in PUBLISHED_LADDER
    ]
    refs: dict | None = None
    curves: dict[str, pd.DataFrame] = {}
    for v in variants:
        found = _read(metrics_dir / "variants" / v.name / LIKELIHOOD)
        if found is None:
            continue
        refs = refs or found
        log = _curve(logs_dir, v.name)
        best = ""
        if log is not None:
            curves[v.name] = log
            at = log.loc[log["valid_nll"].idxmin()]
            best = f"epoch {int(at['epoch'])} of {int(log['epoch'].max())} (lowest valid NLL)"
        rows.append((found["test_nll"], (f"ours: {v.name}", f"{found['test_nll']:.2f}", best, "this run")))
    if refs is None:  # no model: the references of a frames dataset, when one was evaluated
        for v in variants:
            refs = refs or _read(metrics_dir / "data" / v.dataset / LIKELIHOOD)
    if refs is not None:
        for key, label in REFERENCE_NAMES.items():
            rows.append((refs[key], (label, f"{refs[key]:.2f}", "", "this run (no training)")))
    blocks: list[Block] = [
        Heading(2, "JSB likelihood ladder"),
        Paragraph(
            "Test negative log-likelihood on Boulanger-Lewandowski's JSB chorales (229/76/77 chorales, "
            "quarter-note frames of 88 keys, transposed to C in the file), in nats per frame, every test "
            "frame weighing the same; lower is better. A reference point no seed paper gives: where a "
            "model trained at this project's CPU budget stands between two naive references and the "
            "published models."
        ),
    ]
    if refs is None:
        blocks.append(
            Paragraph(
                "This run measured no ladder row: the split is a download, so the ladder's dataset "
                "(jsb_bl_frames) and its models (jsb_lstm_bl, jsb_nade_bl) are in the papers catalogue. "
                "Run it with `dvc exp run -S 'catalogues=[papers]'` (or place jsb_chorales.pickle in "
                "data/downloads/jsb_bl/ when offline)."
            )
        )
    else:
        blocks.append(Paragraph(f"Computed on {refs['frames']} test frames of {refs['pieces']} chorales."))
    ordered = tuple(r for _, r in sorted(rows, key=lambda r: -r[0]))
    blocks.append(Table(("model", "test NLL (nats/frame)", "kept weights", "source"), ordered))
    if curves:
        name = f"ladder_{safe_name('curves')}.png"
        draw(plot_curves, curves, Path(figures) / name)
        blocks += [
            Paragraph("Learning curves: each epoch's valid and test NLL; dotted lines: the published rows."),
            Image(f"figures/{name}", "JSB ladder learning curves"),
        ]
    return blocks
