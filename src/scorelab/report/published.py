"""Numbers the seed papers published, kept as data for the report's last section.

They were measured on the papers' own corpora, model sizes and (often unstated)
settings, so they are context, not targets: they are not directly comparable with the
numbers this pipeline measures. Source: SEEDS.md (the project's digest of the papers).
"""

from __future__ import annotations

from dataclasses import dataclass

COMPARABILITY_NOTE = (
    "Reported by the papers on their own corpora and settings, so not directly comparable "
    "with the numbers above."
)


@dataclass(frozen=True)
class PublishedTable:
    """One table of published numbers: which paper, on what, with what caveat."""

    paper: str  # seed id, as in SEEDS.md
    title: str
    corpus: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[float, ...]], ...]
    note: str = ""
    dataset: str = ""  # our stand-in dataset, whose rows the report puts beside the paper's
    keys: tuple[str, ...] = ()  # our metric for each column


S1_MUSEGAN_METRICS = PublishedTable(
    paper="S1",
    title="Bi-LSTM GAN and CNN-LSTM GAN, MuseGAN metrics (closer to the training data is better)",
    corpus="Lakh Pianoroll Dataset, rock, single piano track, 10 % of the songs; 2000 generated bars",
    columns=("EB %", "UPC", "QN %"),
    rows=(
        ("training data", (24.8, 3.28, 88.4)),
        ("naive model", (40.6, 8.92, 30.4)),
        ("Bi-LSTM GAN", (39.5, 7.73, 48.7)),
        ("CNN-LSTM GAN", (27.7, 5.24, 67.4)),
        ("MuseGAN", (22.6, 4.13, 62.2)),
    ),
    note=(
        "EB, UPC and QN as in MuseGAN (Dong et al. 2018): a qualified note is at least a 32nd note, "
        "so on our 16th-note grid QN is 100 % by construction; long_notes (>= 3 grid steps) is "
        "what our QN column measured before. Ours are means over 2-bar windows, not a pool of bars."
    ),
    dataset="jsb_piano",
    keys=("EB", "UPC", "QN"),
)

S4_PITCH_STATISTICS = PublishedTable(
    paper="S4",
    title="LSTM / GAN melodies: S4's Manhattan distance and used pitches per piece",
    corpus="Essen folk songs, Erk subset (100 real and 100 generated files)",
    columns=("S4's Manhattan distance", "used pitches per piece, mean", "used pitches per piece, std"),
    rows=(
        ("data", (141.35, 7.61, 1.11)),
        ("generated", (234.88, 7.97, 0.17)),
    ),
    note=(
        "The mean and std are MGEval's total_used_pitch over 100 pieces (S4, Appendix A.3): "
        "ours are unique_pitches and unique_pitches_std; a std far below the data's is mode "
        "collapse. S4's Manhattan distance compares runs of ascending semitones between files "
        "(Appendix A.3.1), not pitch histograms: ours is s4_manhattan, computed as its code does, "
        "against up to 100 training pieces (the data row: each piece against the others; it "
        "grows with piece length, and our pieces are windows of 100 notes). The paper does not "
        "say which of its models the generated row is."
    ),
    dataset="erk_notes",
    keys=("s4_manhattan", "unique_pitches", "unique_pitches_std"),
)

PUBLISHED: tuple[PublishedTable, ...] = (S1_MUSEGAN_METRICS, S4_PITCH_STATISTICS)
