"""sample_<family>@<variant>: checkpoint -> Scores as tensors, Parquet, MIDI, audio, pictures.

Also the functions behind ``scorelab generate``, which gives a user music from a
trained checkpoint without DVC: everything needed (model name, config, encoding) is
read from the checkpoint itself, never from params.yaml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from scorelab.score import Score, write_notes
from scorelab.utils import atomic_dir, load_npz, save_npz

AUDIO_PER_SET = 4  # WAV renders per sample set: enough to listen to, small in the cache


def rolls_to_scores(rolls: np.ndarray, codec, prefix: str, split: str) -> list[Score]:
    """Binary rolls (n, C, T, P) -> Scores named ``{prefix}_{i:03d}``."""
    out = []
    for i, roll in enumerate(rolls):
        s = codec.decode(roll, piece_id=f"{prefix}_{i:03d}")
        s.split = split
        out.append(s)
    return out


def generate_rolls(ckpt, codec, n: int, seed: int, threshold: float, melody: np.ndarray | None = None):
    """Sample ``n`` rolls (unconditional, or accompaniment for ``melody`` (n, T, P)).

    Returns the binary rolls (n, C, T, P) as uint8; probabilities >= threshold are on.
    """
    from scorelab.sampling import sample_rolls

    probs = sample_rolls(ckpt, n, seed, melody=melody)  # (n, C, T, P)
    return (probs >= threshold).astype(np.uint8)


def generate_melodies(ckpt, codec, seeds: list[np.ndarray], seed: int, temperature: float, max_steps: int):
    """Continue each seed melody (token ids) with temperature sampling; returns seed + continuation.

    As in S4's generator, the model sees a run of delimiter symbols before the seed, the
    context every training song starts from, so an empty seed is a melody from scratch.
    """
    from scorelab.sampling import sample_tokens

    desc = codec.describe()
    delim = np.full(desc["delimiter_length"], desc["delimiter_id"], dtype=np.int64)
    conts = sample_tokens(
        ckpt,
        len(seeds),
        seed,
        seed_ids=[np.concatenate([delim, s]) for s in seeds],
        temperature=temperature,
        max_steps=max_steps,
        stop_id=desc["delimiter_id"],
        min_steps=1 if any(len(s) == 0 for s in seeds) else 0,  # from nothing: at least a symbol
    )
    return [np.concatenate([s, c]).astype(np.int64) for s, c in zip(seeds, conts, strict=True)]


def write_sample_set(out_dir: Path, set_name: str, scores: list[Score], arrays: dict, title: str) -> None:
    """Write one set: ``{set}.npz`` tensors, MIDI per piece, a roll picture, a few WAVs."""
    from scorelab.io.audio import render_audio
    from scorelab.io.midi import write_midi
    from scorelab.report.pictures import plot_rolls

    save_npz(out_dir / f"{set_name}.npz", arrays)
    (out_dir / "midi").mkdir(exist_ok=True)
    (out_dir / "audio").mkdir(exist_ok=True)
    for i, s in enumerate(scores):
        write_midi(s, out_dir / "midi" / f"{s.piece_id}.mid")
        if i < AUDIO_PER_SET:
            render_audio(s, out_dir / "audio" / f"{s.piece_id}.wav")
    png = "rolls.png" if set_name == "samples" else f"{set_name}.png"
    plot_rolls(scores, out_dir / png, title=f"{title}: {set_name}")


def evenly_spaced(n_items: int, k: int) -> np.ndarray:
    """``k`` indices spread over ``range(n_items)`` (deterministic, covers the whole set)."""
    k = min(k, n_items)
    return np.linspace(0, n_items - 1, num=k).round().astype(int) if k else np.zeros(0, dtype=int)


def run_sample(params: dict, family: str, name: str, model_dir: Path, data_dir: Path, out: Path) -> dict:
    """Sample variant ``name`` into ``out`` as its params (with the profile) ask.

    Adversarial variants write ``samples`` (unconditional) and ``accompaniment``
    (alto/tenor/bass generated for soprano melodies of evenly spaced test windows);
    likelihood variants write ``samples``: melodies continued from the first
    ``seed_steps`` grid steps of test songs (the seed bar is kept in the melody, as S4
    does). Returns {set name: number of pieces}.
    """
    from scorelab.codecs import load_codec
    from scorelab.params import resolve_sample
    from scorelab.training import load_checkpoint

    cfg = resolve_sample(params, family, name)
    seed = params["base"]["seed"]
    data_dir, model_dir = Path(data_dir), Path(model_dir)
    ckpt = load_checkpoint(model_dir / "checkpoint.pt")
    codec = load_codec(data_dir / "encoding.json")
    test = load_npz(data_dir / "test.npz")
    sets: dict[str, tuple[list[Score], dict]] = {}
    if family == "adversarial":
        rolls = generate_rolls(ckpt, codec, cfg["n"], seed, cfg["threshold"])
        sets["samples"] = (rolls_to_scores(rolls, codec, "sample", "samples"), {"x": rolls})
        if cfg.get("accompaniment", 0):
            idx = evenly_spaced(len(test["x"]), cfg["accompaniment"])
            melody = test["x"][idx, 0]  # (k, T, P) soprano of test windows
            acc = generate_rolls(ckpt, codec, len(idx), seed + 1, cfg["threshold"], melody=melody)
            arrays = {"x": acc, "reference": test["x"][idx], "test_index": idx}
            sets["accompaniment"] = (rolls_to_scores(acc, codec, "accomp", "accompaniment"), arrays)
    else:
        starts, lengths = test["song_starts"], test["song_lengths"]
        idx = evenly_spaced(len(starts), cfg["n"])
        idx = np.resize(idx, cfg["n"])  # fewer test songs than samples: reuse seeds
        seeds = [test["x"][starts[i] : starts[i] + min(cfg["seed_steps"], lengths[i])] for i in idx]
        ids = generate_melodies(ckpt, codec, seeds, seed, cfg["temperature"], cfg["max_steps"])
        scores = []
        for i, x in enumerate(ids):
            s = codec.decode(x, piece_id=f"sample_{i:03d}")
            s.split = "samples"
            scores.append(s)
        flat = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
        offsets = np.cumsum([0] + [len(x) for x in ids])[:-1]
        sets["samples"] = (scores, {"x": flat, "starts": offsets, "seed_index": idx})
    with atomic_dir(out) as tmp:
        shutil.copyfile(data_dir / "encoding.json", tmp / "encoding.json")
        for set_name, (scores, arrays) in sets.items():
            write_sample_set(tmp, set_name, scores, arrays, title=name)
        write_notes(tmp, [s for scores, _ in sets.values() for s in scores])
    return {k: len(v[0]) for k, v in sets.items()}
