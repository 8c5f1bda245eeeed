"""Keys: read a key name, estimate a key from notes, find the transposition to C / A.

S4 (Velardo's melody preprocessing) transposes every song to C major or A minor so the
LSTM learns one tonal frame instead of twelve. It reads the key from the score and asks
music21 to analyse it when absent; music21's default analyser is the
Krumhansl-Schmuckler algorithm, so that is what :func:`estimate_key` implements, in pure
NumPy, so codecs do not need music21 at run time.

A key is a pair ``(tonic, mode)``: tonic a pitch class 0-11 (C = 0) and mode
``"major"`` or ``"minor"``.
"""

from __future__ import annotations

import re

import numpy as np

from scorelab.constants import PITCH_CLASSES

# Krumhansl & Kessler (1982) probe-tone profiles, as used by Krumhansl's key-finding
# algorithm (Krumhansl 1990, "Cognitive Foundations of Musical Pitch") and music21's
# KrumhanslSchmuckler analyser. Index 0 is the tonic.
MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)

MODES = ("major", "minor")
# Where S4 puts each mode: major keys to C, minor keys to A (its relative minor).
REFERENCE_TONIC = {"major": 0, "minor": 9}
# Spelling used when printing a key; flats as music21 writes them ('-').
PITCH_CLASS_NAMES = ("C", "C#", "D", "E-", "E", "F", "F#", "G", "A-", "A", "B-", "B")
_LETTER_PC = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
# Letter, accidentals (#, sharp; b, -, flat; unicode), optional mode word.
_KEY_RE = re.compile(
    r"^\s*(?P<letter>[a-g])(?P<acc>(?:#|♯|b|♭|[\s-]*sharp|[\s-]*flat|-)*)"
    r"[\s_]*(?P<mode>major|minor|maj|min|m)?\s*$",
    re.IGNORECASE,
)


def parse_key(text: str | None) -> tuple[int, str] | None:
    """Read a key name such as ``"G major"``, ``"e minor"``, ``"F# major"`` or ``"B- minor"``.

    Accepts music21's spellings (``'-'`` for flat, lower-case tonic for minor when no
    mode word is given, as in ``str(music21.key.Key('e'))``), ``b``/``#``/unicode
    accidentals and the mode words major/minor/maj/min/m. Other modes (dorian, ...)
    return ``None`` so the caller estimates the key instead of guessing a mapping.

    Returns
    -------
    tuple of (int, str) or None
        ``(tonic pitch class, "major" | "minor")``, or ``None`` when ``text`` is empty
        or not a major/minor key name.
    """
    if not text:
        return None
    match = _KEY_RE.match(str(text))
    if match is None:
        return None
    letter = match.group("letter")
    tonic = _LETTER_PC[letter.lower()]
    # Word forms first (and their hyphen), so "E-flat" is one flat, not two.
    acc = re.sub(r"[\s-]*sharp", "#", match.group("acc").lower())
    acc = re.sub(r"[\s-]*flat", "b", acc)
    sharps = acc.count("#") + acc.count("♯")
    flats = acc.count("b") + acc.count("♭") + acc.count("-")
    word = (match.group("mode") or "").lower()
    if word in ("major", "maj"):
        mode = "major"
    elif word in ("minor", "min", "m"):
        mode = "minor"
    else:
        mode = "minor" if letter.islower() else "major"
    return (tonic + sharps - flats) % PITCH_CLASSES, mode


def key_name(tonic: int, mode: str) -> str:
    """Spell a key as music21 prints it: ``"G major"``, ``"e minor"``, ``"b- minor"``."""
    name = PITCH_CLASS_NAMES[tonic % PITCH_CLASSES]
    return f"{name} major" if mode == "major" else f"{name.lower()} minor"


def pitch_class_histogram(pitches: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Weighted count of each pitch class (C = 0), shape (12,).

    Weights are note durations in Krumhansl-Schmuckler: a long note shapes the sense of
    key more than a passing one.
    """
    pitches = np.asarray(pitches, dtype=np.int64)
    w = np.ones(len(pitches)) if weights is None else np.asarray(weights, dtype=np.float64)
    return np.bincount(pitches % PITCH_CLASSES, weights=w, minlength=PITCH_CLASSES).astype(np.float64)


def estimate_key(pitches: np.ndarray, weights: np.ndarray | None = None) -> tuple[int, str]:
    """Krumhansl-Schmuckler key estimate of notes, weighted by duration.

    The duration-weighted pitch-class histogram is correlated (Pearson) with the major
    and minor profile rotated to each of the 12 tonics; the best of the 24 wins. Ties go
    to the first candidate in the order C major .. B major, C minor .. B minor, so the
    answer is deterministic.

    Returns
    -------
    tuple of (int, str)
        ``(tonic, mode)``. With no notes, or a flat histogram (every pitch class equally
        present, so no key is preferred), ``(0, "major")``: C major, i.e. no
        transposition.
    """
    hist = pitch_class_histogram(pitches, weights)
    if hist.std() == 0.0:
        return 0, "major"
    scores = key_correlations(hist)  # (2, 12): mode x tonic
    best = int(np.argmax(scores.ravel()))
    return best % PITCH_CLASSES, MODES[best // PITCH_CLASSES]


def key_correlations(hist: np.ndarray) -> np.ndarray:
    """Pearson correlation of a pitch-class histogram with all 24 key profiles, shape (2, 12).

    Row 0 is major, row 1 minor; column t is the profile rotated so its tonic is t.
    """
    hist = np.asarray(hist, dtype=np.float64)
    out = np.empty((len(MODES), PITCH_CLASSES))
    for m, profile in enumerate((MAJOR_PROFILE, MINOR_PROFILE)):
        base = np.asarray(profile)
        # np.roll(base, t)[pc] == base[pc - t]: weight of pc in the key with tonic t.
        rotated = np.stack([np.roll(base, t) for t in range(PITCH_CLASSES)])  # (12, 12)
        h = hist - hist.mean()
        r = rotated - rotated.mean(axis=1, keepdims=True)
        out[m] = (r @ h) / (np.linalg.norm(r, axis=1) * np.linalg.norm(h))
    return out


def transposition_to_reference(tonic: int, mode: str) -> int:
    """Semitones that move a key to C major (major) or A minor (minor), in -6..+5.

    The smallest move keeps the melody near its written register, so fewer notes leave
    the codec's pitch range (F# major goes down 6 to C, G major up 5).
    """
    return (REFERENCE_TONIC[mode] - tonic + 6) % PITCH_CLASSES - 6


def to_reference_key(
    key_text: str | None, pitch: np.ndarray, duration: np.ndarray
) -> tuple[np.ndarray, bool]:
    """Pitches transposed to C major / A minor, and whether the key had to be estimated.

    The key is read from ``key_text`` (a Score's ``key``); when it is missing or
    unreadable it is estimated from the pitches weighted by duration (Krumhansl-
    Schmuckler, :func:`estimate_key`). The melody codecs share this so both transpose a
    song the same way.
    """
    key = parse_key(key_text)
    estimated = key is None
    if key is None:
        key = estimate_key(pitch, duration)
    return pitch + transposition_to_reference(*key), estimated
