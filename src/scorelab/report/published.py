"""Numbers the seed papers published, kept as data for the report's last section.

They were measured on the papers' own corpora, model sizes and (often unstated)
settings, so they are context, not targets: they are not directly comparable with the
numbers this pipeline measures. Source: docs/papers.md (the project's digest of the papers).
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

    paper: str  # the paper's id (S0-S4), as in docs/papers.md
    title: str
    corpus: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[float, ...]], ...]
    note: str = ""
    dataset: str = ""  # our stand-in dataset, whose rows the report puts beside the paper's
    keys: tuple[str, ...] = ()  # our metric for each column
    # the paper measured whole files: add our rows on whole songs (the evaluate stages'
    # whole_songs.json: the data's training songs, and each set against them)
    whole_songs: bool = False


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
        "grows with piece length, and our pieces are windows of 100 notes; the rows 'whole songs' "
        "compare whole training songs, as the paper compared whole files). The paper does not "
        "say which of its models the generated row is."
    ),
    dataset="erk_notes",
    keys=("s4_manhattan", "unique_pitches", "unique_pitches_std"),
    whole_songs=True,
)

S1_MUSEGAN_CODE = PublishedTable(
    paper="S1",
    title="The same, ours computed as MuseGAN's released code computes them",
    corpus=S1_MUSEGAN_METRICS.corpus,
    columns=("EB %", "UPC (code: 7-semitone blocks)", "QN % (code: >= 2 of 24 steps)"),
    rows=(),  # the paper's rows are the table above
    note=(
        "The paper's rows are in the table above. MuseGAN's released evaluation code "
        "(v1, eval/metrics.py), which S1's MuseGAN metrics most "
        "likely ran: its to_chroma reshapes the 84 pitches of a bar into 12 groups of 7 adjacent "
        "semitones, so its 'used pitch classes' count blocks of neighbouring pitches, and its "
        "qualified-note ratio keeps notes of at least 2 of its 24 steps per beat (the paper says 3), "
        "as a mean of per-bar ratios. The paper's data UPC of 3.28 fits that code (on 100 chorales it "
        "gives 1.58 where the true count is 3.15; four-part rock piano spans more blocks), so compare "
        "S1's numbers with these rows and the true values with the table above. EB is the same in "
        "both (a bar with no sounding cell)."
    ),
    dataset="jsb_piano",
    keys=("EB", "UPC_musegan_code", "QN_musegan_code"),
)

PUBLISHED: tuple[PublishedTable, ...] = (S1_MUSEGAN_METRICS, S1_MUSEGAN_CODE, S4_PITCH_STATISTICS)

NONE_PUBLISHED = (
    "S0, S2 and S3 published no numbers for the music their systems generate: S0 and S2 show loss "
    "curves, samples and (S2) a latent-space plot; S3 shows loss curves and pictures. Their "
    "systems' rows in the summary are the only numbers there are."
)
