"""Score (or MIDI file) -> 16-bit stereo WAV, with TinySoundFont and a bundled GM soundfont.

The soundfont is ``TimGM6mb.sf2``, which ships inside the pretty_midi wheel, so audio
needs no download and no system synthesizer. Notes are scheduled at sample-exact frames
from the Score's seconds and the synthesizer is driven directly (no real-time thread),
so the same Score gives the same bytes.
"""

from __future__ import annotations

import importlib.util
import wave
from pathlib import Path

import numpy as np

from scorelab.io.midi import assign_channels, read_midi
from scorelab.score import Score
from scorelab.utils import atomic_path

DEFAULT_SAMPLE_RATE = 22050  # Hz
TAIL_SECONDS = 1.0  # rendered after the last note-off, so releases decay instead of clicking
PEAK = 0.9  # output is scaled so its loudest sample is 0.9 of full scale (about -1 dBFS)
STEREO = 2
SAMPLE_WIDTH = 2  # bytes: 16-bit PCM
INT16_MAX = 32767
SOUNDFONT_NAME = "TimGM6mb.sf2"


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


def synthesize(score: Score, sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """Render ``score`` to float32 stereo samples, shape (frames, 2), peak-normalised.

    The length is the last note-off plus ``TAIL_SECONDS``, i.e.
    ``round(max(onset_s + duration_s) * sample_rate) + round(TAIL_SECONDS * sample_rate)``
    frames (just the tail for an empty score, which renders silence).
    """
    import tinysoundfont

    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be > 0, got {sample_rate}")
    synth = tinysoundfont.Synth(samplerate=sample_rate)
    sfid = synth.sfload(str(soundfont_path()))
    channels = np.array(assign_channels(score.tracks) or [0], dtype=np.int64)
    for track, channel in zip(score.tracks, channels.tolist(), strict=False):
        synth.program_select(channel, sfid, 0, track.program, is_drums=track.is_drum)

    notes = score.notes
    onset_s = notes["onset_s"].to_numpy(np.float64)
    on = np.rint(onset_s * sample_rate).astype(np.int64)
    off = np.rint((onset_s + notes["duration_s"].to_numpy(np.float64)) * sample_rate).astype(np.int64)
    off = np.maximum(off, on + 1)
    n_frames = int(off.max() if len(off) else 0) + round(TAIL_SECONDS * sample_rate)
    frame = np.concatenate([off, on])
    is_on = np.concatenate([np.zeros(len(off), np.int64), np.ones(len(on), np.int64)])
    channel = np.tile(channels[notes["track"].to_numpy(np.int64)], 2)
    pitch = np.tile(notes["pitch"].to_numpy(np.int64), 2)
    velocity = np.tile(notes["velocity"].to_numpy(np.int64), 2)
    order = np.lexsort((pitch, channel, is_on, frame))  # offs first: a repeated pitch re-strikes

    chunks, now = [], 0
    events = zip(*(a[order].tolist() for a in (frame, is_on, channel, pitch, velocity)), strict=True)
    for f, o, c, p, v in events:
        if f > now:
            chunks.append(np.frombuffer(synth.generate_simple(f - now), dtype=np.float32))
            now = f
        if o:
            synth.noteon(c, p, max(v, 1))
        else:
            synth.noteoff(c, p)
    if n_frames > now:
        chunks.append(np.frombuffer(synth.generate_simple(n_frames - now), dtype=np.float32))
    audio = np.concatenate(chunks).reshape(-1, STEREO) if chunks else np.zeros((0, STEREO), np.float32)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    return audio * np.float32(PEAK / peak) if peak > 0 else audio


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
