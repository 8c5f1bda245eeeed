"""Models: every registered model trains two steps; configs are strict; U-Net shapes."""

from __future__ import annotations

import ast
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from scorelab.config import from_dict
from scorelab.errors import ParamsError
from scorelab.models import MODELS, build_model, get_model_spec
from scorelab.models.s0_unet import S0UNetArch, build_s0_unet
from scorelab.training.checkpoint import load_checkpoint
from scorelab.training.registry import get_trainer
from scorelab.training.run import train_variant

MODELS_DIR = Path(__file__).resolve().parents[1] / "src/scorelab/models"

# The smallest config of every registered model and the trainer that trains it; a new
# model must add one here (test_every_model_has_a_tiny_config fails until it does).
TINY = {
    "s0_unet": {
        "arch": {"base_channels": 2, "latent_channels": 3},
        "encoding": {"shape": [2, 16, 32]},
        "trainer": "adversarial",
        "train": {"loss": "wgan-gp", "n_critic": 2, "batch_size": 3, "iterations": 10, "checkpoint_every": 5},
    },
    "frame_rnn": {
        "arch": {"hidden": 4, "output": "nade", "nade_hidden": 3},
        "encoding": {"n_keys": 6},
        "trainer": "frames",
        "train": {"lr": 1e-3, "epochs": 3, "batch_size": 2, "checkpoint_every": 5},
    },
    "transformer": {
        "arch": {"width": 8, "layers": 1, "heads": 2, "feedforward": 16, "context": 8},
        "encoding": {"vocab_size": 5},
        "trainer": "likelihood",
        "train": {
            "lr": 1e-3,
            "epochs": 3,
            "batch_size": 2,
            "window": 4,
            "loss_on": "all",
            "checkpoint_every": 5,
        },
    },
    "s4_lstm": {
        "arch": {"hidden": 8, "dropout": 0.1},
        "encoding": {"vocab_size": 5},
        "trainer": "likelihood",
        "train": {"lr": 1e-3, "epochs": 3, "batch_size": 2, "window": 4, "checkpoint_every": 5},
    },
    "s1_bilstm": {
        "arch": {"hidden": 4, "dense": 6, "latent": 3, "d_hidden": 4},
        "encoding": {"shape": [1, 8, 12]},
        "trainer": "adversarial",
        "train": {"loss": "bce", "n_gen": 2, "optimizer_g": "sgd", "batch_size": 3, "iterations": 10},
    },
    "s1_cnn_lstm": {
        "arch": {"latent": 5, "channels": 4, "d_hidden": 4},
        "encoding": {"shape": [1, 8, 12]},
        "trainer": "adversarial",
        "train": {"loss": "bce", "batch_size": 3, "iterations": 10},
    },
    "s4_mlp_gan": {
        "arch": {"latent": 6, "hidden": 4, "g_hidden": [8, 8, 8]},
        "encoding": {"shape": [16]},
        "trainer": "adversarial",
        "train": {"loss": "wgan-clip", "n_critic": 2, "batch_size": 3, "iterations": 10, "noise_std": 0.1},
    },
    "s2_vae": {
        "arch": {"channels": [2, 3], "hidden": 4, "latent": 2},
        "encoding": {"shape": [1, 8, 8], "scale": 255},
        "trainer": "vae",
        "train": {"epochs": 3, "batch_size": 2, "checkpoint_every": 5},
    },
    "s2_dcgan": {
        "arch": {"latent": 4, "dense_channels": 2, "channels": 3},
        "encoding": {"shape": [1, 8, 8], "scale": 255},
        "trainer": "adversarial",
        "train": {"loss": "bce", "batch_size": 3, "iterations": 10},
    },
    "s3_hilbert_ae": {
        "arch": {"channels": [2, 3, 4, 4]},
        "encoding": {"shape": [1, 16, 16], "scale": 1},
        "trainer": "autoencoder",
        "train": {"epochs": 3, "batch_size": 2, "checkpoint_every": 5, "blowup_factor": 3.0},
    },
    "s3_lstm": {
        "arch": {"hidden": 4, "classes": 3},
        "encoding": {"shape": [1, 6, 12], "scale": 255},
        "trainer": "next_column",
        "train": {"iterations": 5, "batch_size": 2, "in_columns": 4, "loss": "ce3", "eval_every": 1},
    },
    "s3_seq2seq": {
        "arch": {"hidden": 4},
        "encoding": {"shape": [1, 6, 12], "scale": 255},
        "trainer": "next_column",
        "train": {"iterations": 5, "batch_size": 2, "in_columns": 4, "out_columns": 3, "loss": "weighted"},
    },
    "image_mlp_gan": {
        "arch": {"latent": 4, "g_hidden": [6, 8], "d_hidden": [5]},
        "encoding": {"shape": [1, 6, 10], "scale": 255},
        "trainer": "adversarial",
        "train": {"loss": "bce", "batch_size": 3, "iterations": 10},
    },
    "naive_bernoulli": {
        "arch": {"per": "pitch"},
        "encoding": {"shape": [2, 16, 32]},
        "trainer": "density",
        "train": {},
    },
}


def tiny_data(name: str) -> dict:
    """Random data of the model's encoding, for every split its trainer reads."""
    cfg, rng = TINY[name], np.random.default_rng(0)
    if "n_keys" in cfg["encoding"]:  # whole pieces of key frames, 3 per split, 2-4 frames each

        def split(n: int) -> dict:
            lengths = rng.integers(2, 5, n)
            x = (rng.random((int(lengths.sum()), cfg["encoding"]["n_keys"])) < 0.3).astype(np.uint8)
            return {"x": x, "starts": np.concatenate([[0], np.cumsum(lengths)[:-1]]), "lengths": lengths}

        return {"train": split(3), "valid": split(3), "test": split(3)}
    if "vocab_size" in cfg["encoding"]:
        stream = rng.integers(0, cfg["encoding"]["vocab_size"], 40)
        return {"train": {"x": stream}, "valid": {"x": stream[:12]}, "test": {"x": stream[12:24]}}
    shape = cfg["encoding"]["shape"]
    if len(shape) == 1:  # note-index sequences in [-1, 1)
        return {"train": {"x": rng.uniform(-1, 1, (5, *shape)).astype(np.float32)}}
    scale = cfg["encoding"].get("scale", 1)  # image codecs: uint8 0/255
    cells = lambda n: ((rng.random((n, *shape)) < 0.1) * scale).astype(np.uint8)  # noqa: E731
    return {"train": {"x": cells(5)}, "valid": {"x": cells(2)}, "test": {"x": cells(3)}}


def train_tiny(name: str, out: Path, max_steps: int = 2) -> Path:
    """Run the model's trainer through the real harness on tiny random data."""
    cfg = TINY[name]
    return train_variant(
        cfg["trainer"],
        name,
        cfg["arch"],
        cfg["train"],
        tiny_data(name),
        cfg["encoding"],
        out,
        out,
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
    rows = [line.split("\t") for line in lines[1:]]
    steps = min(2, len(rows))  # the density trainer's fit is one step
    assert [int(r[0]) for r in rows] == list(range(1, steps + 1))
    assert all(math.isfinite(float(v)) for r in rows for v in r[1:])
    ckpt = load_checkpoint(path)
    assert (ckpt.model_name, ckpt.step, ckpt.trainer) == (name, steps, TINY[name]["trainer"])
    assert (tmp_path / "resume.pt").exists() == (steps == 2)  # stopped early: resumable


@pytest.mark.parametrize("name", sorted(MODELS))
def test_build_returns_the_modules_its_trainer_needs(name):
    built = build_model(name, TINY[name]["arch"], TINY[name]["encoding"])
    assert all(isinstance(m, torch.nn.Module) for m in built.values())
    assert set(get_trainer(TINY[name]["trainer"]).modules) <= set(built)


def test_one_module_per_model_name():
    """A DVC train stage depends on exactly ``src/scorelab/models/${item.model}.py``."""
    modules = {p.stem for p in MODELS_DIR.glob("*.py")} - {"__init__", "base", "shared"}
    assert modules == set(MODELS)
    for name in MODELS:
        assert f'register_model("{name}", ' in (MODELS_DIR / f"{name}.py").read_text()


def scorelab_imports(path: Path) -> set[str]:
    """The scorelab modules that ``path`` imports (``from scorelab.models import x`` counts as x)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            found.add("." * node.level + (node.module or ""))  # relative: never allowed
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("scorelab"):
            found.add(node.module)
            if node.module == "scorelab.models":
                found |= {f"scorelab.models.{a.name}" for a in node.names if a.name in MODELS}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("scorelab")}
    return found


@pytest.mark.parametrize("path", sorted(MODELS_DIR.glob("*.py")), ids=lambda p: p.stem)
def test_no_model_module_imports_another(path):
    """A stage imports its own model's module only: no model module imports another's."""
    common = {"scorelab.config", "scorelab.errors", "scorelab.models.base", "scorelab.models.shared"}
    allowed = {
        "__init__": {"scorelab.config", "scorelab.lazy"},
        "base": common,
        "shared": common,
        # its KV-cached sampler draws each token with the token sampler every likelihood
        # model uses (scorelab/sampling/tokens.py), so a seed gives the same draws
        "transformer": common | {"scorelab.models", "scorelab.sampling.tokens"},
    }.get(path.stem, common | {"scorelab.models"})
    assert scorelab_imports(path) <= allowed


def test_importing_the_registry_imports_no_model_and_no_torch():
    """Listing the names imports nothing: a stage loads torch and its own model only."""
    code = (
        "import sys, scorelab.models as m; "
        "names = sorted(m.MODELS); "
        "assert 's2_dcgan' in names and 'image_dcgan' not in m.MODELS, names; "
        "loaded = sorted(k for k in sys.modules if k == 'torch' or k.startswith('scorelab.models.')); "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_dcgan_takes_s3s_multichannel_images():
    """S3's image DCGAN and WGAN-GP are ``s2_dcgan`` on 1, 3 or 4 channels, any multiple of 4."""
    built = build_model("s2_dcgan", {"latent": 4, "dense_channels": 2, "channels": 3}, {"shape": [3, 8, 12]})
    fake = built["generator"](torch.randn(2, 4))
    assert fake.shape == (2, 3, 8, 12) and built["critic"](fake).shape == (2,)


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
    built = build_s0_unet(S0UNetArch(base_channels=2, latent_channels=512), {"shape": [4, 32, 128]})
    gen, critic = built["generator"], built["critic"]
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
    gen = build_model("s0_unet", TINY["s0_unet"]["arch"], TINY["s0_unet"]["encoding"])["generator"]
    gen.eval()
    melody = (torch.rand(4, 1, 16, 32) < 0.2).float()
    conditioned = torch.tensor([True, False, True, False])
    roll = gen(torch.randn(4, *gen.latent_shape), (melody, conditioned))
    assert torch.equal(roll[conditioned, :1], melody[conditioned])
    assert not torch.equal(roll[~conditioned, :1], melody[~conditioned])  # free track 0
    real = torch.cat([melody[:2], torch.zeros(2, 1, 16, 32)], dim=1)  # (2, C=2, T, P), melody in track 0
    rng = torch.Generator().manual_seed(0)
    assert torch.equal(gen(torch.randn(2, *gen.latent_shape), gen.condition(real, rng))[:, :1], melody[:2])


def test_condition_hook_hides_a_share_of_melodies_in_training_only():
    gen = build_model(
        "s0_unet", {**TINY["s0_unet"]["arch"], "condition_dropout": 0.5}, TINY["s0_unet"]["encoding"]
    )
    gen = gen["generator"]
    real = torch.ones(400, 2, 16, 32)
    rng = torch.Generator().manual_seed(0)
    melody, conditioned = gen.train().condition(real, rng)
    assert 150 < int(conditioned.sum()) < 250  # about half kept
    assert torch.equal(melody[~conditioned], torch.zeros_like(melody[~conditioned]))
    _, kept = gen.eval().condition(real, rng)
    assert bool(kept.all())  # accompaniment: every melody is kept
    arch = {**TINY["s0_unet"]["arch"], "condition_dropout": 0.5, "condition_dropout_per": "batch"}
    gen = build_model("s0_unet", arch, TINY["s0_unet"]["encoding"])["generator"].train()
    draws = [gen.condition(real[:8], rng)[1] for _ in range(40)]
    assert all(bool(d.all()) or not bool(d.any()) for d in draws)  # whole batches
    assert 8 < sum(bool(d.all()) for d in draws) < 32


def test_lstm_next_logits_match_the_last_position():
    torch.manual_seed(0)
    model = build_model("s4_lstm", {"hidden": 8, "dropout": 0.2}, {"vocab_size": 5})["model"].eval()
    ids = torch.tensor([[1, 2, 3, 4], [4, 3, 0, 0]])
    logits = model(ids)
    assert logits.shape == (2, 4, 5)
    last = model.next_logits(ids, torch.tensor([4, 2]))
    torch.testing.assert_close(last, torch.stack([logits[0, 3], logits[1, 1]]))


def test_transformer_is_causal_and_its_next_logits_match_the_last_position():
    torch.manual_seed(0)
    arch = {"width": 16, "layers": 2, "heads": 2, "feedforward": 32, "dropout": 0.0, "context": 12}
    model = build_model("transformer", arch, {"vocab_size": 11})["model"].eval()
    ids = torch.randint(0, 11, (3, 10))
    logits = model(ids)
    changed = ids.clone()
    changed[:, -1] = (changed[:, -1] + 1) % 11  # a later token never changes an earlier logit
    torch.testing.assert_close(model(changed)[:, :-1], logits[:, :-1])
    last = model.next_logits(ids, torch.tensor([10, 4, 7]))  # right-padded rows
    torch.testing.assert_close(last, torch.stack([logits[0, 9], logits[1, 3], logits[2, 6]]))
    with pytest.raises(ValueError, match="context"):
        model(torch.zeros(1, 13, dtype=torch.long))


def test_transformer_heads_must_divide_the_width():
    with pytest.raises(ParamsError, match="heads"):
        build_model("transformer", {"width": 10, "heads": 4}, {"vocab_size": 5})


def test_lstm_needs_a_vocabulary():
    with pytest.raises(ParamsError, match="vocab_size"):
        build_model("s4_lstm", {"hidden": 8, "dropout": 0.2}, {})


def test_hilbert_autoencoder_has_s3s_148081_weights():
    from scorelab.models.s3_hilbert_ae import S3_WEIGHTS, count

    model = build_model("s3_hilbert_ae", {}, {"shape": [1, 256, 256]})["model"]
    assert count(model) == S3_WEIGHTS
    x = torch.rand(1, 1, 256, 256)
    assert model(x).shape == x.shape


def test_s2_models_have_s2s_shapes():
    vae = build_model("s2_vae", {}, {"shape": [1, 96, 96]})["model"]
    recon, mu, log_var = vae(torch.rand(2, 1, 96, 96))
    assert recon.shape == (2, 1, 96, 96) and mu.shape == log_var.shape == (2, 2)
    # S2: the flattened 48x48x64 encoder output, 147,456 values
    assert vae.encoder[-2].in_features == 48 * 48 * 64 and vae.expand[0].out_features == 147_456
    built = build_model("s2_dcgan", {}, {"shape": [1, 96, 96]})
    g, d = built["generator"], built["critic"]
    assert g.dense[0].out_features == 24 * 24 * 32  # S2: 18,432 dense nodes
    fake = g(torch.randn(3, 100))
    assert fake.shape == (3, 1, 96, 96) and 0 <= fake.min() and fake.max() <= 1
    assert d(fake).shape == (3,) and d.net[-1].in_features == 24 * 24 * 64  # S2: 36,864


def test_s3_lstms_have_s3s_weight_counts():
    from scorelab.models.s3_hilbert_ae import count

    # PyTorch's LSTMs carry two bias vectors (b_ih + b_hh act as Keras' one): 512 more each
    enc = {"shape": [1, 88, 200]}
    assert count(build_model("s3_lstm", {}, enc)["model"]) == 111_104 + 11_352 + 512  # S3 figure 12
    assert count(build_model("s3_seq2seq", {}, enc)["model"]) == 250_072 + 2 * 512  # S3 figure 16
    three = build_model("s3_lstm", {"classes": 3}, enc)["model"]
    assert three(torch.rand(2, 100, 88)).shape == (2, 88, 3)
    assert build_model("s3_seq2seq", {}, enc)["model"](torch.rand(2, 100, 88), 10).shape == (2, 10, 88)
