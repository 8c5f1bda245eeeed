"""Trainer options as params: optimizers, update ratio, lr decay, noise, L2, pre-training, density."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from scorelab.training.checkpoint import load_checkpoint
from scorelab.training.optim import add_noise, decay_lr, l2_penalty, make_optimizer
from scorelab.training.run import train_variant

ARCH = {"base_channels": 2, "latent_channels": 3, "condition_dropout": 0.5}
ENCODING = {"shape": [2, 16, 16]}
DATA = (np.random.default_rng(0).random((7, 2, 16, 16)) < 0.1).astype(np.uint8)
BASE = {"loss": "wgan-gp", "batch_size": 3, "iterations": 6, "checkpoint_every": 100}


def run_gan(out: Path, max_steps: int | None = None, **train) -> Path:
    return train_variant(
        "adversarial", "s0_unet", ARCH, {**BASE, **train}, {"train": {"x": DATA}}, ENCODING, out, out, 0,
        max_steps=max_steps, progress=False,
    )  # fmt: skip


def log_rows(path: Path) -> list[dict[str, float]]:
    header, *rows = (r.split("\t") for r in path.read_text().splitlines())
    return [dict(zip(header, map(float, r), strict=True)) for r in rows]


def optimizer_steps(ckpt, name: str) -> int:
    """How many updates an optimizer has made (Adam/RMSprop keep a per-parameter step)."""
    state = ckpt.optimizers[name]["state"]
    return int(next(iter(state.values()))["step"])


# --- optimizers, noise, L2 by hand --------------------------------------------------------


def test_make_optimizer_builds_each_kind():
    p = [nn.Parameter(torch.zeros(2))]
    adam = make_optimizer("adam", p, 1e-3, beta1=0.0, beta2=0.9)
    assert isinstance(adam, torch.optim.Adam) and adam.defaults["betas"] == (0.0, 0.9)
    assert isinstance(make_optimizer("rmsprop", p, 5e-5), torch.optim.RMSprop)
    sgd = make_optimizer("sgd", p, 0.01, momentum=0.9)
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["momentum"] == 0.9
    with pytest.raises(ValueError, match="lion"):
        make_optimizer("lion", p, 1e-3)


def test_decay_lr_multiplies_every_group():
    opt = make_optimizer("sgd", [nn.Parameter(torch.zeros(2))], 0.01)
    decay_lr(opt, 0.5)
    decay_lr(opt, 0.5)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0025)


def test_l2_penalty_by_hand():
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 2.0], [3.0, 0.0]]))  # 1 + 4 + 9
        net[2].weight.copy_(torch.tensor([[0.5, -0.5]]))  # 0.25 + 0.25
        net[0].bias.fill_(100.0)  # biases are not penalised (Keras kernel_regularizer)
    assert l2_penalty(net).item() == pytest.approx(14.5)


def test_noise_is_on_every_layer_in_training_only():
    torch.manual_seed(0)
    lin, lstm = nn.Linear(4, 4), nn.LSTM(4, 3, batch_first=True)
    x = torch.randn(2, 5, 4)
    clean_lin, (clean_seq, (clean_h, _)) = lin(x), lstm(x)
    for m in (lin, lstm):
        add_noise(m, 0.1)
    noisy = lin(x) - clean_lin
    assert 0.05 < noisy.std().item() < 0.2  # std 0.1 on the output
    seq, (h, _) = lstm(x)
    assert not torch.equal(seq, clean_seq) and torch.equal(h, clean_h)  # the sequence, not the state
    lin.eval()
    assert torch.equal(lin(x), clean_lin)  # no noise at sampling time


# --- the adversarial loop ------------------------------------------------------------------


def test_update_ratio_counts_critic_and_generator_steps(tmp_path):
    run_gan(tmp_path / "a", max_steps=2, n_critic=3, n_gen=1)
    ckpt = load_checkpoint(tmp_path / "a" / "resume.pt")
    assert (optimizer_steps(ckpt, "critic"), optimizer_steps(ckpt, "generator")) == (6, 2)
    run_gan(tmp_path / "b", max_steps=2, n_critic=1, n_gen=10)  # S1's 1:10, G steps per D step
    ckpt = load_checkpoint(tmp_path / "b" / "resume.pt")
    assert (optimizer_steps(ckpt, "critic"), optimizer_steps(ckpt, "generator")) == (2, 20)


def test_lr_decays_after_every_epoch(tmp_path):
    # 7 items, batch 3, n_critic 1: batch 3 takes item 7 of pass 1 and 2 of pass 2; batch 5
    # takes the last 2 of pass 2 and 1 of pass 3. Two passes ended: lr * 0.5 ** 2.
    run_gan(tmp_path, max_steps=5, optimizer_g="sgd", optimizer_d="sgd", lr_g=0.01, lr_d=0.02, lr_decay=0.5)
    ckpt = load_checkpoint(tmp_path / "resume.pt")
    assert ckpt.state["sampler"]["passes"] == 3
    assert ckpt.optimizers["generator"]["param_groups"][0]["lr"] == pytest.approx(0.01 * 0.5**2)
    assert ckpt.optimizers["critic"]["param_groups"][0]["lr"] == pytest.approx(0.02 * 0.5**2)
    epochs = [int(r["epoch"]) for r in log_rows(tmp_path / "train_log.tsv")]
    assert epochs == [1, 1, 2, 2, 3]


def test_pretraining_steps_train_the_generator_alone(tmp_path):
    run_gan(tmp_path, max_steps=4, pretrain_g_steps=2)
    rows = log_rows(tmp_path / "train_log.tsv")
    assert [math.isnan(r["loss_d"]) for r in rows] == [True, True, False, False]
    ckpt = load_checkpoint(tmp_path / "resume.pt")
    assert (optimizer_steps(ckpt, "critic"), optimizer_steps(ckpt, "generator")) == (2, 4)


def test_wgan_clip_with_rmsprop_noise_and_l2_keeps_weights_clipped(tmp_path):
    path = run_gan(
        tmp_path, loss="wgan-clip", n_critic=2, optimizer_g="rmsprop", optimizer_d="rmsprop",
        lr_g=5e-5, lr_d=5e-5, noise_std=0.1, l2_weight=0.01, clip_value=0.01,
    )  # fmt: skip
    critic = load_checkpoint(path).build()["critic"]
    assert max(p.abs().max().item() for p in critic.parameters()) <= 0.01 + 1e-9
    assert all(math.isfinite(v) for r in log_rows(tmp_path / "train_log.tsv") for v in r.values())


def test_bce_logs_discriminator_accuracies(tmp_path):
    run_gan(tmp_path, loss="bce", max_steps=2)
    rows = log_rows(tmp_path / "train_log.tsv")
    assert all(0.0 <= r["d_acc_real"] <= 1.0 and 0.0 <= r["d_acc_fake"] <= 1.0 for r in rows)


# --- the density trainer (S1's naive model) --------------------------------------------------


@pytest.mark.parametrize("per", ["all", "pitch"])
def test_density_fits_the_training_rate_and_samples_it(per, tmp_path):
    from scorelab.pipeline.sample import sample_sets

    data = np.zeros((4, 1, 8, 3), dtype=np.uint8)
    data[:, 0, :, 1] = 1  # pitch 1 always on: overall density 1/3
    path = train_variant(
        "density", "naive_bernoulli", {"per": per}, {}, {"train": {"x": data}}, {"shape": [1, 8, 3]},
        tmp_path, tmp_path, 0, progress=False,
    )  # fmt: skip
    ckpt = load_checkpoint(path)
    rate = ckpt.build()["model"].rate
    if per == "all":
        assert rate.shape == () and rate.item() == pytest.approx(1 / 3)
    else:
        assert rate.shape == (1, 1, 3) and rate.flatten().tolist() == [0.0, 1.0, 0.0]
    items = sample_sets(ckpt, {"n": 200}, {}, seed=3)["samples"].items
    assert items.shape == (200, 1, 8, 3) and items.dtype == np.uint8
    assert items.mean() == pytest.approx(1 / 3, abs=0.03)


def test_density_resumed_equals_uninterrupted(tmp_path):
    """The resume guarantee for the third trainer: stopped before its step, then rerun."""
    data = (np.random.default_rng(1).random((5, 1, 8, 3)) < 0.3).astype(np.uint8)

    def fit(out: Path, max_steps: int | None = None) -> Path:
        return train_variant(
            "density", "naive_bernoulli", {"per": "pitch"}, {}, {"train": {"x": data}}, {"shape": [1, 8, 3]},
            out, out, 0, max_steps=max_steps, progress=False,
        )  # fmt: skip

    fit(tmp_path / "full")
    fit(tmp_path / "cut", max_steps=0)
    assert (tmp_path / "cut" / "resume.pt").exists()
    fit(tmp_path / "cut")
    for name in ("checkpoint.pt", "train_log.tsv"):
        assert (tmp_path / "full" / name).read_bytes() == (tmp_path / "cut" / name).read_bytes()
