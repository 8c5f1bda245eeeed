"""params.yaml: load, validate strictly, and resolve one stage's settings.

Every stage calls :func:`load_params` before doing any work, so an unknown key or a
value of the wrong type fails at once with a :class:`ParamsError` naming the key
(``variants.adversarial.s0_wgan_gp_jsb.train.n_critc: unknown key``), never after
an hour of training. Codec settings and model configs are checked by their own strict
dataclasses (through the codec and model registries), so this module only knows the
shape of the file.

Precedence when resolving a variant's training settings:
``model:`` defaults (adversarial only) < the variant's ``train:`` < the active profile.
A profile is the run's size; it wins so that ``base.profile: tiny`` really is tiny.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from scorelab.errors import ParamsError

FAMILIES = ("adversarial", "likelihood")
PROFILE_SECTIONS = ("corpus", "adversarial", "likelihood", "sample")
VARIANT_KEYS = {"dataset": str, "model": str, "arch": dict, "train": dict, "sample": dict}
CORPUS_KEYS = {
    "source": str,
    "paths": list,
    "tracks": int,
    "valid_fraction": float,
    "test_fraction": float,
    "limit": int,
    "max_reject_fraction": float,
}
SAMPLE_KEYS = {
    "adversarial": {"n": int, "accompaniment": int, "threshold": float},
    "likelihood": {"n": int, "temperature": float, "seed_steps": int, "max_steps": int},
}
TOP_KEYS = ("base", "profiles", "corpora", "datasets", "model", "variants", "evaluate")


def _type_ok(value: Any, expected: type) -> bool:
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def check_keys(d: Any, schema: dict[str, type], where: str, required: tuple[str, ...] = ()) -> None:
    """Fail on a non-dict, an unknown key, a missing required key, or a wrong type."""
    if not isinstance(d, dict):
        raise ParamsError(f"{where}: expected a mapping, got {type(d).__name__}")
    for k, v in d.items():
        if k not in schema:
            raise ParamsError(f"{where}.{k}: unknown key (valid: {', '.join(schema)})")
        if not _type_ok(v, schema[k]):
            raise ParamsError(f"{where}.{k}: expected {schema[k].__name__}, got {type(v).__name__} {v!r}")
    for k in required:
        if k not in d:
            raise ParamsError(f"{where}.{k}: required key missing")


def validate(params: dict) -> dict:
    """Check the whole file; return it unchanged. Raises :class:`ParamsError` naming the key."""
    from scorelab.codecs import get_codec
    from scorelab.models import get_model_spec, parse_arch

    check_keys(params, {k: dict for k in TOP_KEYS}, "params", required=TOP_KEYS)
    check_keys(params["base"], {"seed": int, "profile": str}, "base", required=("seed", "profile"))
    for name, prof in params["profiles"].items():
        check_keys(prof, {s: dict for s in PROFILE_SECTIONS}, f"profiles.{name}")
        check_keys(prof.get("corpus", {}), {"limit": int}, f"profiles.{name}.corpus")
    if params["base"]["profile"] not in params["profiles"]:
        raise ParamsError(
            f"base.profile: {params['base']['profile']!r} is not one of {sorted(params['profiles'])}"
        )
    for name, c in params["corpora"].items():
        check_keys(c, CORPUS_KEYS, f"corpora.{name}", required=("source", "paths"))
    for name, d in params["datasets"].items():
        where = f"datasets.{name}"
        if not isinstance(d, dict) or "corpus" not in d or "codec" not in d:
            raise ParamsError(f"{where}: needs 'corpus' and 'codec' keys")
        if d["corpus"] not in params["corpora"]:
            raise ParamsError(f"{where}.corpus: unknown corpus {d['corpus']!r}")
        settings = {k: v for k, v in d.items() if k not in ("corpus", "codec")}
        try:
            get_codec(d["codec"], settings)
        except (ParamsError, ValueError, TypeError) as exc:
            raise ParamsError(f"{where}: {exc}") from exc
    check_keys(params["evaluate"], {"qn_min_steps": int}, "evaluate")
    check_keys(params["variants"], {f: dict for f in FAMILIES}, "variants")
    _check_model_section(params["model"])
    for family in FAMILIES:
        for name, v in params["variants"].get(family, {}).items():
            where = f"variants.{family}.{name}"
            check_keys(v, VARIANT_KEYS, where, required=("dataset", "model"))
            if v["dataset"] not in params["datasets"]:
                raise ParamsError(f"{where}.dataset: unknown dataset {v['dataset']!r}")
            try:
                spec = get_model_spec(v["model"])
            except ValueError as exc:
                raise ParamsError(f"{where}.model: {exc}") from exc
            if spec.family != family:
                raise ParamsError(
                    f"{where}.model: {v['model']} is a {spec.family} model, listed under {family}"
                )
            parse_arch(v["model"], v.get("arch", {}), f"{where}.arch")
            check_keys(v.get("sample", {}), SAMPLE_KEYS[family], f"{where}.sample")
            for pname in params["profiles"]:
                train = resolve_train(params, family, name, profile=pname)
                validate_train(family, train, f"{where}.train (with profile {pname})")
    return params


def validate_train(family: str, train: dict, where: str) -> None:
    """Check a resolved training config against its family's strict dataclass."""
    from scorelab.models.config import from_dict
    from scorelab.training.config import AdversarialTrainConfig, LikelihoodTrainConfig

    cls = AdversarialTrainConfig if family == "adversarial" else LikelihoodTrainConfig
    from_dict(cls, train, where)


def _check_model_section(model: dict) -> None:
    """``model:`` holds adversarial training defaults: only their keys, with their types."""
    import dataclasses
    import typing

    from scorelab.models.config import check_value
    from scorelab.training.config import AdversarialTrainConfig

    fields = {f.name for f in dataclasses.fields(AdversarialTrainConfig)}
    hints = typing.get_type_hints(AdversarialTrainConfig)
    for k, v in model.items():
        if k not in fields:
            raise ParamsError(f"model.{k}: unknown key; valid keys are {sorted(fields)}")
        check_value(v, hints[k], f"model.{k}")


def load_params(path: Path | str = "params.yaml") -> dict:
    """Read and validate params.yaml. Raises :class:`ParamsError` (naming the key) or on YAML errors."""
    path = Path(path)
    try:
        params = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ParamsError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(params, dict):
        raise ParamsError(f"{path}: expected a mapping at the top level")
    return validate(params)


def profile(params: dict, name: str | None = None) -> dict:
    """The active profile's overrides (``base.profile`` unless ``name`` is given)."""
    return params["profiles"][name or params["base"]["profile"]]


def variant(params: dict, family: str, name: str) -> dict:
    """One variant's entry; a missing one raises ParamsError naming it."""
    try:
        return params["variants"][family][name]
    except KeyError:
        raise ParamsError(f"variants.{family}.{name}: no such variant") from None


def find_variant(params: dict, name: str) -> tuple[str, dict]:
    """(family, entry) of a variant given only its name."""
    for family in FAMILIES:
        if name in params["variants"].get(family, {}):
            return family, params["variants"][family][name]
    names = [n for f in FAMILIES for n in params["variants"].get(f, {})]
    raise ParamsError(f"unknown variant {name!r}; valid: {', '.join(names)}")


def resolve_corpus(params: dict, name: str) -> dict:
    """A corpus entry with the profile's ``corpus.limit`` applied."""
    if name not in params["corpora"]:
        raise ParamsError(f"corpora.{name}: no such corpus")
    out = dict(params["corpora"][name])
    limit = profile(params).get("corpus", {}).get("limit", 0)
    if limit:
        out["limit"] = limit
    return out


def resolve_dataset(params: dict, name: str) -> tuple[str, str, dict]:
    """(corpus name, codec name, codec settings) of a dataset."""
    if name not in params["datasets"]:
        raise ParamsError(f"datasets.{name}: no such dataset")
    d = params["datasets"][name]
    return d["corpus"], d["codec"], {k: v for k, v in d.items() if k not in ("corpus", "codec")}


def resolve_train(params: dict, family: str, name: str, profile: str | None = None) -> dict:
    """model defaults (adversarial) < variant.train < profile[family]."""
    v = variant(params, family, name)
    base = dict(params["model"]) if family == "adversarial" else {}
    base.update(v.get("train", {}))
    base.update(params["profiles"][profile or params["base"]["profile"]].get(family, {}))
    return base


def resolve_sample(params: dict, family: str, name: str) -> dict:
    """variant.sample < profile.sample, the profile touching only keys the variant has."""
    v = dict(variant(params, family, name).get("sample", {}))
    for k, val in profile(params).get("sample", {}).items():
        if k in v:
            v[k] = val
    return v
