"""evaluate_*: real data and generated samples -> flat metrics JSON, one file per set.

Real data is scored in the same form as the samples: the encoded windows/songs decoded
back to Scores, so both sides of every comparison went through the same grid.
"""

from __future__ import annotations

from pathlib import Path

from scorelab.score import read_notes
from scorelab.utils import atomic_dir, load_npz, write_json

EVALUATED_SPLITS = ("train", "test")
NOISE_PIECES = 64  # pieces of the naive baseline scored beside the data


def _grid(codec) -> tuple[int, int | None]:
    """(ticks per grid step, bars per item or None) from a codec's description."""
    desc = codec.describe()
    return int(desc["step_ticks"]), desc.get("bars_per_sample")


def run_evaluate_data(params: dict, name: str, data_dir: Path, out: Path) -> dict:
    """Score the train and test sets of dataset ``name``: ``out/{train,test}.json``.

    Also ``out/noise.json``: the codec's naive baseline fitted to the training split
    (random cells or symbols with the data's marginal rates, seeded by ``base.seed``),
    so every report shows what "better than noise" means for each metric.
    """
    from scorelab.codecs import load_codec
    from scorelab.metrics import evaluate_set

    data_dir = Path(data_dir)
    codec = load_codec(data_dir / "encoding.json")
    step_ticks, n_bars = _grid(codec)
    results = {}
    with atomic_dir(out) as tmp:
        for split in EVALUATED_SPLITS:
            scores = codec.decode_split(load_npz(data_dir / f"{split}.npz"))
            m = evaluate_set(scores, step_ticks, params["evaluate"]["qn_min_steps"], n_bars=n_bars)
            write_json(tmp / f"{split}.json", m)
            results[split] = m
            if split == "train":
                noise = codec.noise(load_npz(data_dir / "train.npz"), NOISE_PIECES, params["base"]["seed"])
                m = evaluate_set(noise, step_ticks, params["evaluate"]["qn_min_steps"], n_bars=n_bars)
                write_json(tmp / "noise.json", m)
                results["noise"] = m
    return results


def run_evaluate_variant(params: dict, name: str, samples_dir: Path, out: Path) -> dict:
    """Score every sample set of variant ``name``: ``out/<set>.json`` (samples, accompaniment)."""
    from scorelab.codecs import load_codec
    from scorelab.metrics import evaluate_set

    samples_dir = Path(samples_dir)
    codec = load_codec(samples_dir / "encoding.json")
    step_ticks, n_bars = _grid(codec)
    scores = read_notes(samples_dir)
    results = {}
    with atomic_dir(out) as tmp:
        for set_name in sorted({s.split for s in scores}):
            subset = [s for s in scores if s.split == set_name]
            m = evaluate_set(subset, step_ticks, params["evaluate"]["qn_min_steps"], n_bars=n_bars)
            write_json(tmp / f"{set_name}.json", m)
            results[set_name] = m
    return results
