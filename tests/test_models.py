"""Models: every registered model trains two steps; configs are strict; U-Net shapes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from scorelab.errors import ParamsError
from scorelab.models import MODELS, build_model, from_dict, get_model_spec
from scorelab.models.s0_unet import S0UNetArch, build_s0_unet
from scorelab.training import load_checkpoint, train_adversarial, train_likelihood

# The smallest config of every registered model; a new model must add one here.
TINY = {
    "s0_unet": {"arch": {"base_channels": 2, "latent_channels": 3}, "encoding": {"shape": [2, 16, 32]}},
    "s4_lstm": {"arch": {"hidden": 8, "dropout": 0.1}, "encoding": {"vocab_size": 5}},
}
ADV_TRAIN = {
    "loss": "wgan-gp",
    "n_critic": 2,
    "gp_weight": 10.0,
    "lr_g": 1e-4,
    "lr_d": 1e-4,
    "beta1": 0.5,
    "beta2": 0.9,
    "batch_size": 3,
    "iterations": 10,
    "checkpoint_every": 5,
    "melody_dropout": 0.5,
}
LIK_TRAIN = {"lr": 1e-3, "epochs": 3, "batch_size": 2, "window": 4, "checkpoint_every": 5}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors gain nothing from threads; one thread also avoids OpenMP spin-waits
    when other test processes share the cores (a 100x slowdown measured under load)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def train_tiny(name: str, out: Path, max_steps: int = 2) -> Path:
    """Run the real training function of ``name``'s family on tiny random data."""
    spec, cfg = get_model_spec(name), TINY[name]
    rng = np.random.default_rng(0)
    if spec.family == "adversarial":
        shape = cfg["encoding"]["shape"]
        data = (rng.random((5, *shape)) < 0.1).astype(np.uint8)
        return train_adversarial(
            name,
            cfg["arch"],
            ADV_TRAIN,
            data,
            cfg["encoding"],
            out,
            out / "train_log.tsv",
            seed=0,
            max_steps=max_steps,
            progress=False,
        )
    vocab = cfg["encoding"]["vocab_size"]
    stream = rng.integers(0, vocab, 40)
    return train_likelihood(
        name,
        cfg["arch"],
        LIK_TRAIN,
        stream,
        stream[:12],
        cfg["encoding"],
        out,
        out / "train_log.tsv",
        seed=0,
        max_steps=max_steps,
        progress=False,
    )


def test_every_model_has_a_tiny_config():
    assert set(TINY) == set(MODELS)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_two_training_steps(name, tmp_path):
    path = train_tiny(name, tmp_path)
    lines = (tmp_path / "train_log.tsv").read_text().splitlines()
    assert len(lines) == 3  # header + 2 steps
    rows = [line.split("\t") for line in lines[1:]]
    assert [int(r[0]) for r in rows] == [1, 2]
    assert all(math.isfinite(float(v)) for r in rows for v in r[1:])
    ckpt = load_checkpoint(path)
    assert (ckpt.model_name, ckpt.step, ckpt.family) == (name, 2, MODELS[name].family)
    assert (tmp_path / "resume.pt").exists()  # max_steps < planned steps: resumable


@pytest.mark.parametrize("name", sorted(MODELS))
def test_build_returns_family_modules(name):
    built = build_model(name, TINY[name]["arch"], TINY[name]["encoding"])
    if MODELS[name].family == "adversarial":
        assert isinstance(built, tuple) and len(built) == 2
    else:
        assert isinstance(built, torch.nn.Module)


def test_unknown_model_lists_valid_names():
    with pytest.raises(ValueError, match="s0_unet"):
        get_model_spec("s9_transformer")


@pytest.mark.parametrize(
    ("arch", "key"),
    [
        ({"base_channels": 2, "latent_channels": 3, "base_channel": 2}, "arch.base_channel"),
        ({"base_channels": "2", "latent_channels": 3}, "arch.base_channels"),
        ({"base_channels": True, "latent_channels": 3}, "arch.base_channels"),
        ({"base_channels": 2.0, "latent_channels": 3}, "arch.base_channels"),
        ({"base_channels": 2}, "arch.latent_channels"),
        ({"base_channels": 0, "latent_channels": 3}, "arch.base_channels"),
    ],
)
def test_bad_arch_names_the_key(arch, key):
    with pytest.raises(ParamsError, match=key):
        build_model("s0_unet", arch, {"shape": [2, 16, 16]})


def test_from_dict_turns_ints_into_floats():
    arch = from_dict(MODELS["s4_lstm"].arch, {"hidden": 4, "dropout": 0}, "arch")
    assert arch.dropout == 0.0 and isinstance(arch.dropout, float)


def test_unet_shapes_match_s0_table_1():
    gen, critic = build_s0_unet(S0UNetArch(base_channels=2, latent_channels=512), {"shape": [4, 32, 128]})
    assert gen.latent_shape == (512, 2, 8)  # S0's latent noise (2, 8, 512), channels first
    z = torch.randn(3, *gen.latent_shape)
    with torch.no_grad():
        roll = gen(z)
    assert roll.shape == (3, 4, 32, 128)
    assert float(roll.min()) >= 0.0 and float(roll.max()) <= 1.0
    assert critic(roll).shape == (3,)


def test_unet_rejects_shapes_not_divisible_by_16():
    with pytest.raises(ParamsError, match="divisible by 16"):
        build_model("s0_unet", {"base_channels": 2, "latent_channels": 3}, {"shape": [4, 24, 128]})


def test_conditioned_output_keeps_the_melody():
    torch.manual_seed(0)
    gen, _ = build_model("s0_unet", TINY["s0_unet"]["arch"], TINY["s0_unet"]["encoding"])
    gen.eval()
    melody = (torch.rand(4, 1, 16, 32) < 0.2).float()
    conditioned = torch.tensor([True, False, True, False])
    roll = gen(torch.randn(4, *gen.latent_shape), melody, conditioned)
    assert torch.equal(roll[conditioned, :1], melody[conditioned])
    assert not torch.equal(roll[~conditioned, :1], melody[~conditioned])  # free track 0
    assert torch.equal(gen(torch.randn(2, *gen.latent_shape), melody[:2])[:, :1], melody[:2])


def test_lstm_next_logits_match_the_last_position():
    torch.manual_seed(0)
    model = build_model("s4_lstm", {"hidden": 8, "dropout": 0.2}, {"vocab_size": 5}).eval()
    ids = torch.tensor([[1, 2, 3, 4], [4, 3, 0, 0]])
    logits = model(ids)
    assert logits.shape == (2, 4, 5)
    last = model.next_logits(ids, torch.tensor([4, 2]))
    torch.testing.assert_close(last, torch.stack([logits[0, 3], logits[1, 1]]))


def test_lstm_needs_a_vocabulary():
    with pytest.raises(ParamsError, match="vocab_size"):
        build_model("s4_lstm", {"hidden": 8, "dropout": 0.2}, {})
