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
