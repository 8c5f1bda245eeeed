"""S1's Bi-LSTM and CNN-LSTM GANs and S4's MLP GAN: shapes, ranges, configs, two real training steps."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from scorelab.errors import ParamsError
from scorelab.models import build_model, parse_arch
from scorelab.training.checkpoint import load_checkpoint
from scorelab.training.run import train_variant

S1_ENCODING = {"shape": [1, 8, 12]}
S4_ENCODING = {"shape": [16]}
# model -> (tiny arch, encoding, output range)
TINY = {
    "s1_bilstm": ({"hidden": 4, "dense": 6, "latent": 2, "d_hidden": 3}, S1_ENCODING, (0.0, 1.0)),
    "s1_cnn_lstm": ({"latent": 5, "channels": 4, "d_hidden": 3}, S1_ENCODING, (0.0, 1.0)),
    "s4_mlp_gan": ({"latent": 7, "hidden": 3, "g_hidden": [8, 6]}, S4_ENCODING, (-1.0, 1.0)),
}
BCE = {"loss": "bce", "iterations": 4, "batch_size": 3, "checkpoint_every": 2}
WGAN_CLIP = {
    "loss": "wgan-clip",
    "iterations": 4,
    "batch_size": 3,
    "checkpoint_every": 2,
    "n_critic": 2,
    "optimizer_g": "rmsprop",
    "optimizer_d": "rmsprop",
    "lr_g": 5e-5,
    "lr_d": 5e-5,
    "noise_std": 0.1,
    "l2_weight": 0.01,
}


def tiny_data(name: str, n: int = 5) -> np.ndarray:
    """Random training items: 0/1 uint8 rolls for S1, float32 in [-1, 1) for S4."""
    _, encoding, _ = TINY[name]
    rng = np.random.default_rng(0)
    if name.startswith("s1"):
        return (rng.random((n, *encoding["shape"])) < 0.2).astype(np.uint8)
    return rng.uniform(-1.0, 1.0, (n, *encoding["shape"])).astype(np.float32)


@pytest.mark.parametrize("name", sorted(TINY))
def test_shapes_and_ranges(name: str) -> None:
    arch, encoding, (lo, hi) = TINY[name]
    torch.manual_seed(0)
    nets = build_model(name, arch, encoding)
    gen, critic = nets["generator"], nets["critic"]
    assert not gen.conditional
    assert gen.condition(torch.zeros(4, *gen.sample_shape), torch.Generator()) is None
    assert tuple(gen.sample_shape) == tuple(encoding["shape"])
    for mode in (True, False):
        gen.train(mode)
        fake = gen(torch.randn(4, *gen.latent_shape))
        assert fake.shape == (4, *encoding["shape"])
        assert fake.min() >= lo and fake.max() <= hi
    assert critic(fake).shape == (4,)


@pytest.mark.parametrize("name", sorted(TINY))
def test_critic_scores_each_sample_alone(name: str) -> None:
    arch, encoding, _ = TINY[name]
    torch.manual_seed(0)
    critic = build_model(name, arch, encoding)["critic"].eval()
    x = torch.from_numpy(tiny_data(name, 6)).float()
    with torch.no_grad():
        together = critic(x)
        alone = torch.cat([critic(x[i : i + 1]) for i in range(len(x))])
        shuffled = critic(x.flip(0)).flip(0)
    torch.testing.assert_close(together, alone)
    torch.testing.assert_close(together, shuffled)


def test_critic_logit_is_unbounded() -> None:
    """No sigmoid inside: a critic with a large output bias scores beyond 1."""
    arch, encoding, _ = TINY["s1_bilstm"]
    critic = build_model("s1_bilstm", arch, encoding)["critic"].eval()
    with torch.no_grad():
        critic.head[-1].bias.fill_(5.0)
        assert (critic(torch.zeros(2, *encoding["shape"])) > 1.0).all()


@pytest.mark.parametrize(
    ("name", "arch", "encoding", "key"),
    [
        (
            "s1_bilstm",
            {"hidden": 4, "dense": 6, "latent": 2, "d_hidden": 3, "dropout": 1.0},
            S1_ENCODING,
            "dropout",
        ),
        ("s1_bilstm", {"hidden": 0, "dense": 6, "latent": 2, "d_hidden": 3}, S1_ENCODING, "hidden"),
        ("s1_cnn_lstm", {"latent": 5, "channels": 1, "d_hidden": 3}, S1_ENCODING, "channels"),
        ("s4_mlp_gan", {"latent": 7, "hidden": 3, "g_hidden": []}, S4_ENCODING, "g_hidden"),
        ("s4_mlp_gan", {"latent": 7, "hidden": 3, "bn_momentum": 0.0}, S4_ENCODING, "bn_momentum"),
        ("s4_mlp_gan", {"latent": 7, "hidden": 3, "g_hiden": [8]}, S4_ENCODING, "g_hiden"),
    ],
)
def test_bad_arch_names_the_key(name: str, arch: dict, encoding: dict, key: str) -> None:
    with pytest.raises(ParamsError, match=rf"arch\.{key}:"):
        parse_arch(name, arch)


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("s1_cnn_lstm", [1, 10, 12]),  # 10 steps: not divisible by 4
        ("s1_bilstm", [2, 8, 12]),  # two tracks
        ("s1_bilstm", [8, 12]),
        ("s4_mlp_gan", [1, 16]),
    ],
)
def test_bad_encoding_shape(name: str, shape: list[int]) -> None:
    arch, _, _ = TINY[name]
    with pytest.raises(ParamsError, match=r"encoding\.shape"):
        build_model(name, arch, {"shape": shape})


def test_s4_batchnorm_uses_keras_momentum() -> None:
    """Keras' BatchNormalization(momentum=0.8) keeps 0.8 of the running value: torch's 0.2."""
    gen = build_model("s4_mlp_gan", {"latent": 7, "hidden": 3}, S4_ENCODING)["generator"]
    norms = [m for m in gen.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert [m.num_features for m in norms] == [256, 512, 1024]
    assert all(m.momentum == pytest.approx(0.2) for m in norms)


CASES = [("s1_bilstm", BCE), ("s1_cnn_lstm", BCE), ("s4_mlp_gan", BCE), ("s4_mlp_gan", WGAN_CLIP)]


@pytest.mark.parametrize(("name", "train"), CASES, ids=[f"{n}-{t['loss']}" for n, t in CASES])
def test_two_training_steps(name: str, train: dict, tmp_path: Path) -> None:
    arch, encoding, (lo, hi) = TINY[name]
    path = train_variant(
        "adversarial",
        name,
        arch,
        train,
        {"train": {"x": tiny_data(name)}},
        encoding,
        tmp_path / "out",
        tmp_path / "logs",
        seed=0,
        max_steps=2,
        progress=False,
    )
    ckpt = load_checkpoint(path)
    assert ckpt.step == 2
    nets = ckpt.build()
    gen, critic = nets["generator"], nets["critic"]
    with torch.no_grad():
        fake = gen(torch.randn(3, *gen.latent_shape))
        scores = critic(fake)
    assert fake.shape == (3, *encoding["shape"]) and scores.shape == (3,)
    assert fake.min() >= lo and fake.max() <= hi and torch.isfinite(scores).all()
    with open(tmp_path / "logs" / "train_log.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert [int(r["step"]) for r in rows] == [1, 2]
    if train["loss"] == "wgan-clip":
        for p in critic.parameters():
            assert p.abs().max() <= train.get("clip_value", 0.01)
