"""Training: losses against hand-computed values, checkpoints, resume, determinism."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from scorelab.errors import CheckpointError, ParamsError
from scorelab.models import build_model
from scorelab.training.checkpoint import load_checkpoint, save_checkpoint
from scorelab.training.losses import (
    ADVERSARIAL_LOSSES,
    bce_critic_loss,
    bce_generator_loss,
    clip_weights,
    gradient_penalty,
    next_token_loss,
    wgan_generator_loss,
    wgan_gp_critic_loss,
)
from scorelab.training.run import train_variant

ARCH = {"base_channels": 2, "latent_channels": 3, "condition_dropout": 0.5}
ENCODING = {"shape": [2, 16, 16]}
TRAIN = {
    "loss": "wgan-gp",
    "n_critic": 2,
    "gp_weight": 10.0,
    "lr_g": 1e-3,
    "lr_d": 1e-3,
    "beta1": 0.5,
    "beta2": 0.9,
    "batch_size": 3,
    "iterations": 5,
    "checkpoint_every": 2,
}
DATA = (np.random.default_rng(0).random((7, 2, 16, 16)) < 0.1).astype(np.uint8)
LSTM_ARCH = {"hidden": 8, "dropout": 0.2}
LSTM_TRAIN = {"lr": 1e-2, "epochs": 2, "batch_size": 2, "window": 4, "checkpoint_every": 2, "loss_on": "all"}
STREAM = np.random.default_rng(1).integers(0, 6, 30)


def run_gan(out: Path, seed: int = 0, max_steps: int | None = None, **train) -> Path:
    return train_variant(
        "adversarial",
        "s0_unet",
        ARCH,
        {**TRAIN, **train},
        {"train": {"x": DATA}},
        ENCODING,
        out,
        out,
        seed,
        max_steps=max_steps,
        progress=False,
    )


def run_lstm(out: Path, seed: int = 0, max_steps: int | None = None, **train) -> Path:
    splits = {"train": STREAM, "valid": STREAM[:9], "test": STREAM[9:20]}
    return train_variant(
        "likelihood",
        "s4_lstm",
        LSTM_ARCH,
        {**LSTM_TRAIN, **train},
        {k: {"x": v} for k, v in splits.items()},
        {"vocab_size": 6},
        out,
        out,
        seed,
        max_steps=max_steps,
        progress=False,
    )


def same_files(a: Path, b: Path, names: tuple[str, ...]) -> bool:
    return all((a / n).read_bytes() == (b / n).read_bytes() for n in names)


class Linear(nn.Module):
    """D(x) = w . x, whose gradient is w everywhere: the penalty is (|w| - 1)^2 exactly."""

    def __init__(self, w: torch.Tensor):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.w


# --- losses ---------------------------------------------------------------------------


def test_gradient_penalty_is_zero_for_a_unit_gradient_critic():
    w = torch.tensor([0.6, 0.0, -0.8, 0.0])  # |w| = 1
    real, fake = torch.rand(5, 1, 2, 2), torch.rand(5, 1, 2, 2)
    assert gradient_penalty(Linear(w), real, fake).item() == pytest.approx(0.0, abs=1e-12)
    # |w| = 2: (2 - 1)^2 = 1 whatever the interpolation point
    assert gradient_penalty(Linear(2 * w), real, fake).item() == pytest.approx(1.0, rel=1e-6)


def test_wgan_gp_losses_by_hand():
    critic = Linear(torch.tensor([1.0, 0.0]))  # D(x) = x_0, unit gradient: no penalty
    real, fake = torch.tensor([[3.0, 9.0], [1.0, 9.0]]), torch.tensor([[0.5, 0.0], [-0.5, 0.0]])
    out = wgan_gp_critic_loss(critic, real, fake, gp_weight=10.0)
    assert out.stats["wasserstein"].item() == pytest.approx(2.0)  # mean(3, 1) - mean(0.5, -0.5)
    assert out.loss.item() == pytest.approx(-2.0)
    assert wgan_generator_loss(critic, fake).item() == pytest.approx(0.0)


def test_bce_losses_at_an_undecided_discriminator():
    critic = Linear(torch.zeros(3))  # logit 0: D = 1/2 everywhere
    x = torch.rand(4, 3)
    out = bce_critic_loss(critic, x, x, gp_weight=0.0)
    assert out.loss.item() == pytest.approx(math.log(2))  # mean of the real and fake terms
    assert (
        out.stats["d_acc_real"].item() == 0.0 and out.stats["d_acc_fake"].item() == 0.0
    )  # logit 0: undecided
    assert bce_generator_loss(critic, x).item() == pytest.approx(math.log(2))


def test_clip_weights():
    critic = Linear(torch.tensor([-1.0, 0.005, 2.0]))
    clip_weights(critic, 0.01)
    assert critic.w.tolist() == pytest.approx([-0.01, 0.005, 0.01])


def test_next_token_loss_of_uniform_logits_is_log_vocab():
    logits, targets = torch.zeros(2, 3, 7), torch.randint(0, 7, (2, 3))
    assert next_token_loss(logits, targets).item() == pytest.approx(math.log(7))


@pytest.mark.parametrize("loss", sorted(ADVERSARIAL_LOSSES))
def test_every_adversarial_loss_trains(loss, tmp_path):
    run_gan(tmp_path, max_steps=1, loss=loss)
    header, row = (r.split("\t") for r in (tmp_path / "train_log.tsv").read_text().splitlines()[:2])
    assert header == ["step", "epoch", "loss_g", "loss_d", *ADVERSARIAL_LOSSES[loss].columns]
    assert all(math.isfinite(float(v)) for v in row)


def test_straight_through_is_binary_forward_identity_backward():
    from scorelab.training.adversarial import straight_through

    p = torch.tensor([0.2, 0.5, 0.7], requires_grad=True)
    out = straight_through(p)
    assert out.tolist() == [0.0, 1.0, 1.0]
    (out * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert p.grad.tolist() == [1.0, 2.0, 3.0]


def test_straight_through_training_runs(tmp_path):
    run_gan(tmp_path, max_steps=2, binarize="straight_through")
    rows = (tmp_path / "train_log.tsv").read_text().splitlines()
    assert len(rows) == 3 and all(math.isfinite(float(v)) for v in rows[2].split("\t"))


# --- configs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("train", "key"),
    [
        ({"n_critc": 1}, "train.n_critc"),
        ({"loss": "hinge"}, "train.loss"),
        ({"batch_size": 0}, "train.batch_size"),
    ],
)
def test_bad_train_config_names_the_key(train, key, tmp_path):
    with pytest.raises(ParamsError, match=key):
        run_gan(tmp_path, **train)


# --- checkpoints ------------------------------------------------------------------------


def test_checkpoint_round_trip_rebuilds_the_same_model(tmp_path):
    torch.manual_seed(0)
    built = build_model("s0_unet", ARCH, ENCODING)
    gen, critic = built["generator"], built["critic"]
    path = save_checkpoint(
        tmp_path / "c.pt",
        model_name="s0_unet",
        trainer="adversarial",
        arch=ARCH,
        train=TRAIN,
        encoding=ENCODING,
        step=7,
        modules={"generator": gen, "critic": critic},
        optimizers=None,
        rng=None,
        fingerprint="f",
    )
    ckpt = load_checkpoint(path)
    assert (ckpt.model_name, ckpt.step, ckpt.arch, ckpt.encoding) == ("s0_unet", 7, ARCH, ENCODING)
    rebuilt = ckpt.build()
    gen2, critic2 = rebuilt["generator"], rebuilt["critic"]
    z, x = torch.randn(2, *gen.latent_shape), torch.rand(2, 2, 16, 16)
    with torch.no_grad():
        assert torch.equal(gen.eval()(z), gen2(z))
        assert torch.equal(critic(x), critic2(x))


def test_missing_corrupt_and_foreign_files_raise_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="no such"):
        load_checkpoint(tmp_path / "absent.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a zip at all")
    with pytest.raises(CheckpointError, match="junk.pt"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a scorelab checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    good = run_gan(tmp_path / "run", max_steps=1).read_bytes()
    (tmp_path / "cut.pt").write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="cut.pt"):
        load_checkpoint(tmp_path / "cut.pt")


# --- determinism and resume -------------------------------------------------------------

GAN_FILES = ("checkpoint.pt", "train_log.tsv")
LSTM_FILES = ("checkpoint.pt", "train_log.tsv", "valid_log.tsv")


def test_two_runs_give_the_same_bytes(tmp_path):
    run_gan(tmp_path / "a")
    run_gan(tmp_path / "b")  # another folder: no path may leak into the files
    assert same_files(tmp_path / "a", tmp_path / "b", GAN_FILES)
    run_lstm(tmp_path / "la")
    run_lstm(tmp_path / "lb")
    assert same_files(tmp_path / "la", tmp_path / "lb", LSTM_FILES)
    assert not (tmp_path / "a" / "resume.pt").exists()


def test_interrupted_then_resumed_equals_uninterrupted(tmp_path):
    run_gan(tmp_path / "full")
    run_gan(tmp_path / "cut", max_steps=3)
    assert load_checkpoint(tmp_path / "cut" / "resume.pt").step == 3
    run_gan(tmp_path / "cut")
    assert same_files(tmp_path / "full", tmp_path / "cut", GAN_FILES)
    assert not (tmp_path / "cut" / "resume.pt").exists()

    run_lstm(tmp_path / "lfull")
    run_lstm(tmp_path / "lcut", max_steps=7)  # 13 steps per epoch: stops mid-epoch 1
    run_lstm(tmp_path / "lcut")
    assert same_files(tmp_path / "lfull", tmp_path / "lcut", LSTM_FILES)


def test_killed_run_drops_log_rows_after_its_last_resume_file(tmp_path):
    run_gan(tmp_path / "full")
    run_gan(tmp_path / "cut", max_steps=2)
    shutil.copy(tmp_path / "cut" / "resume.pt", tmp_path / "step2.pt")
    run_gan(tmp_path / "cut", max_steps=3)  # the log now has 3 rows ...
    shutil.copy(tmp_path / "step2.pt", tmp_path / "cut" / "resume.pt")  # ... but the last save was step 2
    run_gan(tmp_path / "cut")
    assert same_files(tmp_path / "full", tmp_path / "cut", GAN_FILES)


def test_resume_file_of_another_run_is_ignored(tmp_path):
    run_gan(tmp_path / "fresh", seed=1)
    run_gan(tmp_path / "stale", seed=0, max_steps=2)  # leaves resume.pt with seed 0's fingerprint
    run_gan(tmp_path / "stale", seed=1)
    assert same_files(tmp_path / "fresh", tmp_path / "stale", GAN_FILES)


def test_valid_log_has_one_row_per_epoch(tmp_path):
    run_lstm(tmp_path)
    # S4: every window of `window` symbols is one example per epoch
    steps_per_epoch = math.ceil((len(STREAM) - LSTM_TRAIN["window"]) / LSTM_TRAIN["batch_size"])
    header, *rows = (r.split("\t") for r in (tmp_path / "valid_log.tsv").read_text().splitlines())
    assert header == ["step", "epoch", "train_loss", "valid_loss", "test_nll"]
    assert [(int(r[0]), int(r[1])) for r in rows] == [(steps_per_epoch, 1), (2 * steps_per_epoch, 2)]
    assert all(math.isfinite(float(x)) for r in rows for x in r[2:])
    train_rows = [float(r.split("\t")[2]) for r in (tmp_path / "train_log.tsv").read_text().splitlines()[1:]]
    assert float(rows[0][2]) == pytest.approx(np.mean(train_rows[:steps_per_epoch]), rel=1e-4)
    assert len((tmp_path / "train_log.tsv").read_text().splitlines()) == 1 + 2 * steps_per_epoch


@pytest.mark.parametrize("damage", ["truncated", "random"])
def test_an_unreadable_resume_file_is_an_error_naming_it_and_is_kept(tmp_path, damage):
    """A resume file is written atomically, so an unreadable one is damage: training stops
    with the file's name and what to do, and the file is left for the user."""
    run_gan(tmp_path / "cut", max_steps=2)
    resume = tmp_path / "cut" / "resume.pt"
    data = resume.read_bytes()
    bad = data[: len(data) // 2] if damage == "truncated" else np.random.default_rng(0).bytes(len(data))
    resume.write_bytes(bad)
    with pytest.raises(CheckpointError, match=r"resume\.pt: not a readable checkpoint .*delete it"):
        run_gan(tmp_path / "cut")
    assert resume.read_bytes() == bad


def test_a_resume_file_of_other_params_is_ignored_with_a_warning(tmp_path, caplog):
    run_gan(tmp_path / "stale", max_steps=2, lr_g=2e-3)
    with caplog.at_level("WARNING", logger="scorelab"):
        run_gan(tmp_path / "stale")
    assert "belongs to another run (params, seed or data changed); starting fresh" in caplog.text


def test_compile_gives_the_same_loss_curve_within_tolerance(tmp_path):
    """``compute.compile`` (torch.compile, inductor on the CPU) is opt-in: kernels fused
    differently round differently, so the curve is compared with a tolerance, not bytes.
    Measured on this machine: the 6 logged losses agreed to all 6 printed digits."""
    run_lstm(tmp_path / "eager", max_steps=6)
    splits = {"train": STREAM, "valid": STREAM[:9], "test": STREAM[9:20]}
    train_variant(
        "likelihood",
        "s4_lstm",
        LSTM_ARCH,
        LSTM_TRAIN,
        {k: {"x": v} for k, v in splits.items()},
        {"vocab_size": 6},
        tmp_path / "compiled",
        tmp_path / "compiled",
        0,
        max_steps=6,
        progress=False,
        compile=True,
    )

    def losses(folder: Path) -> list[float]:
        return [float(r.split("\t")[2]) for r in (folder / "train_log.tsv").read_text().splitlines()[1:]]

    eager, compiled = losses(tmp_path / "eager"), losses(tmp_path / "compiled")
    assert len(eager) == len(compiled) == 6
    np.testing.assert_allclose(compiled, eager, rtol=1e-4)
    ckpt = load_checkpoint(tmp_path / "compiled" / "checkpoint.pt")
    assert set(ckpt.modules["model"]) == set(
        load_checkpoint(tmp_path / "eager" / "checkpoint.pt").modules["model"]
    )


def test_base_device_picks_and_refuses(monkeypatch):
    from scorelab.training.device import device_name, pick_device

    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert device_name(torch.device("cpu"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ParamsError, match="base.device: cuda, but torch sees no GPU"):
        pick_device("cuda")


def test_snapshots_at_each_eighth_and_a_fresh_run_drops_another_runs(tmp_path):
    from scorelab.training.run import snapshot_steps

    assert snapshot_steps(16) == {2, 4, 6, 8, 10, 12, 14}
    assert snapshot_steps(5) == {1, 2, 3, 4}  # rounded, the last step is checkpoint.pt itself
    assert snapshot_steps(1) == set()
    out = tmp_path / "gan"
    (out / "snapshots").mkdir(parents=True)
    (out / "snapshots" / "step_0000099.pt").write_bytes(b"another run's")
    run_gan(out)  # 5 iterations
    snaps = sorted(p.name for p in (out / "snapshots").glob("*.pt"))
    assert snaps == [f"step_{k:07d}.pt" for k in (1, 2, 3, 4)]
    assert [load_checkpoint(out / "snapshots" / s).step for s in snaps] == [1, 2, 3, 4]
    # the final weights and a snapshot's are a checkpoint's: the sample stage reads both alike
    assert load_checkpoint(out / "checkpoint.pt").step == 5
    # cut and resumed: the snapshots after the resume point are written again, the same bytes
    run_gan(tmp_path / "cut", max_steps=3)
    run_gan(tmp_path / "cut")
    for s in snaps:
        assert (tmp_path / "cut" / "snapshots" / s).read_bytes() == (out / "snapshots" / s).read_bytes()
