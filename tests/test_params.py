"""params.yaml validation: bad keys and types fail before any work, naming the key; conf/
composes into params.yaml; a set value that would have no effect is refused."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
import yaml

from scorelab.conf import catalogue_names, compose, compose_text, resolve_with_sources, write_params
from scorelab.errors import ParamsError
from scorelab.params import resolve_corpus, resolve_sample, resolve_train
from scorelab.validation import load_valid_params, validate

REPO_ROOT = Path(__file__).resolve().parents[1]
PARAMS = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())


def test_repository_params_are_valid():
    assert (
        load_valid_params(Path(__file__).resolve().parents[1] / "params.yaml")["base"]["profile"] == "quick"
    )


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
        (lambda p: p["variants"]["s4_lstm_erk"].update(defaults="shared.nothing"), "shared.nothing"),
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
        (lambda p: p["shared"]["s1_gan"].update(iterations=0), S1, "iterations: must be > 0"),
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
        .replace("lr_g: 0.0001", "lr_g: 1e-4")
    )
    (tmp_path / "params.yaml").write_text(text)
    with pytest.raises(ParamsError, match="lr_g"):
        load_valid_params(tmp_path / "params.yaml")


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


# ---- conf/ -> params.yaml (scorelab.conf)


def _project_copy(tmp_path: Path) -> Path:
    """params.yaml and conf/ of the repository in a temporary folder."""
    shutil.copytree(REPO_ROOT / "conf", tmp_path / "conf")
    shutil.copy(REPO_ROOT / "params.yaml", tmp_path / "params.yaml")
    return tmp_path / "params.yaml"


def test_committed_params_yaml_is_conf_composed():
    """What DVC's `dvc exp run -S` would write with no override is the committed file, byte
    for byte: nobody edited params.yaml by hand, and `scorelab params` was run after conf/."""
    assert compose_text(REPO_ROOT / "conf") == (REPO_ROOT / "params.yaml").read_text()
    text = (REPO_ROOT / "params.yaml").read_text()
    assert "&" not in text.replace("&amp;", "") and "<<:" not in text and "*" not in text  # plain YAML


def test_every_catalogue_composes_and_validates():
    for name in catalogue_names(REPO_ROOT / "conf"):
        p = compose(REPO_ROOT / "conf", [name])
        validate(p)
        assert name in p["catalogues"]
    both = compose(REPO_ROOT / "conf", catalogue_names(REPO_ROOT / "conf"))
    validate(both)


def test_cached_compose_keeps_params_yaml_order(tmp_path):
    """The second compose (read from .dvc/tmp's cache) iterates like the first (Hydra's):
    pytest-xdist's two workers parametrize over PARAMS["variants"], one composing and one
    reading the cache the other wrote, and must collect the same list (CI on a clean clone
    once failed on exactly this: the cache had sorted the keys)."""
    shutil.copytree(REPO_ROOT / "conf", tmp_path / "conf")
    (tmp_path / ".dvc" / "tmp").mkdir(parents=True)
    fresh = compose(tmp_path / "conf")
    assert list((tmp_path / ".dvc/tmp/scorelab-conf").glob("*.json")), "the cache was not written"
    cached = compose(tmp_path / "conf")

    def order(d):
        return [(k, order(v)) for k, v in d.items()] if isinstance(d, dict) else d

    assert order(cached) == order(fresh)
    committed = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    assert list(fresh["variants"]) == list(committed["variants"])
    assert list(fresh["variants"]) != sorted(fresh["variants"])  # else this test could not fail


def test_a_catalogue_may_not_reuse_a_main_name(tmp_path):
    params = _project_copy(tmp_path)
    cat = tmp_path / "conf/catalogues/clash.yaml"
    cat.write_text(
        "# @package _global_\ncatalogues: {clash: x}\nvariants:\n  s4_lstm_erk: {dataset: jsb_roll}\n"
    )
    with pytest.raises(ParamsError, match="variants.s4_lstm_erk is also in"):
        write_params(params, ["catalogues=[clash]"])


def test_a_set_value_that_takes_effect_is_accepted_and_resolved(tmp_path):
    """`-S model.n_critic=1` (here: params.yaml composed with that override): nothing shadows
    it under quick, so it loads and S0 trains with it."""
    path = _project_copy(tmp_path)
    write_params(path, ["model.n_critic=1"])
    p = load_valid_params(path)
    assert resolve_train(p, "s0_wgan_gp_jsb")["n_critic"] == 1
    src = resolve_with_sources(p, "s0_wgan_gp_jsb", path)["training"]["n_critic"]
    assert src["value"] == 1 and src["from"].startswith("params.yaml: model.n_critic (conf/ has 2)")


@pytest.mark.parametrize(
    "override, refused, shadow",
    [
        # quick sets S0's learning rates itself: the issue's silent no-op
        ("model.lr_g=2e-4", "model.lr_g", "variants.s0_wgan_gp_jsb.quick.lr_g"),
        # a variant's train: beats its defaults section
        ("shared.s1_gan.lr_g=0.5", "shared.s1_gan.lr_g", "variants.s1_bilstm_gan_jsb.quick.lr_g"),
        (
            "variants.s4_gan_erk.arch.hidden=128",
            "variants.s4_gan_erk.arch.hidden",
            "variants.s4_gan_erk.quick.arch.hidden",
        ),
        (
            "variants.s4_lstm_erk.train.epochs=3",
            "variants.s4_lstm_erk.train.epochs",
            "variants.s4_lstm_erk.quick.epochs",
        ),
    ],
)
def test_a_set_value_that_the_profile_shadows_is_refused_naming_the_shadowing_key(
    tmp_path, override, refused, shadow
):
    path = _project_copy(tmp_path)
    write_params(path, [override])
    with pytest.raises(ParamsError) as err:
        load_valid_params(path)
    msg = str(err.value)
    assert msg.startswith(f"{refused} = ") and f"{shadow} = " in msg and "has no effect" in msg, msg
    assert f"Set {shadow} instead" in msg


def test_a_hand_edit_of_params_yaml_counts_like_a_set_value(tmp_path):
    path = _project_copy(tmp_path)
    path.write_text(path.read_text().replace("  lr_g: 0.0001\n", "  lr_g: 0.0003\n", 1))
    with pytest.raises(ParamsError, match="model.lr_g = 0.0003 has no effect"):
        load_valid_params(path)


def test_scorelab_config_prints_every_value_with_its_source(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from scorelab.cli import app

    path = _project_copy(tmp_path)
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["config", "s0_wgan_gp_jsb", "--json", "--params", str(path)])
    assert res.exit_code == 0, res.output
    cfg = json.loads(res.output)
    assert set(cfg) == {"variant", "model", "training", "sampling", "dataset", "corpus"}
    assert cfg["training"]["lr_g"] == {
        "value": 5.0e-4,
        "from": "conf/config.yaml: variants.s0_wgan_gp_jsb.quick.lr_g",
    }
    assert cfg["training"]["n_critic"]["from"] == "conf/config.yaml: model.n_critic"
    assert (
        cfg["training"]["mode_seeking"]["from"]
        == "conf/config.yaml: variants.s0_wgan_gp_jsb.train.mode_seeking"
    )
    assert (
        cfg["model"]["latent_channels"]["from"]
        == "conf/config.yaml: variants.s0_wgan_gp_jsb.arch.latent_channels"
    )
    assert cfg["dataset"]["pitch_low"] == {
        "value": 32,
        "from": "conf/config.yaml: datasets.jsb_roll.pitch_low",
    }
    assert cfg["corpus"]["source"]["value"] == "music21"
    paper = json.loads(
        CliRunner()
        .invoke(app, ["config", "s0_wgan_gp_jsb", "--json", "--profile", "paper", "--params", str(path)])
        .output
    )
    assert paper["training"]["n_critic"] == {
        "value": 5,
        "from": "conf/config.yaml: variants.s0_wgan_gp_jsb.paper.n_critic",
    }
    assert paper["training"]["lr_g"]["from"] == "conf/config.yaml: model.lr_g"
    # a catalogue's variant names its catalogue file
    write_params(path, ["catalogues=[papers]"])
    cat = json.loads(
        CliRunner().invoke(app, ["config", "s0_wgan_gp_jsb16", "--json", "--params", str(path)]).output
    )
    assert (
        cat["variant"]["dataset"]["from"] == "conf/catalogues/papers.yaml: variants.s0_wgan_gp_jsb16.dataset"
    )
    text = CliRunner().invoke(app, ["config", "s4_lstm_erk", "--params", str(path)]).output
    assert "variants.s4_lstm_erk.quick.max_steps" in text and "training:" in text
