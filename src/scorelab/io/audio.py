"""Score (or MIDI file) -> 16-bit stereo WAV, with scorelab's own SoundFont player.

The soundfont is ``TimGM6mb.sf2``, which ships inside the pretty_midi wheel, so audio
needs no download and no system synthesizer; the player is :mod:`scorelab.io.soundfont`
(NumPy only, so ``pip install .`` alone renders audio; why not a synthesizer package is
said there). Notes start at sample-exact frames from the Score's seconds and everything
is computed, not played in real time, so the same Score gives the same bytes.
"""

from __future__ import annotations

import functools
import heapq
import importlib.util
import wave
from pathlib import Path

import numpy as np

from scorelab.io.midi import read_midi
from scorelab.io.soundfont import DRUM_BANK, SoundFont, voice, voice_frames
from scorelab.score import Score
from scorelab.utils import atomic_path

DEFAULT_SAMPLE_RATE = 22050  # Hz
TAIL_SECONDS = 1.0  # rendered after the last note-off, so releases decay instead of clicking
PEAK = 0.9  # output is scaled so its loudest sample is 0.9 of full scale (about -1 dBFS)
STEREO = 2
SAMPLE_WIDTH = 2  # bytes: 16-bit PCM
INT16_MAX = 32767
SOUNDFONT_NAME = "TimGM6mb.sf2"
MAX_VOICES = 128  # sounding at once (FluidSynth's default polyphony is 256, TinySoundFont's unbounded)
STEAL_FADE_SECONDS = 0.005  # a voice cut for a newer one fades out over 5 ms


def soundfont_path() -> Path:
    """Path of the General MIDI soundfont bundled in the pretty_midi package.

    Raises
    ------
    FileNotFoundError
        If pretty_midi is not installed or its wheel lacks the soundfont.
    """
    spec = importlib.util.find_spec("pretty_midi")
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"pretty_midi is not installed; it ships {SOUNDFONT_NAME}")
    path = Path(spec.origin).parent / SOUNDFONT_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found in the pretty_midi package")
    return path


@functools.lru_cache(maxsize=2)
def _font(path: str) -> SoundFont:
    """The parsed soundfont, once per process (a sample stage renders several pieces)."""
    return SoundFont(path)


def synthesize(score: Score, sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """Render ``score`` to float32 stereo samples, shape (frames, 2), peak-normalised.

    The length is the last note-off plus ``TAIL_SECONDS``, i.e.
    ``round(max(onset_s + duration_s) * sample_rate) + round(TAIL_SECONDS * sample_rate)``
    frames (just the tail for an empty score, which renders silence). Every note is its
    own voice (a repeated pitch re-strikes), held from its onset frame to its off frame;
    a release that outlasts the tail is cut there. At most ``MAX_VOICES`` sound at once,
    as in any synthesizer: a new voice beyond them cuts the one closest to its end, with
    a ``STEAL_FADE_SECONDS`` fade (a generator that fills every cell of a roll asks for
    thousands at once; written music stays far below).
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be > 0, got {sample_rate}")
    font = _font(str(soundfont_path()))
    notes = score.notes
    onset_s = notes["onset_s"].to_numpy(np.float64)
    on = np.rint(onset_s * sample_rate).astype(np.int64)
    off = np.rint((onset_s + notes["duration_s"].to_numpy(np.float64)) * sample_rate).astype(np.int64)
    off = np.maximum(off, on + 1)
    n_frames = int(off.max() if len(off) else 0) + round(TAIL_SECONDS * sample_rate)
    banks = [DRUM_BANK if t.is_drum else 0 for t in score.tracks]
    programs = [int(t.program) for t in score.tracks]
    columns = (on, off - on, notes["track"].to_numpy(np.int64), notes["pitch"].to_numpy(np.int64))
    velocity = np.maximum(notes["velocity"].to_numpy(np.int64), 1)
    plan = []  # (start frame, frames, zone, key, velocity, frames held), in onset order
    for start, held, track, pitch, vel in zip(*(c.tolist() for c in columns), velocity.tolist(), strict=True):
        for z in font.zones(banks[track], programs[track], pitch, vel):
            plan.append([start, voice_frames(z, pitch, held, sample_rate), z, pitch, vel, held])
    fade = max(round(STEAL_FADE_SECONDS * sample_rate), 1)
    cut = _steal(plan, fade)
    out = np.zeros((STEREO, n_frames), np.float64)
    made: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}  # the same voice, computed once
    for i, (start, frames, z, pitch, vel, held) in enumerate(plan):
        key = (id(z), pitch, vel, held, frames, i in cut)
        if key not in made:
            left, right = voice(font, z, pitch, vel, held, sample_rate, frames)
            if i in cut:  # cut short by a newer voice: a short fade, not a click
                ramp = np.linspace(1.0, 0.0, min(fade, len(left)), dtype=np.float32)
                left[len(left) - len(ramp) :] *= ramp
                right[len(right) - len(ramp) :] *= ramp
            made[key] = (left, right)
        left, right = made[key]
        stop = min(start + len(left), n_frames)
        out[0, start:stop] += left[: stop - start]
        out[1, start:stop] += right[: stop - start]
    audio = out.T.astype(np.float32)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    return audio * np.float32(PEAK / peak) if peak > 0 else audio


def _steal(plan: list[list], fade: int) -> set[int]:
    """Cut voices so that at most ``MAX_VOICES`` sound at once; return the cut ones' indices.

    ``plan`` rows are ``[start, frames, ...]`` in start order; a cut voice's ``frames``
    is shortened in place to end ``fade`` frames after the start of the voice that took
    its place. The voice taken is the one that would end soonest (it loses the least).
    """
    sounding: list[tuple[int, int]] = []  # (end frame, index), a heap
    cut: set[int] = set()
    for i, row in enumerate(plan):
        start = row[0]
        while sounding and sounding[0][0] <= start:
            heapq.heappop(sounding)
        if len(sounding) >= MAX_VOICES:
            _, j = heapq.heappop(sounding)
            plan[j][1] = min(plan[j][1], start + fade - plan[j][0])
            cut.add(j)
        heapq.heappush(sounding, (start + row[1], i))
    return cut


def render_audio(
    score_or_midi_path: Score | Path | str,
    path: Path | str,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
) -> None:
    """Render a Score or a MIDI file to a 16-bit stereo WAV file, atomically.

    Each track plays its GM program (drums on the percussion bank) from TimGM6mb; the
    result is scaled to a peak of 0.9 full scale and ends ``TAIL_SECONDS`` after the
    last note-off (see :func:`synthesize`). Same input, same bytes.

    Parameters
    ----------
    score_or_midi_path
        A Score, or a MIDI file read with :func:`scorelab.io.midi.read_midi`.
    path
        Target ``.wav``; its folder is created.
    sample_rate
        Frames per second.

    Raises
    ------
    CorpusReadError
        If a MIDI path is given and cannot be read.
    """
    score = score_or_midi_path if isinstance(score_or_midi_path, Score) else read_midi(score_or_midi_path)
    write_wav(path, to_pcm(synthesize(score, sample_rate)), sample_rate)


def to_pcm(audio: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] (clipped) -> 16-bit integers, rounded to nearest."""
    return np.rint(np.clip(audio, -1.0, 1.0) * INT16_MAX).astype("<i2")


def write_wav(path: Path | str, pcm: np.ndarray, sample_rate: int) -> None:
    """16-bit samples, mono ``(frames,)`` or interleaved ``(frames, channels)``, to a WAV, atomically."""
    pcm = np.asarray(pcm)
    if pcm.dtype.kind != "i" or pcm.dtype.itemsize != SAMPLE_WIDTH or pcm.ndim not in (1, 2):
        raise ValueError(
            f"expected 16-bit samples (frames,) or (frames, channels), got {pcm.dtype} {pcm.shape}"
        )
    with atomic_path(path) as tmp:
        with wave.open(str(tmp), "wb") as out:
            out.setnchannels(1 if pcm.ndim == 1 else pcm.shape[1])
            out.setsampwidth(SAMPLE_WIDTH)
            out.setframerate(sample_rate)
            out.writeframes(pcm.astype("<i2").tobytes())


def read_wav(path: Path | str) -> tuple[np.ndarray, int]:
    """(16-bit samples, mono ``(frames,)`` or ``(frames, channels)``, sample rate) of a PCM WAV."""
    with wave.open(str(path), "rb") as f:
        if f.getsampwidth() != SAMPLE_WIDTH:
            raise ValueError(f"{path}: {8 * f.getsampwidth()}-bit samples; only 16-bit PCM is read")
        pcm = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
        channels, rate = f.getnchannels(), f.getframerate()
    return (pcm if channels == 1 else pcm.reshape(-1, channels)), rate
