"""The trainers of S2's and S3's models: hand-computed losses and the resume guarantee."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from scorelab.training.autoencoder import snr_db
from scorelab.training.next_column import NextColumnConfig, classes_of, column_loss, note_scores
from scorelab.training.vae import vae_loss
from test_models import TINY, train_tiny


class Fixed(torch.nn.Module):
    """A 'VAE' whose outputs are given, to check the loss by hand."""

    def __init__(self, recon, mu, log_var):
        super().__init__()
        self.out = (recon, mu, log_var)

    def forward(self, x, rng=None):
        return self.out


def test_vae_loss_by_hand():
    x = torch.tensor([[1.0, 0.0]])
    recon = torch.tensor([[0.8, 0.1]])
    mu, log_var = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, math.log(2.0)]])
    loss, bce, kl = vae_loss(Fixed(recon, mu, log_var), x, 0.5, None)
    want_bce = -(math.log(0.8) + math.log(0.9)) / 2
    # -mean(1 + lv - mu^2 - e^lv): dims (1 + 0 - 1 - 1) = -1 and (1 + ln2 - 0 - 2) = ln2 - 1
    want_kl = -((-1) + (math.log(2.0) - 1)) / 2
    assert bce.item() == pytest.approx(want_bce) and kl.item() == pytest.approx(want_kl)
    assert loss.item() == pytest.approx(want_bce + 0.5 * want_kl)


def test_s3_weighted_loss_and_classes_by_hand():
    cfg = NextColumnConfig(iterations=1, batch_size=1, loss="weighted", alpha=1.5, beta=0.8)
    target = torch.tensor([[[1.0, 125 / 255, 0.0, 0.0]]])
    pred = torch.tensor([[[0.5, 1.0, 0.5, 0.0]]])
    # notes (target > 0) count alpha * (y - 1)^2, silence beta * y^2
    want = (1.5 * 0.25 + 1.5 * 0.0 + 0.8 * 0.25 + 0.8 * 0.0) / 4
    assert column_loss(cfg, pred, target).item() == pytest.approx(want)
    assert classes_of(target).tolist() == [[[2, 1, 0, 0]]]
    p, r, f1 = note_scores(cfg, torch.nn.Identity(), pred, target)
    # said: 0.5, 1.0, 0.5 >= 0.25 (3 cells); real: 2 cells; both: 2
    assert (p, r) == pytest.approx((2 / 3, 1.0)) and f1 == pytest.approx(0.8)


def test_snr_by_hand():
    x = torch.tensor([1.0, 0.0])  # audio +1, -1
    recon = torch.tensor([0.75, 0.25])  # audio +0.5, -0.5: error 0.5 each
    assert snr_db(x, recon) == pytest.approx(10 * math.log10(2 / 0.5))
    assert snr_db(x, x) == math.inf


@pytest.mark.parametrize("name", ["s2_vae", "s3_hilbert_ae", "s3_lstm", "s3_seq2seq"])
def test_resumed_equals_uninterrupted(name, tmp_path):
    """Stopped after two steps, then rerun: the same checkpoint and logs as one run."""
    full = train_tiny(name, tmp_path / "full", max_steps=None)
    train_tiny(name, tmp_path / "cut", max_steps=2)
    assert (tmp_path / "cut" / "resume.pt").exists()
    cut = train_tiny(name, tmp_path / "cut", max_steps=None)
    a, b = torch.load(full, weights_only=False), torch.load(cut, weights_only=False)
    for module in a["modules"]:
        for k, v in a["modules"][module].items():
            assert torch.equal(v, b["modules"][module][k]), (name, module, k)
    for log in ("train_log.tsv", "valid_log.tsv"):
        assert (tmp_path / "full" / log).read_text() == (tmp_path / "cut" / log).read_text()
    assert TINY[name]["trainer"] in ("vae", "autoencoder", "next_column")
    assert np.isfinite(np.loadtxt(tmp_path / "full" / "valid_log.tsv", skiprows=1, ndmin=2)[:, 1]).all()


def test_autoencoder_switches_to_sgd_after_a_blowup_and_restores_the_best_weights(tmp_path, monkeypatch):
    """S3: "saved the best model ADAM produced, loaded it back and switched the optimizer to SGD".

    The blow-up is made: the training loss of step 8 is multiplied by 100 (3 steps per epoch,
    so two epochs have set a best loss by then)."""
    from scorelab.training import autoencoder
    from scorelab.training.run import train_variant
    from test_models import tiny_data

    real, calls = autoencoder.reconstruction_loss, []

    def blowing_up(kind, recon, x):
        loss = real(kind, recon, x)
        if torch.is_grad_enabled():
            calls.append(1)
            if len(calls) == 8:
                return loss * 100
        return loss

    monkeypatch.setattr(autoencoder, "reconstruction_loss", blowing_up)
    best = {}
    restore = torch.nn.Module.load_state_dict

    def spy(module, state, *a, **k):
        best["state"] = {n: v.clone() for n, v in state.items()}
        return restore(module, state, *a, **k)

    monkeypatch.setattr(torch.nn.Module, "load_state_dict", spy)
    cfg = TINY["s3_hilbert_ae"]
    train = {**cfg["train"], "epochs": 4, "blowup_factor": 3.0}
    train_variant(
        "autoencoder", "s3_hilbert_ae", cfg["arch"], train, tiny_data("s3_hilbert_ae"), cfg["encoding"],
        tmp_path, tmp_path, seed=0, progress=False,
    )  # fmt: skip
    rows = np.loadtxt(tmp_path / "train_log.tsv", skiprows=1, ndmin=2)  # step, epoch, loss, optimizer
    assert rows[:7, 3].tolist() == [0] * 7 and (rows[7:, 3] == 1).all()  # SGD from step 8 on
    assert "state" in best  # the best epoch's weights were loaded back


@pytest.mark.parametrize("name", ["s3_hilbert_ae", "s3_lstm"])
def test_samplers_take_an_empty_test_split(name, tmp_path):
    """evenly_spaced of nothing is nothing: an empty test split samples no item, without a guard."""
    from scorelab.training.checkpoint import load_checkpoint
    from scorelab.training.device import pick_device
    from scorelab.training.registry import get_trainer
    from test_models import tiny_data

    ckpt = load_checkpoint(train_tiny(name, tmp_path))
    trainer = get_trainer(TINY[name]["trainer"])
    empty = {"x": tiny_data(name)["test"]["x"][:0]}
    cfg = trainer.sample_config(n=3)
    sets = trainer.sample(ckpt.build(pick_device()), cfg, ckpt, empty, 0, pick_device())
    assert len(sets["samples"].items) == 0


class Decoder(torch.nn.Module):
    """A 'VAE' that decodes every latent point to the same given image, for the binarizing by hand."""

    latent = 2

    def __init__(self, image):
        super().__init__()
        self.image = torch.tensor(image, dtype=torch.float32)

    def decode(self, z):
        return self.image.expand(len(z), *self.image.shape)


def test_vae_samples_binarize_at_a_threshold_or_at_the_data_density():
    from types import SimpleNamespace

    from scorelab.training.vae import VAESampleConfig, sample_vae

    image = [[[0.05, 0.1, 0.2, 0.3]]]  # (1, 1, 4): a grey probability map, all below 0.5
    test = {"x": np.array([[[[0, 255, 0, 0]]], [[[0, 0, 0, 0]]]], np.uint8)}  # 1 note cell in 8
    ckpt = SimpleNamespace(encoding={"scale": 255})
    cpu = torch.device("cpu")

    def first(**kw):
        sets = sample_vae({"model": Decoder(image)}, VAESampleConfig(n=4, **kw), ckpt, test, 0, cpu)
        return sets["samples"].items[0, 0, 0].tolist()

    assert first() == pytest.approx([0.05, 0.1, 0.2, 0.3])  # left to the codec's threshold
    assert first(threshold=0.15) == [0, 0, 1, 1]
    # 1/8 of the test cells are notes: the top eighth of the set's values -> only 0.3
    assert first(match_density=True) == [0, 0, 0, 1]
    with pytest.raises(ValueError, match="threshold"):
        VAESampleConfig(n=1, threshold=1.5)
