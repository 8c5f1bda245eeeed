"""params.yaml validation: bad keys and types fail before any work, naming the key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from scorelab.errors import ParamsError
from scorelab.params import load_params, resolve_corpus, resolve_sample, resolve_train, validate

PARAMS = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text())


def test_repository_params_are_valid():
    assert load_params(Path(__file__).resolve().parents[1] / "params.yaml")["base"]["profile"] == "quick"


@pytest.mark.parametrize(
    "edit, key",
    [
        (lambda p: p["model"].update(n_critc=2), "model.n_critc"),
        (lambda p: p["model"].update(n_critic="two"), "model.n_critic"),
        (lambda p: p["base"].update(sead=1), "base.sead"),
        (lambda p: p["base"].update(profile="huge"), "base.profile"),
        (lambda p: p["corpora"]["jsb"].update(tracks="4"), "corpora.jsb.tracks"),
        (lambda p: p["datasets"]["jsb_roll"].update(bars_per_sampel=2), "bars_per_sampel"),
        (
            lambda p: p["variants"]["s0_wgan_gp_jsb"]["arch"].update(base_channel=8),
            "arch.base_channel",
        ),
        (lambda p: p["variants"]["s4_lstm_erk"]["train"].update(lr="fast"), "lr"),
        (lambda p: p["variants"]["s4_lstm_erk"].update(trainer="gibbs"), "gibbs"),
        (lambda p: p["variants"]["s4_lstm_erk"].update(defaults="defaults.nothing"), "defaults.nothing"),
        (lambda p: p["variants"]["s4_lstm_erk"].pop("tiny"), "s4_lstm_erk.tiny"),
        (lambda p: p["variants"]["s0_wgan_gp_jsb"]["quick"].update(n_critc=1), "n_critc"),
        (lambda p: p["variants"]["s0_wgan_gp_jsb"]["paper"].update(optimizer_g="lion"), "optimizer_g"),
        (lambda p: p["variants"]["s0_wgan_gp_jsb"].update(model="nope"), "nope"),
        (
            lambda p: p["variants"]["s0_wgan_gp_jsb"]["sample"].update(temperature=1.0),
            "temperature",
        ),
        (lambda p: p.update(extra={}), "extra"),
        (lambda p: p["profiles"]["tiny"]["corpus"].update(limit="40"), "profiles.tiny.corpus.limit"),
        (lambda p: p["compute"].update(cpu_kernels="avx512"), "compute.cpu_kernels"),
        (lambda p: p["compute"].update(threads=-1), "compute.threads"),
    ],
)
def test_bad_params_name_the_key(edit, key):
    p = copy.deepcopy(PARAMS)
    edit(p)
    with pytest.raises(ParamsError, match=key.replace(".", r"\.")):
        validate(p)


S0, S1, S4 = "variants.s0_wgan_gp_jsb", "variants.s1_bilstm_gan_jsb", "variants.s4_lstm_erk"


@pytest.mark.parametrize(
    "edit, key, reason",
    [
        # a negative learning rate, in each place one can be written
        (
            lambda p: p["variants"]["s4_lstm_erk"]["train"].update(lr=-1.0e-3),
            f"{S4}.train",
            "lr: must be > 0",
        ),
        (lambda p: p["model"].update(lr_d=-1.0e-4), f"{S0}.train", "lr_d: must be > 0"),
        (
            lambda p: p["variants"]["s0_wgan_gp_jsb"]["quick"].update(lr_g=0.0),
            f"{S0}.train",
            "lr_g: must be > 0",
        ),
        # zero iterations, epochs or steps
        (
            lambda p: p["variants"]["s0_wgan_gp_jsb"]["quick"].update(iterations=0),
            S0,
            "iterations: must be > 0",
        ),
        (lambda p: p["defaults"]["s1_gan"].update(iterations=0), S1, "iterations: must be > 0"),
        (lambda p: p["variants"]["s4_lstm_erk"]["quick"].update(epochs=0), S4, "epochs: must be > 0"),
        (lambda p: p["variants"]["s4_lstm_erk"]["train"].update(max_steps=-1), S4, "max_steps: must be >= 0"),
        (lambda p: p["variants"]["s3_lstm_mse"]["train"].update(iterations=0), "s3_lstm_mse", "iterations"),
        # a pitch range the codec cannot hold
        (
            lambda p: p["datasets"]["jsb_roll"].update(pitch_high=200),
            "datasets.jsb_roll",
            "pitch_high <= 128",
        ),
        (lambda p: p["datasets"]["jsb_roll"].update(pitch_low=-4), "datasets.jsb_roll", "0 <= pitch_low"),
        (
            lambda p: p["datasets"]["erk_tokens"].update(pitch_low=90, pitch_high=50),
            "erk_tokens",
            "pitch_low <",
        ),
        (lambda p: p["datasets"]["jsb_roll"].update(pitch_high=100), S0, "must be divisible by 16"),
        # a threshold outside [0, 1]
        (
            lambda p: p["variants"]["s0_wgan_gp_jsb"]["sample"].update(threshold=1.5),
            S0,
            "threshold: must be in [0, 1]",
        ),
        (
            lambda p: p["variants"]["s0_wgan_gp_jsb"]["sample"].update(threshold=-0.1),
            S0,
            "threshold: must be in",
        ),
        (
            lambda p: p["variants"]["s3_lstm_mse"]["train"].update(threshold=0.0),
            "s3_lstm_mse",
            "threshold: must be",
        ),
        # a batch the processes cannot split, and the compute keys
        (lambda p: p["compute"].update(processes=3), S0, "does not split into compute.processes = 3"),
        (lambda p: p["compute"].update(processes=0), "compute.processes", "must be >= 1"),
        (lambda p: p["compute"].update(compile="yes"), "compute.compile", "expected true or false"),
        (lambda p: p["base"].update(device="tpu"), "base.device", "not one of"),
        (
            lambda p: p["variants"]["s4_lstm_erk"]["sample"].update(temperature=0),
            S4,
            "temperature: must be > 0",
        ),
    ],
)
def test_bad_values_fail_naming_the_key_and_the_reason(edit, key, reason):
    """Values of the right type but out of range fail at validation (every stage validates
    before any work), naming where and why. A batch larger than the data needs the data:
    tests/test_faults.py checks it in the train stage, before the first step."""
    p = copy.deepcopy(PARAMS)
    edit(p)
    with pytest.raises(ParamsError) as err:
        validate(p)
    assert key in str(err.value) and reason in str(err.value), str(err.value)


def test_yaml_float_pitfall_is_caught(tmp_path):
    text = (
        (Path(__file__).resolve().parents[1] / "params.yaml")
        .read_text()
        .replace("lr_g: 1.0e-4", "lr_g: 1e-4")
    )
    (tmp_path / "params.yaml").write_text(text)
    with pytest.raises(ParamsError, match="lr_g"):
        load_params(tmp_path / "params.yaml")


def test_precedence_defaults_then_variant_then_profile():
    p = copy.deepcopy(PARAMS)
    p["model"]["n_critic"] = 3
    p["model"]["iterations"] = 10
    p["variants"]["s0_wgan_gp_jsb"]["train"] = {"iterations": 20, "gp_weight": 5.0}
    p["base"]["profile"] = "quick"
    t = resolve_train(p, "s0_wgan_gp_jsb")
    assert t["n_critic"] == 3  # the defaults section (model:), quick leaves it alone
    assert t["gp_weight"] == 5.0  # the variant's train beats the defaults
    assert t["iterations"] == p["variants"]["s0_wgan_gp_jsb"]["quick"]["iterations"]  # its quick size wins
    p["base"]["profile"] = "paper"
    assert resolve_train(p, "s0_wgan_gp_jsb")["n_critic"] == 5  # S0's paper run
    lik = resolve_train(p, "s4_lstm_erk")
    assert lik["epochs"] == 50 and "n_critic" not in lik  # defaults.none: model: is not inherited


def test_profile_limits_corpus_and_samples():
    p = copy.deepcopy(PARAMS)
    p["base"]["profile"] = "tiny"
    assert resolve_corpus(p, "jsb")["limit"] == p["profiles"]["tiny"]["corpus"]["limit"]
    s = resolve_sample(p, "s4_lstm_erk")
    assert s["n"] == 2 and "accompaniment" not in s
