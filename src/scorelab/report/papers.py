"""The five papers scorelab reproduces, as data: the report's summary and citations read it.

As the papers' own texts give them (two print no year). A variant belongs to the paper
its name starts with (``s4_lstm_erk`` -> S4), which every variant name in conf/ follows.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Paper:
    id: str
    authors: str
    title: str
    where: str
    year: str  # "no year printed" where the text gives none
    systems: str

    def citation(self) -> str:
        """One line: authors, title, where, year."""
        return f"{self.authors}. {self.title}. {self.where}, {self.year}."


PAPERS: tuple[Paper, ...] = (
    Paper(
        "S0",
        "Mughees Asif",
        "Music Generation using Symbolic Representation with Generative Adversarial Networks",
        "Coursework report, ECS7022P Computational Creativity, Queen Mary University of London",
        "2022",
        "WGAN-GP with a U-Net generator on 4-track piano rolls; accompaniment for a given melody",
    ),
    Paper(
        "S1",
        "Yuxuan Liu, Xiaodong Huo",
        "Music Generation with GANs: Convolutional LSTM Generative Adversarial Networks for Polyphonic "
        "Music Generation",
        "Student paper, Johns Hopkins University",
        "no year printed",
        "Bi-LSTM GAN and CNN-LSTM GAN on piano rolls, against a naive model; MuseGAN's metrics",
    ),
    Paper(
        "S2",
        "Argiris Papadopoulos (supervisor Michael G. Lagoudakis)",
        "Music generation with Neural Networks",
        "Diploma thesis, Technical University of Crete",
        "2022",
        "VAE and DCGAN on 96 x 96 MIDI images of classical music",
    ),
    Paper(
        "S3",
        "Gábor Lant, Dániel M. Szalai, Attila Kádár",
        "Music generation using Deep Learning",
        "Student paper, Budapest University of Technology and Economics",
        "no year printed",
        "Image GANs, next-column LSTMs and seq2seq on piano rolls; a Hilbert-curve audio autoencoder",
    ),
    Paper(
        "S4",
        "Shrikar Venkata Tamirisa, Abbanaboina Manjunadh, Gujjaru Manoj Sathwik",
        "Generative Adversarial Network Architecture for Music Synthesis",
        "B.Tech. project report, National Institute of Technology Andhra Pradesh",
        "2024",
        "GAN and WGAN (with noise and L2) on Essen folk-song note sequences, and an LSTM",
    ),
)
BY_ID = {p.id: p for p in PAPERS}


def paper_of(variant: str) -> Paper | None:
    """The paper a variant reproduces, from its name's prefix (None for a variant of no paper)."""
    return BY_ID.get(variant.split("_", 1)[0].upper())
