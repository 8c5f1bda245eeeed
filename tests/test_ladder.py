"""The JSB likelihood ladder (issue 24): the frame NLL by hand, the naive references on the
real split, the frames codec, the NADE as a distribution, and the ladder's variants through
the real train, sample, evaluate and report functions."""

from __future__ import annotations

import copy
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from ladder_fixture import read_fixture
from scorelab.codecs.frames import FramesCodec
from scorelab.conf import compose
from scorelab.corpora.jsb import chord_frames_notes
from scorelab.metrics.likelihood import (
    frame_nll,
    independent_keys,
    key_markov,
    ladder_references,
    log_bernoulli,
    reference_probabilities,
)
from scorelab.models.frame_rnn import FrameRNN, FrameRNNArch
from scorelab.score import Score, Track
from scorelab.training.frames import padded, split_nll
from tiny_datasets import encode_datasets

REPO = Path(__file__).resolve().parents[1]
PAPERS = compose(REPO / "conf", catalogues=["papers"])
LADDER = [v for v, spec in PAPERS["variants"].items() if spec["trainer"] == "frames"]


# The number ------------------------------------------------------------------------------


def test_frame_nll_of_three_frames_by_hand():
    x = np.array([[1, 0], [0, 1], [1, 1]])
    p = np.array([[0.5, 0.5], [0.25, 0.8], [0.9, 0.1]])
    # -(ln .5 + ln .5 + ln .75 + ln .8 + ln .9 + ln .1) / 3, worked out on paper:
    # 0.693147 + 0.693147 + 0.287682 + 0.223144 + 0.105361 + 2.302585 = 4.305066
    assert frame_nll(*log_bernoulli(p), x) == pytest.approx(4.305066 / 3, abs=1e-6)


def test_every_frame_weighs_the_same_not_every_piece():
    # piece A: 1 frame of cost ln 2; piece B: 3 frames of cost 3 ln 2 each (one key, p = 1/2 or 1/8)
    x = np.array([[1], [1], [1], [1]])
    p = np.array([[0.5], [0.125], [0.125], [0.125]])
    per_frame = frame_nll(*log_bernoulli(p), x)
    assert per_frame == pytest.approx((1 + 3 * 3) * math.log(2) / 4)
    per_piece_mean = (math.log(2) + 3 * math.log(2)) / 2  # what the protocol is not
    assert per_frame != pytest.approx(per_piece_mean)


def test_naive_references_by_hand():
    # one key; train: piece [1, 1, 0] and piece [0, 1]; 5 frames, 3 on
    train = {
        "x": np.array([[1], [1], [0], [0], [1]]),
        "starts": np.array([0, 3]),
        "lengths": np.array([3, 2]),
    }
    assert independent_keys(train["x"]) == pytest.approx([(3 + 1) / (5 + 2)])
    # transitions within pieces: 1->1, 1->0, 0->1: from off, 1 of 1 on; from on, 1 of 2 on
    chain = key_markov(train["x"], train["starts"], train["lengths"])
    assert chain[0] == pytest.approx([(1 + 1) / (1 + 2)])
    assert chain[1] == pytest.approx([(1 + 1) / (2 + 2)])
    test = {"x": np.array([[0], [1], [1]]), "starts": np.array([0]), "lengths": np.array([3])}
    probs = reference_probabilities(train, test)
    # first frame: the marginal 4/7; then P(on | off) = 2/3, P(on | on) = 1/2
    assert probs["key_markov"][:, 0] == pytest.approx([4 / 7, 2 / 3, 1 / 2])
    refs = ladder_references(train, test)
    assert refs["key_markov"] == pytest.approx(-(math.log(3 / 7) + math.log(2 / 3) + math.log(1 / 2)) / 3)
    assert refs["independent_keys"] == pytest.approx(-(math.log(3 / 7) + 2 * math.log(4 / 7)) / 3)


def test_naive_references_land_on_the_published_figures_on_the_real_split():
    """11.06 and 10.48 nats per frame (one outside computation on the same split), within 0.05,
    from the real file's frames (tests/data/jsb_bl_frames.npz, made by the frames codec)."""
    split = read_fixture()
    assert len(split["train"]["lengths"]) == 229 and len(split["test"]["lengths"]) == 77
    refs = ladder_references(split["train"], split["test"])
    assert refs["frames"] == 4725
    assert refs["independent_keys"] == pytest.approx(11.06, abs=0.05)
    assert refs["key_markov"] == pytest.approx(10.48, abs=0.05)


# The codec -------------------------------------------------------------------------------


def test_frames_codec_gives_back_the_pickles_frames():
    """Chord frames -> notes (the corpus reader) -> frames is the identity, repeats and rests included."""
    frames = [[60, 64, 67], [60, 64, 67], [], [62, 65], [60, 62], [60]]
    rows = chord_frames_notes(frames, 24)
    score = Score.from_notes(rows, tracks=[Track("piano")], piece_id="p", resolution=24)
    got = FramesCodec().encode(score)
    want = np.zeros((6, 88), dtype=bool)
    for t, f in enumerate(frames):
        want[t, [p - 21 for p in f]] = True
    assert np.array_equal(got, want)
    back = FramesCodec().decode(got.astype(np.uint8), piece_id="p")
    assert np.array_equal(FramesCodec().encode(back), want)


def test_frames_codec_split_keeps_whole_pieces_and_rejects_too_short():
    codec = FramesCodec(min_frames=2)
    long = Score.from_notes([(0, 60, 0, 72)], tracks=[Track("piano")], piece_id="long", resolution=24)
    short = Score.from_notes([(0, 60, 0, 24)], tracks=[Track("piano")], piece_id="short", resolution=24)
    arrays, summary = codec.encode_split([long, short])
    assert summary["rejected"] == {"length": 1} and summary["frames"] == 3
    assert arrays["lengths"].tolist() == [3] and arrays["starts"].tolist() == [0]
    assert [s.piece_id for s in codec.decode_split(arrays)] == ["long"]


# The NADE --------------------------------------------------------------------------------


def test_nade_is_a_distribution_over_frames_and_teacher_forcing_matches_sampling_order():
    torch.manual_seed(0)
    model = FrameRNN(FrameRNNArch(hidden=5, output="nade", nade_hidden=3), n_keys=4).eval()
    with torch.no_grad():
        model.W.normal_()
        model.V.normal_()
    history = torch.tensor([[1.0, 0, 1, 0]])
    frames = torch.tensor([list(f) for f in itertools.product([0.0, 1.0], repeat=4)])  # all 16
    x = torch.stack([history.expand(16, 4), frames], dim=1)  # (16, 2, 4): history, then each frame
    with torch.no_grad():
        logits = model.key_logits(x)[:, 1]  # (16, 4) for the second frame
    loglik = -torch.nn.functional.binary_cross_entropy_with_logits(logits, frames, reduction="none").sum(1)
    assert float(loglik.exp().sum()) == pytest.approx(1.0, abs=1e-5)  # the 16 frames' probabilities
    # key 2's probability depends on keys 0-1 only: equal for frames that agree there
    same_low = (frames[:, :2] == frames[0, :2]).all(1)
    assert torch.allclose(logits[same_low, 2], logits[same_low, 2][0].expand(int(same_low.sum())))


def test_bernoulli_output_ignores_the_current_frame():
    torch.manual_seed(0)
    model = FrameRNN(FrameRNNArch(hidden=5), n_keys=4).eval()
    a = torch.tensor([[[1.0, 0, 1, 0], [0, 0, 0, 0]]])
    b = torch.tensor([[[1.0, 0, 1, 0], [1, 1, 1, 1]]])
    with torch.no_grad():
        assert torch.equal(model.key_logits(a), model.key_logits(b))


def test_split_nll_is_the_metric_modules_number():
    torch.manual_seed(0)
    model = FrameRNN(FrameRNNArch(hidden=6, output="nade", nade_hidden=4), n_keys=88).eval()
    split = read_fixture()["test"]
    part = {"x": split["x"][: int(split["lengths"][:3].sum())], "starts": split["starts"][:3]}
    part["lengths"] = split["lengths"][:3]
    frames, lengths = padded(part)
    from scorelab.training.frames import test_log_probabilities

    saved = test_log_probabilities(model, part, torch.device("cpu"))
    from_metric = frame_nll(saved["test_log_on"], saved["test_log_off"], part["x"])
    assert float(split_nll(model, frames, lengths)) == pytest.approx(from_metric, rel=1e-5)


# Through the stages ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def frames_data(tmp_path_factory) -> Path:
    params = {
        "datasets": {"jsb_bl_frames": PAPERS["datasets"]["jsb_bl_frames"]},
        "corpora": PAPERS["corpora"],
    }
    params["fetched"] = PAPERS["fetched"]
    return encode_datasets(params, tmp_path_factory.mktemp("frames"))["jsb_bl_frames"]


@pytest.mark.parametrize("name", LADDER)
def test_ladder_variant_trains_samples_and_is_scored(name, frames_data, tmp_path):
    from scorelab.pipeline.evaluate import run_evaluate_data, run_evaluate_variant
    from scorelab.pipeline.sample import run_sample
    from scorelab.pipeline.train import run_train
    from scorelab.report.build import declared_variants
    from scorelab.report.ladder import ladder_blocks
    from scorelab.utils import load_npz

    params = copy.deepcopy(PAPERS)
    params["base"]["profile"] = "tiny"
    run_train(
        params, name, frames_data, tmp_path / "model", tmp_path / "logs" / name, max_steps=2, progress=False
    )
    log = (tmp_path / "logs" / name / "valid_log.tsv").read_text().splitlines()
    assert log[0].split("\t") == ["step", "epoch", "train_nll", "valid_nll", "test_nll"]
    counts = run_sample(params, name, tmp_path / "model", frames_data, tmp_path / "samples")
    assert counts["samples"] == params["profiles"]["tiny"]["sample"]["n"]
    saved = load_npz(tmp_path / "samples" / "samples.npz")
    test = load_npz(frames_data / "test.npz")
    assert saved["test_log_on"].shape == test["x"].shape
    metrics = tmp_path / "metrics"
    run_evaluate_data(
        params, "jsb_bl_frames", frames_data, metrics / "data" / "jsb_bl_frames", tmp_path / "ev"
    )
    run_evaluate_variant(
        params,
        name,
        tmp_path / "samples",
        frames_data,
        tmp_path / "ev",
        metrics / "variants" / name,
        tmp_path / "ev2",
    )
    found = json.loads((metrics / "variants" / name / "likelihood.json").read_text())
    want = frame_nll(saved["test_log_on"], saved["test_log_off"], test["x"])
    assert found["test_nll"] == pytest.approx(want, rel=1e-5)
    assert found["frames"] == len(test["x"])
    data_refs = json.loads((metrics / "data" / "jsb_bl_frames" / "likelihood.json").read_text())
    assert data_refs["key_markov"] == found["key_markov"]
    # the report's ladder: published rows, the references and this model, lowest NLL last
    (tmp_path / "fig").mkdir()
    variants = [v for v in declared_variants(params) if v.name == name]
    table = [
        b for b in ladder_blocks(variants, metrics, tmp_path / "logs", tmp_path / "fig") if hasattr(b, "rows")
    ]
    labels = [r[0] for r in table[0].rows]
    assert f"ours: {name}" in labels and "plain RNN" in labels and labels[-1] == "DMM-Aug-NADE"
    values = [float(r[1]) for r in table[0].rows]
    assert values == sorted(values, reverse=True)


def test_ladder_section_without_measurements_says_how_to_get_them(tmp_path):
    from scorelab.report.build import declared_variants
    from scorelab.report.ladder import ladder_blocks

    blocks = ladder_blocks(declared_variants(compose(REPO / "conf")), tmp_path, tmp_path, tmp_path)
    text = " ".join(getattr(b, "text", "") for b in blocks)
    assert "catalogues=[papers]" in text
    table = [b for b in blocks if hasattr(b, "rows")][0]
    assert [r[0] for r in table.rows] == ["plain RNN", "DMM", "RNN-NADE", "DMM-Aug-NADE"]
