"""``scorelab generate``: music from a checkpoint alone (no DVC, no params.yaml).

The checkpoint names its model, config and encoding, so this module rebuilds the codec
from it and writes MIDI files plus a roll picture to a folder of the user's choice.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scorelab.errors import ScorelabError
from scorelab.pipeline.sample import generate_melodies, generate_rolls


def _melody_windows(codec, melody_score) -> np.ndarray:
    """A melody's first track as (k, T, P) roll windows covering the whole melody."""
    desc = codec.describe()
    _, steps, _ = desc["shape"]
    first = melody_score.with_notes(
        melody_score.track_notes(0).assign(track=0), tracks=melody_score.tracks[:1]
    )
    roll = codec.encode(first)[0]  # (time, P)
    k = max(1, -(-roll.shape[0] // steps))
    padded = np.zeros((k * steps, roll.shape[1]), dtype=np.uint8)
    padded[: roll.shape[0]] = roll
    return padded.reshape(k, steps, roll.shape[1])


def generate_to_folder(
    checkpoint: Path,
    out: Path,
    *,
    n: int = 4,
    melody: Path | None = None,
    seed_melody: Path | None = None,
    temperature: float = 1.0,
    max_steps: int = 256,
    threshold: float = 0.5,
    seed: int = 0,
) -> list[Path]:
    """Write ``n`` generated pieces (or one accompanied melody) as MIDI + rolls.png into ``out``.

    Raises
    ------
    ScorelabError
        When an option does not fit the checkpoint's model family.
    """
    from scorelab.codecs import load_codec
    from scorelab.io.midi import read_midi, write_midi
    from scorelab.report.pictures import plot_rolls
    from scorelab.training import load_checkpoint

    ckpt = load_checkpoint(Path(checkpoint))
    codec = load_codec(ckpt.encoding)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    scores = []
    if ckpt.family == "adversarial":
        if seed_melody is not None:
            raise ScorelabError(f"{checkpoint}: --seed-melody is for likelihood models; use --melody")
        if melody is not None:
            windows = _melody_windows(codec, read_midi(melody))  # (k, T, P)
            rolls = generate_rolls(ckpt, codec, len(windows), seed, threshold, melody=windows)
            whole = np.concatenate(list(rolls), axis=1)  # (C, k*T, P)
            scores.append(codec.decode(whole, piece_id=f"{Path(melody).stem}_accompanied"))
        else:
            rolls = generate_rolls(ckpt, codec, n, seed, threshold)
            scores = [codec.decode(r, piece_id=f"generated_{i:03d}") for i, r in enumerate(rolls)]
    else:
        if melody is not None:
            raise ScorelabError(f"{checkpoint}: --melody is for accompaniment models; use --seed-melody")
        if seed_melody is not None:
            seeds = [codec.encode(read_midi(seed_melody))] * n
        else:
            seeds = [np.zeros(0, dtype=np.int64)] * n  # from nothing: the model's own start
        ids = generate_melodies(ckpt, codec, seeds, seed, temperature, max_steps)
        scores = [codec.decode(x, piece_id=f"generated_{i:03d}") for i, x in enumerate(ids)]
    written = []
    for s in scores:
        path = out / f"{s.piece_id}.mid"
        write_midi(s, path)
        written.append(path)
    plot_rolls(scores, out / "rolls.png", title=Path(checkpoint).parent.name)
    written.append(out / "rolls.png")
    return written
