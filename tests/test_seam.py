"""The training seam: a new model and a new trainer, registered here, run through the real stages.

Nothing in scorelab knows the toy model or the toy trainer below; they are registered
from this file, named in a params mapping, validated by params.py, trained by
``run_train``, sampled by ``run_sample`` and scored by ``run_evaluate_variant``, the same
functions the DVC stages call. If this needs a change in ``pipeline/``, the seam is wrong.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn
from torch.nn import functional as F

from scorelab.codecs import get_codec
from scorelab.models import MODELS, register_model
from scorelab.pipeline.evaluate import run_evaluate_data, run_evaluate_variant
from scorelab.pipeline.sample import run_sample
from scorelab.pipeline.train import run_train
from scorelab.score import Score, Track, read_notes
from scorelab.training.checkpoint import load_checkpoint
from scorelab.training.registry import TRAINERS, SampleSet, Trainer, register_trainer
from scorelab.utils import save_npz
from scorelab.validation import validate

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ToyArch:
    init: float = -2.0


class CellLogits(nn.Module):
    """One logit per roll cell: the simplest thing that can learn a roll distribution."""

    def __init__(self, arch: ToyArch, shape: tuple[int, ...]):
        super().__init__()
        self.logits = nn.Parameter(torch.full(shape, arch.init))


def build_toy(arch: ToyArch, encoding: dict) -> dict[str, nn.Module]:
    return {"model": CellLogits(arch, tuple(encoding["shape"]))}


@dataclass(frozen=True)
class ToyConfig:
    steps: int
    lr: float = 0.1
    checkpoint_every: int = 2


@dataclass(frozen=True)
class ToySampleConfig:
    n: int


def fit_toy(run, cfg: ToyConfig, data: dict) -> None:
    model = run.modules["model"]
    x = run.tensor(data["train"]["x"]).float()  # (N, C, T, P)
    opt = run.optimizer("model", torch.optim.Adam(model.parameters(), lr=cfg.lr))
    log = run.log("train", ("step", "bce"))
    run.resume()
    for step in run.steps(cfg.steps, cfg.checkpoint_every, dict):
        loss = F.binary_cross_entropy_with_logits(model.logits.expand_as(x), x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        log.append(step, loss.item())


def sample_toy(modules, cfg: ToySampleConfig, ckpt, test, seed, device) -> dict:
    p = torch.sigmoid(modules["model"].logits.detach().cpu())
    rng = torch.Generator().manual_seed(seed)
    items = (torch.rand((cfg.n, *p.shape), generator=rng) < p).to(torch.uint8).numpy()
    return {"samples": SampleSet(items, {})}


@pytest.fixture
def toy_registered():
    register_model("toy_cells", ToyArch, build_toy)
    register_trainer(
        Trainer("toy_mle", ToyConfig, ToySampleConfig, ("model",), ("train",), fit_toy, sample_toy)
    )
    yield
    MODELS.pop("toy_cells")
    TRAINERS.pop("toy_mle")


def encoded_dataset(root: Path) -> Path:
    """A real pianoroll dataset of hand-written 2-voice pieces: every split, encoding.json."""
    codec = get_codec("pianoroll", {"bars_per_sample": 1, "pitch_low": 56, "pitch_high": 72})
    scores = []
    for i in range(6):
        rows = [(0, 60 + i % 3, 0, 48), (0, 64, 48, 48), (1, 57, 0, 96)]
        scores.append(Score.from_notes(rows, tracks=[Track("upper"), Track("lower")], piece_id=f"p{i}"))
    out = root / "data"
    out.mkdir()
    for split in ("train", "valid", "test"):
        arrays, _ = codec.encode_split(scores)
        save_npz(out / f"{split}.npz", arrays)
    codec.save(out)
    return out


def test_a_registered_model_and_trainer_run_through_the_pipeline(toy_registered, tmp_path, monkeypatch):
    params = copy.deepcopy(yaml.safe_load((REPO / "params.yaml").read_text()))
    params["variants"]["toy"] = {
        "trainer": "toy_mle",
        "defaults": "shared.none",
        "dataset": "jsb_roll",
        "model": "toy_cells",
        "arch": {"init": -1.0},
        "train": {"steps": 30},
        "quick": {},
        "paper": {"steps": 300},
        "tiny": {"steps": 2},
        "sample": {"n": 5},
    }
    validate(params)  # params.py takes the new trainer's and model's configs with no change
    bad = copy.deepcopy(params)
    bad["variants"]["toy"]["train"]["stepz"] = 1
    with pytest.raises(ValueError, match="toy.train.*stepz"):
        validate(bad)

    data = encoded_dataset(tmp_path)
    ckpt_path = run_train(params, "toy", data, tmp_path / "models", tmp_path / "logs", progress=False)
    ckpt = load_checkpoint(ckpt_path)
    assert (ckpt.model_name, ckpt.trainer, ckpt.step) == ("toy_cells", "toy_mle", 30)
    losses = [
        float(r.split("\t")[1]) for r in (tmp_path / "logs" / "train_log.tsv").read_text().splitlines()[1:]
    ]
    assert len(losses) == 30 and losses[-1] < losses[0]  # it learned

    counts = run_sample(params, "toy", tmp_path / "models", data, tmp_path / "samples")
    assert counts == {"samples": 5}
    assert len(list((tmp_path / "samples" / "midi").glob("*.mid"))) == 5
    scores = read_notes(tmp_path / "samples")
    assert len(scores) == 5 and all(len(s.tracks) == 2 for s in scores)

    run_evaluate_data(params, "toy_data", data, tmp_path / "metrics/data", tmp_path / "evaluation/data")
    metrics = run_evaluate_variant(
        params,
        "toy",
        tmp_path / "samples",
        data,
        tmp_path / "evaluation/data",
        tmp_path / "metrics/variants",
        tmp_path / "evaluation/variants",
    )
    assert set(metrics) == {"samples"} and metrics["samples"].n_pieces == 5
    assert np.isfinite(metrics["samples"].value("unique_pitches"))
    assert (tmp_path / "evaluation/variants/samples.compare.json").is_file()

    # the stages' worker processes (scorelab.workers: stages/sample.py and stages/evaluate.py
    # open them) write the same bytes: the clips, the picture and the quality curve made there
    from scorelab import workers

    monkeypatch.setattr(workers.os, "cpu_count", lambda: 2)
    before = workers.pooled
    with workers.workers():
        run_sample(params, "toy", tmp_path / "models", data, tmp_path / "pooled/samples")
        run_evaluate_variant(
            params,
            "toy",
            tmp_path / "pooled/samples",
            data,
            tmp_path / "evaluation/data",
            tmp_path / "pooled/metrics",
            tmp_path / "pooled/evaluation",
        )
    assert workers.pooled - before == 5 + 1 + 1  # 5 clips, the rolls, the quality curve
    for one, pooled in [("samples", "pooled/samples"), ("metrics/variants", "pooled/metrics"),
                        ("evaluation/variants", "pooled/evaluation")]:  # fmt: skip
        files = _files(tmp_path / one)
        assert files == _files(tmp_path / pooled)
        for f in files:
            assert (tmp_path / one / f).read_bytes() == (tmp_path / pooled / f).read_bytes(), f


def _files(root: Path) -> list[Path]:
    """Every file under ``root``, relative to it, sorted."""
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_given_tracks_leave_the_scored_set():
    """S0's accompaniment is scored on its generated voices alone: the melody is neither a
    note nor an empty track (EB of a full 3-voice accompaniment is 0, not 25 %).
    """
    from scorelab.metrics import evaluate_scores
    from scorelab.pipeline.evaluate import without_tracks
    from scorelab.score import Score, Track

    rows = [(t, 60 + 4 * t, 0, 96) for t in range(4)]
    s = Score.from_notes(rows, tracks=[Track(n) for n in ("s", "a", "t", "b")])
    (voices,) = without_tracks([s], [0])
    assert [t.name for t in voices.tracks] == ["a", "t", "b"]
    assert voices.notes["track"].tolist() == [0, 1, 2] and voices.notes["pitch"].tolist() == [64, 68, 72]
    assert evaluate_scores([voices], n_bars=1).stats["EB"]["value"] == 0.0
