"""``scorelab generate``: music from a checkpoint alone (no DVC, no params.yaml).

The checkpoint names its model, trainer, config and encoding, so this module rebuilds
the codec from it, asks the trainer's ``sample`` for items and writes MIDI files plus a
roll picture to a folder of the user's choice. Options map onto the trainer's sampling
settings; one that the trainer does not take is refused with the reason.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from scorelab.errors import ScorelabError
from scorelab.pipeline.sample import decode_items, sample_sets


def _melody_windows(codec, melody_score) -> np.ndarray:
    """A melody's first track as roll windows (k, C, T, P) covering it, the melody in track 0."""
    desc = codec.describe()
    c, steps, _ = desc["shape"]
    first = melody_score.with_notes(
        melody_score.track_notes(0).assign(track=0), tracks=melody_score.tracks[:1]
    )
    roll = codec.encode(first)[0]  # (time, P)
    k = max(1, -(-roll.shape[0] // steps))
    windows = np.zeros((k, c, steps, roll.shape[1]), dtype=np.uint8)
    padded = np.zeros((k * steps, roll.shape[1]), dtype=np.uint8)
    padded[: roll.shape[0]] = roll
    windows[:, 0] = padded.reshape(k, steps, roll.shape[1])
    return windows


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
        When an option does not fit the checkpoint's trainer (``--melody`` needs a
        conditional generator, ``--seed-melody`` a sequence model).
    """
    from scorelab.codecs import load_codec
    from scorelab.io.midi import read_midi, write_midi
    from scorelab.pictures import plot_rolls
    from scorelab.training.checkpoint import load_checkpoint
    from scorelab.training.registry import get_trainer

    ckpt = load_checkpoint(Path(checkpoint))
    codec = load_codec(ckpt.encoding)
    takes = {f.name for f in dataclasses.fields(get_trainer(ckpt.trainer).sample_config)}
    wanted = {"n": n, "threshold": threshold, "temperature": temperature, "max_steps": max_steps}
    settings = {k: v for k, v in wanted.items() if k in takes}
    test: dict[str, np.ndarray] = {}
    if melody is not None:
        if "accompaniment" not in takes:
            raise ScorelabError(
                f"{checkpoint}: --melody needs a generator that accompanies; use --seed-melody"
            )
        test = {"x": _melody_windows(codec, read_midi(melody))}
        settings.update(n=0, accompaniment=len(test["x"]))
    elif "seed_steps" in takes:
        ids = codec.encode(read_midi(seed_melody)) if seed_melody is not None else np.zeros(0, np.int64)
        test = {"x": ids, "song_starts": np.array([0]), "song_lengths": np.array([len(ids)])}
        settings["seed_steps"] = len(ids)  # from nothing when empty: the model's own start
    elif seed_melody is not None:
        raise ScorelabError(f"{checkpoint}: --seed-melody is for sequence models; use --melody")
    sets = sample_sets(ckpt, settings, test, seed, where="generate")
    if melody is not None:
        whole = np.concatenate(list(sets["accompaniment"].items), axis=1)  # (C, k*T, P)
        scores = [codec.decode(whole, piece_id=f"{Path(melody).stem}_accompanied")]
    else:
        scores = decode_items(codec, sets["samples"].items, "generated")  # generated_000, ...
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for s in scores:
        path = out / f"{s.piece_id}.mid"
        write_midi(s, path)
        written.append(path)
    plot_rolls(scores, out / "rolls.png", title=Path(checkpoint).parent.name)
    written.append(out / "rolls.png")
    return written
