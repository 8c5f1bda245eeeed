"""Every variant of params.yaml: two training steps, then sample -> decode -> Score, on tiny data.

Each dataset of params.yaml is encoded with its own codec and settings from hand-written
four-voice pieces; each variant then runs through the real stage functions on the
``tiny`` profile (``run_train`` with two steps, ``run_sample``), and its samples must
read back as Scores. A new variant in params.yaml is covered without touching this file.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from scorelab.codecs import get_codec
from scorelab.conf import compose
from scorelab.io.audio import read_wav
from scorelab.params import resolve_dataset
from scorelab.pipeline.sample import run_sample
from scorelab.pipeline.train import run_train
from scorelab.score import Score, read_notes
from scorelab.training.checkpoint import load_checkpoint
from scorelab.validation import validate
from tiny_datasets import encode_datasets

REPO = Path(__file__).resolve().parents[1]
# params.yaml as conf/ composes it: every variant is in the default run
PARAMS = compose(REPO / "conf")


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> dict[str, Path]:
    """Every dataset of params.yaml, encoded from the same hand-written pieces."""
    return encode_datasets(PARAMS, tmp_path_factory.mktemp("datasets"))


@pytest.mark.parametrize("name", list(PARAMS["variants"]))
def test_variant_trains_two_steps_and_samples_scores(name, datasets, tmp_path):
    params = copy.deepcopy(PARAMS)
    params["base"]["profile"] = "tiny"
    validate(params)
    data = datasets[params["variants"][name]["dataset"]]
    ckpt_path = run_train(
        params, name, data, tmp_path / "model", tmp_path / "logs", max_steps=2, progress=False
    )
    ckpt = load_checkpoint(ckpt_path)
    assert ckpt.trainer == params["variants"][name]["trainer"] and 1 <= ckpt.step <= 2
    rows = (tmp_path / "logs" / "train_log.tsv").read_text().splitlines()[1:]
    assert len(rows) == ckpt.step
    counts = run_sample(params, name, tmp_path / "model", data, tmp_path / "samples")
    assert counts["samples"] == params["profiles"]["tiny"]["sample"]["n"]
    if get_codec(*resolve_dataset(params, params["variants"][name]["dataset"])[1:]).output == "audio":
        # audio out: each set's reconstruction and its input as WAVs of the codec's rate
        for set_name in counts:
            pcm, rate = read_wav(tmp_path / "samples" / "audio" / f"{set_name}_output.wav")
            ref, _ = read_wav(tmp_path / "samples" / "audio" / f"{set_name}_input.wav")
            assert rate == 44100 and len(pcm) == len(ref) == counts[set_name] * 256 * 256
        assert set(counts) == {"samples", "transfer"}
        return
    scores = read_notes(tmp_path / "samples")
    assert len(scores) == sum(counts.values())
    assert all(isinstance(s, Score) and len(s.tracks) >= 1 for s in scores)
    assert any(len(s.notes) for s in scores) or params["variants"][name]["trainer"] != "likelihood"
    assert len(list((tmp_path / "samples" / "midi").glob("*.mid"))) == len(scores)
    assert np.isfinite([float(v) for r in rows for v in r.split("\t")[:2]]).all()
