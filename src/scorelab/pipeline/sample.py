"""sample@<variant>: checkpoint -> Scores as tensors, Parquet, MIDI, audio, pictures.

The checkpoint names its trainer, whose ``sample`` makes the items of each sample set
(``samples``, and ``accompaniment`` for conditional generators); the dataset's codec
decodes each item to a Score. Nothing here branches on a kind of model; what is written
follows what the codec decodes to (``Codec.output``): Scores (MIDI, notes, rolls, WAVs),
or audio (S3's Hilbert curves: each set's items and their ``reference`` inputs joined
into one WAV each, ``audio/<set>_input.wav`` and ``audio/<set>_output.wav``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from scorelab.score import Score, write_notes
from scorelab.utils import atomic_dir, load_npz, save_npz

PREFIX = {"samples": "sample", "accompaniment": "accomp"}  # piece ids: sample_000, accomp_000
MAIN_SET = "samples"
PROGRESS_DIR = "progress"  # in the samples folder: the main set sampled from every snapshot


# Pieces of the main set sampled at each point of the quality curve (at most the set's n).
# The curve sizes each quick run (issue 20); with the final set's 100 pieces at 8 points its
# sampling was two thirds of an autoregressive model's sample stage (S4's LSTM: 37 of 50 s).
PROGRESS_PIECES = 50


def progress_settings(settings: dict) -> dict:
    """``settings`` with every set's size (``n``, ``accompaniment``) cut to :data:`PROGRESS_PIECES`."""
    out = dict(settings)
    for key in ("n", "accompaniment"):
        if isinstance(out.get(key), int) and out[key] > PROGRESS_PIECES:
            out[key] = PROGRESS_PIECES
    return out


def progress_scores(ckpt_paths, settings: dict, test: dict, seed: int, codec, where: str, device: str):
    """The main set sampled, with the final samples' seed and :data:`PROGRESS_PIECES` pieces,
    from each snapshot and from the final checkpoint (the last of ``ckpt_paths``): Scores
    whose split is ``step_<step>`` (the quality log's points; :mod:`scorelab.training.runlog`),
    every point the same noise through other weights."""
    from scorelab.training.checkpoint import load_checkpoint

    out = []
    for path in ckpt_paths:
        ckpt = load_checkpoint(path)
        sets = sample_sets(ckpt, progress_settings(settings), test, seed, where, device=device)
        out += at_step(decode_items(codec, sets[MAIN_SET].items, MAIN_SET), ckpt.step)
    return out


def at_step(scores, step: int) -> list:
    """Copies of ``scores`` in split ``step_<step>``, their piece ids prefixed so every
    point's pieces stay distinct in one notes table."""
    import dataclasses

    tag = f"step_{step:07d}"
    return [dataclasses.replace(s, piece_id=f"{tag}/{s.piece_id}", split=tag) for s in scores]


def pack_items(items) -> dict[str, np.ndarray]:
    """Items as npz arrays: stacked ``x`` when they share a shape, else flat ``x`` + ``starts``."""
    items = list(items)
    if items and all(np.shape(i) == np.shape(items[0]) for i in items):
        return {"x": np.stack(items)}
    flat = np.concatenate(items) if items else np.zeros(0, dtype=np.int64)
    return {"x": flat, "starts": np.cumsum([0] + [len(i) for i in items])[:-1].astype(np.int64)}


def decode_items(codec, items, set_name: str) -> list[Score]:
    """Each generated item decoded by the codec, named ``{prefix}_{i:03d}`` and put in split ``set_name``."""
    scores = []
    for i, item in enumerate(items):
        s = codec.decode(np.asarray(item), piece_id=f"{PREFIX.get(set_name, set_name)}_{i:03d}")
        s.split = set_name
        scores.append(s)
    return scores


def sample_sets(
    ckpt, settings: dict, test: dict, seed: int, where: str = "sample", device: str = "auto"
) -> dict:
    """Run the checkpoint's trainer's ``sample`` with strictly checked ``settings``.

    ``device``: ``base.device`` (auto: CUDA when present, else the CPU).
    """
    from scorelab.config import from_dict
    from scorelab.training.device import pick_device
    from scorelab.training.registry import get_trainer

    trainer = get_trainer(ckpt.trainer)
    cfg = from_dict(trainer.sample_config, settings, where)
    device = pick_device(device)
    return trainer.sample(ckpt.build(device), cfg, ckpt, test, seed, device)


def write_sample_set(out_dir: Path, set_name: str, scores: list[Score], arrays: dict, title: str) -> None:
    """Write one set: ``{set}.npz`` tensors, MIDI per piece, and the first ``SAMPLES_SHOWN``
    pieces drawn as piano rolls and rendered as WAVs (the same pieces: what the report
    shows can be heard)."""
    from scorelab.io.audio import render_audio
    from scorelab.io.midi import write_midi
    from scorelab.pictures import SAMPLES_SHOWN, plot_rolls
    from scorelab.workers import draw

    save_npz(out_dir / f"{set_name}.npz", arrays)
    (out_dir / "midi").mkdir(exist_ok=True)
    (out_dir / "audio").mkdir(exist_ok=True)
    # the clips and the picture in the stage's worker processes when it has them
    # (scorelab.workers), while this one writes the MIDI files
    for s in scores[:SAMPLES_SHOWN]:
        draw(render_audio, s, out_dir / "audio" / f"{s.piece_id}.wav")
    png = "rolls.png" if set_name == "samples" else f"{set_name}.png"
    draw(plot_rolls, scores[:SAMPLES_SHOWN], out_dir / png, title=f"{title}: {set_name}")
    for s in scores:
        write_midi(s, out_dir / "midi" / f"{s.piece_id}.mid")


def write_audio_set(out_dir: Path, set_name: str, codec, items, arrays: dict) -> None:
    """Write one set of an audio codec: ``{set}.npz`` and the items (and their inputs) as WAVs."""
    from scorelab.io.audio import write_wav

    save_npz(out_dir / f"{set_name}.npz", arrays)
    (out_dir / "audio").mkdir(exist_ok=True)
    rate = int(codec.config.sample_rate)
    write_wav(out_dir / "audio" / f"{set_name}_output.wav", codec.decode(np.asarray(items)), rate)
    if "reference" in arrays:
        write_wav(out_dir / "audio" / f"{set_name}_input.wav", codec.decode(arrays["reference"]), rate)


def run_sample(params: dict, name: str, model_dir: Path, data_dir: Path, out: Path) -> dict:
    """Sample variant ``name`` into ``out`` as its params (with the profile) ask.

    Returns {set name: number of pieces}.
    """
    from scorelab.codecs import load_codec
    from scorelab.compute import apply_threads, pin_cpu
    from scorelab.params import resolve_compute, resolve_sample
    from scorelab.training.checkpoint import load_checkpoint
    from scorelab.training.runlog import SNAPSHOT_DIR
    from scorelab.workers import finish

    pin_cpu(resolve_compute(params))
    apply_threads(resolve_compute(params))

    data_dir, model_dir = Path(data_dir), Path(model_dir)
    ckpt = load_checkpoint(model_dir / "checkpoint.pt")
    codec = load_codec(data_dir / "encoding.json")
    test = load_npz(data_dir / "test.npz")
    settings, seed = resolve_sample(params, name), params["base"]["seed"]
    device = params["base"].get("device", "auto")
    sets = sample_sets(ckpt, settings, test, seed, f"variants.{name}.sample", device=device)
    written: dict[str, list] = {}
    with atomic_dir(out) as tmp:
        shutil.copyfile(data_dir / "encoding.json", tmp / "encoding.json")
        for set_name, sset in sets.items():
            if codec.output == "audio":
                write_audio_set(tmp, set_name, codec, sset.items, {**pack_items(sset.items), **sset.extra})
                written[set_name] = list(sset.items)
                continue
            scores = decode_items(codec, sset.items, set_name)
            write_sample_set(tmp, set_name, scores, {**pack_items(sset.items), **sset.extra}, title=name)
            written[set_name] = scores
        # every clip and picture written before the quality curve's sampling: torch then
        # has both cores again (and before the folder takes out's place)
        finish()
        if codec.output == "score":
            write_notes(tmp, [s for scores in written.values() for s in scores])
            snapshots = sorted((model_dir / SNAPSHOT_DIR).glob("step_*.pt"))
            if MAIN_SET in written:
                progress = progress_scores(
                    [*snapshots, model_dir / "checkpoint.pt"],
                    settings,
                    test,
                    seed,
                    codec,
                    f"variants.{name}.sample",
                    device,
                )
                write_notes(tmp / PROGRESS_DIR, progress)
    return {k: len(v) for k, v in written.items()}
