"""Report sections of S2's and S3's systems: audio reconstruction, latent space, GAN epochs, next columns.

Which variants and datasets are audio is read from their metrics (the evaluate stage
writes ``snr_db`` for an audio model and ``rms_dbfs`` for an audio dataset), so the
report needs no codec code: the note tables leave them out and :func:`audio_blocks`
shows them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from scorelab.report.render import MISSING, Block, Heading, Image, Paragraph, Samples, Table, safe_name
from scorelab.report.training import has_gan_accuracy, plot_gan_epochs, plot_latent
from scorelab.workers import draw

AUDIO_SETS = ("samples", "transfer")  # the autoencoder's reconstructions of piano, and of guitar
AUDIO_SET_LABELS = {"samples": "piano (held out)", "transfer": "guitar (style transfer)"}


def json_or_empty(path: Path) -> dict:
    """A JSON file's object, or {} when the file is absent (an optional input)."""
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def is_audio_variant(metrics_dir: Path, name: str) -> bool:
    return "snr_db" in json_or_empty(metrics_dir / "variants" / name / "samples.json")


def is_audio_dataset(metrics_dir: Path, name: str) -> bool:
    return "rms_dbfs" in json_or_empty(metrics_dir / "data" / name / "train.json")


def _num(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    return f"{value:.{digits}g}"


def audio_blocks(variants, metrics_dir: Path, samples_dir: Path, link) -> list[Block]:
    """Per audio variant: MSE and SNR of each set against its input, the data it saw, and players.

    ``link(path)`` gives the link, inside the report folder, that plays ``path``.
    """
    audio = [v for v in variants if is_audio_variant(metrics_dir, v.name)]
    if not audio:
        return []
    blocks: list[Block] = [
        Heading(2, "Audio autoencoders (S3's Hilbert curves)"),
        Paragraph(
            "Held-out audio (the test split's first images, consecutive, so they play as one passage) "
            "through the autoencoder trained on piano renderings, and the same notes rendered on a "
            "guitar (S3's style transfer). MSE: on the [0, 1] curve images, the training loss. SNR: "
            "10 log10 of the sound's energy over the error's, in dB, on audio in [-1, 1]; returning "
            "silence scores 0 dB. The dataset rows give the audio each split holds."
        ),
    ]
    for v in audio:
        rows = []
        for split in ("train", "test"):
            d = json_or_empty(metrics_dir / "data" / v.dataset / f"{split}.json")
            if d:
                rows.append(
                    (
                        f"{v.dataset} {split}",
                        f"{d.get('images')} images, {d.get('seconds')} s",
                        MISSING,
                        MISSING,
                        f"{_num(d.get('rms_dbfs'))} dBFS",
                    )
                )
        for set_name in AUDIO_SETS:
            m = json_or_empty(metrics_dir / "variants" / v.name / f"{set_name}.json")
            if m:
                rows.append((f"{v.name} {AUDIO_SET_LABELS[set_name]}", "", _num(m.get("mse")),
                             _num(m.get("snr_db")), ""))  # fmt: skip
        blocks += [
            Heading(3, f"{v.name} ({v.model} on {v.dataset})"),
            Table(("set", "audio", "MSE", "SNR (dB)", "loudness"), tuple(rows)),
        ]
        players = []
        for set_name in AUDIO_SETS:
            for part in ("input", "output"):
                wav = samples_dir / v.name / "audio" / f"{set_name}_{part}.wav"
                if wav.is_file():
                    players.append((f"{AUDIO_SET_LABELS[set_name]}: {part}", link(wav), ""))
        if players:
            blocks += [
                Paragraph("Listen: each input and what the model gives back."),
                Samples(tuple(players)),
            ]
    return blocks


def training_extra_blocks(v, logs_dir: Path, figures: Path) -> list[Block]:
    """S2's extra training pictures for one variant: latent scatter, GAN losses and accuracies per epoch."""
    blocks: list[Block] = []
    latent = logs_dir / v.name / "latent_log.tsv"
    if latent.is_file():
        name = f"latent_{safe_name(v.name)}.png"
        n = plot_latent(latent, figures / name, v.name)
        blocks += [
            Paragraph(f"Latent space: the training images' latent means, coloured by piece ({n} pieces)."),
            Image(f"figures/{name}", f"{v.name} latent scatter"),
        ]
    train_log = logs_dir / v.name / "train_log.tsv"
    if has_gan_accuracy(train_log):
        name = f"gan_epochs_{safe_name(v.name)}.png"
        draw(plot_gan_epochs, train_log, figures / name, v.name)
        blocks += [
            Paragraph(
                "Per epoch (a pass over the training data): G and D loss; D accuracy on real and on fake."
            ),
            Image(f"figures/{name}", f"{v.name} GAN losses and accuracies per epoch"),
        ]
    return blocks


def last_evaluation(logs_dir: Path, variant: str, column: str) -> pd.Series | None:
    """The last row of a variant's ``valid_log.tsv`` when the log has ``column``, else None.

    Trainers that evaluate on held-out data during training log it there (the likelihood
    trainer's ``test_nll``, the next-column trainer's ``test_f1``); the report shows the end.
    """
    tsv = logs_dir / variant / "valid_log.tsv"
    if not tsv.is_file():
        return None
    log = pd.read_csv(tsv, sep="\t")
    return None if column not in log or log.empty else log.iloc[-1]


def next_column_blocks(variants, logs_dir: Path) -> list[Block]:
    """The next-column models' test precision, recall and F1 of predicted notes (last evaluation)."""
    rows = []
    for v in variants:
        last = last_evaluation(logs_dir, v.name, "test_f1")
        if last is None:
            continue
        rows.append(
            (v.name, str(int(last["step"])), _num(float(last["test_loss"])),
             *(_num(float(last[f"test_{k}"]), 3) for k in ("precision", "recall", "f1")))
        )  # fmt: skip
    if not rows:
        return []
    return [
        Heading(3, "Next-column models: notes predicted on the test split"),
        Paragraph(
            "Each model predicts the columns that follow 100 real ones (teacher forcing) on 256 fixed "
            "test positions; a cell counts as a note where its value reaches the threshold (3-class: "
            "where it is not silent). Precision: predicted notes that are real; recall: real notes "
            "predicted. S3's weighted loss trades one for the other (alpha on missed notes, beta on "
            "false ones)."
        ),
        Table(("variant", "step", "test loss", "precision", "recall", "F1"), tuple(rows)),
    ]
