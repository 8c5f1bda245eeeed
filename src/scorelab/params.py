"""params.yaml: load, validate strictly, and resolve one stage's settings.

Every stage calls :func:`load_params` before doing any work, so an unknown key or a
value of the wrong type fails at once with a :class:`ParamsError` naming the key
(``variants.s0_wgan_gp_jsb.train.n_critc: unknown key``), never after an hour of
training. Every section is checked by a dataclass through the one strict helper
(:func:`scorelab.config.from_dict`): the sections below, codec settings (through the
codec registry), model architectures (``MODELS``) and training and sampling settings
(``TRAINERS``); no other validator exists.

params.yaml is composed from conf/ (:mod:`scorelab.conf`); this module reads the result.
A variant names its trainer, model, dataset and the section of shared defaults it
inherits (``defaults: model`` for S0's WGAN-GP runs, ``defaults: shared.s4_gan`` for
S4's four GANs). Its training settings resolve as

    the defaults section  <  variant ``train:``  <  variant ``<profile>:``

where ``<profile>`` is ``base.profile`` (quick, paper, tiny): every variant carries its
own size for each profile, its paper's values under ``paper``, so "paper" is right for
every system. A profile entry may also hold an ``arch:`` mapping that overrides the
variant's ``arch:`` (the paper's network sizes, a smaller one that fits the CPU budget).
dvc.yaml declares exactly these sections per stage, which is why
``dvc exp run -S model.n_critic=5`` reruns the variants with ``defaults: model`` and
nothing else. A value set by ``-S`` (or by hand in params.yaml) that the active profile
would shadow is refused before any work (:func:`scorelab.conf.check_shadowing`), and
``scorelab config VARIANT`` prints every resolved value with the key it came from.
"""

from __future__ import annotations

import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from scorelab.config import check_value, from_dict
from scorelab.constants import CPU_KERNELS
from scorelab.errors import ParamsError

TOP_KEYS = (
    "base",
    "compute",
    "profiles",
    "corpora",
    "fetched",
    "datasets",
    "model",
    "shared",
    "variants",
    "catalogues",
)
# ``fetched``: corpora from outside the repository (a ``download:`` entry, or a user's
# ``local``/``midi_folder`` folders), each built by a fetch stage first; ``catalogues``:
# the catalogues (conf/catalogues/<name>.yaml) composed into this file, each with a line
# saying what it adds. Both are empty in the default, offline run (scorelab.conf).
OPTIONAL_KEYS = ("fetched", "catalogues")
FOLDER_SOURCES = ("local", "midi_folder")  # read from folders outside the repo: fetched


@dataclass(frozen=True)
class BaseSection:
    """``base:``: the seed of every random draw, the run's size, and where it computes.

    ``device``: ``auto`` takes CUDA when torch sees a GPU, else the CPU; ``cpu`` or ``cuda``
    force one (``cuda`` without a GPU is an error).
    """

    seed: int
    profile: str
    device: Literal["auto", "cpu", "cuda"] = "auto"


@dataclass(frozen=True)
class ComputeSection:
    """``compute:``: how training computes (scorelab.compute, scorelab.training.distributed).

    ``threads`` and ``cpu_kernels`` decide a CPU run's bytes. ``processes`` > 1 trains
    data-parallel under torchrun (the batch is split into equal shares: a multiple of it).
    ``compile`` turns on ``torch.compile`` (same losses within float tolerance, not bytes).
    """

    threads: int = 2
    cpu_kernels: str = "avx2"
    processes: int = 1
    compile: bool = False


@dataclass(frozen=True)
class CorpusCaps:
    """A profile's cap on corpus size (0: every piece)."""

    limit: int = 0


@dataclass(frozen=True)
class ProfileSection:
    """``profiles.<p>:``: run-wide settings of a profile (training sizes live in each variant)."""

    corpus: CorpusCaps = field(default_factory=CorpusCaps)
    sample: dict = field(default_factory=dict)  # caps on sample settings the variants have


@dataclass(frozen=True)
class CorpusSection:
    """``corpora.<c>:``: where a corpus comes from."""

    source: str
    paths: tuple[str, ...] = ()
    tracks: int = 0
    valid_fraction: float = 0.1
    test_fraction: float = 0.1
    limit: int = 0
    max_reject_fraction: float = 0.1
    # Files to fetch into data/raw/<c>/ (a mapping or a list of them: url, filename,
    # size, sha256); ``paths`` then name files there (default: every fetched file).
    download: Any = None
    # Keyword options of the source's lister (scorelab.corpora.readers' table).
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class VariantSection:
    """``variants.<v>:`` without its per-profile sizes (keys named like the profiles).

    Every key is required (``{}`` for none): each is a params dependency in dvc.yaml,
    and DVC refuses a stage whose declared parameter is absent.
    """

    trainer: str
    defaults: str
    dataset: str
    model: str
    arch: dict
    train: dict
    sample: dict


def _section(params: dict, dotted: str, where: str) -> dict:
    """The mapping at a dotted path of params (``model``, ``defaults.s4_gan``)."""
    node: Any = params
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ParamsError(f"{where}: no section {dotted!r} in params.yaml")
        node = node[part]
    if not isinstance(node, dict):
        raise ParamsError(f"{where}: {dotted!r} is not a mapping")
    return node


def all_corpora(params: dict) -> dict:
    """Every corpus by name: the embedded ``corpora`` and the ``fetched`` ones."""
    return {**(params.get("corpora") or {}), **(params.get("fetched") or {})}


def validate(params: dict) -> dict:
    """Check the whole file; return it unchanged. Raises :class:`ParamsError` naming the key.

    The catalogues (conf/catalogues/) are checked when composed: tests compose each one.
    """
    return _validate(params)


def _check_model_fits_codec(params: dict, spec: VariantSection, arch: dict, where: str) -> None:
    """Build the variant's networks on the meta device (no memory, no random draws: ~1 ms)
    for the encoding its codec settings describe, so a shape the model cannot take (a
    pitch range that is not a multiple of 16 for S0's U-Net) fails here, before the corpus
    is read, not in the train stage after it. Only the models' own deliberate
    :class:`ParamsError` counts: an encoding known only from the data (a vocabulary, the
    corpus's track count, taken as 1 here) can make a builder fail otherwise, and the
    train stage decides those."""
    import torch

    from scorelab.codecs import get_codec
    from scorelab.models import get_model_spec, parse_arch

    d = params["datasets"][spec.dataset]
    encoding = get_codec(d["codec"], {k: v for k, v in d.items() if k not in ("corpus", "codec")}).describe()
    if isinstance(encoding.get("shape"), list):
        encoding["shape"] = [s if s is not None else 1 for s in encoding["shape"]]
    try:
        with torch.random.fork_rng(devices=[]), torch.device("meta"):
            get_model_spec(spec.model).builder(parse_arch(spec.model, arch), encoding)
    except ParamsError as exc:
        raise ParamsError(f"{where}: model {spec.model} cannot take dataset {spec.dataset}: {exc}") from exc
    except Exception:  # noqa: BLE001 - a partial encoding; the train stage builds with the real one
        return


def _validate(params: dict) -> dict:
    """:func:`validate` of one merged namespace."""
    from scorelab.codecs import get_codec
    from scorelab.models import get_model_spec, parse_arch
    from scorelab.training import get_trainer

    if not isinstance(params, dict):
        raise ParamsError("params: expected a mapping at the top level")
    unknown = sorted(set(params) - set(TOP_KEYS))
    if unknown:
        raise ParamsError(f"params.{unknown[0]}: unknown key; valid keys are {list(TOP_KEYS)}")
    for key in OPTIONAL_KEYS:
        if not isinstance(params.get(key) or {}, dict):
            raise ParamsError(f"{key}: expected a mapping")
    for key in (k for k in TOP_KEYS if k not in OPTIONAL_KEYS):
        if not isinstance(params.get(key), dict):
            raise ParamsError(f"{key}: required section missing or not a mapping")
    base = from_dict(BaseSection, params["base"], "base")
    compute = from_dict(ComputeSection, params["compute"], "compute")
    if compute.cpu_kernels not in CPU_KERNELS:
        raise ParamsError(f"compute.cpu_kernels: {compute.cpu_kernels!r} is not one of {sorted(CPU_KERNELS)}")
    if compute.threads < 0:
        raise ParamsError(f"compute.threads: must be >= 0 (0: every core), got {compute.threads}")
    if compute.processes < 1:
        raise ParamsError(f"compute.processes: must be >= 1 (1: one process), got {compute.processes}")
    for name, prof in params["profiles"].items():
        from_dict(ProfileSection, prof, f"profiles.{name}")
    if base.profile not in params["profiles"]:
        raise ParamsError(f"base.profile: {base.profile!r} is not one of {sorted(params['profiles'])}")
    from scorelab.corpora.readers import PATHLESS_SOURCES

    clash = sorted(set(params["corpora"]) & set(params.get("fetched") or {}))
    if clash:
        raise ParamsError(f"fetched.{clash[0]}: the name is also in corpora; names must be unique")
    for section in ("corpora", "fetched"):
        for name, c in (params.get(section) or {}).items():
            corpus = from_dict(CorpusSection, c, f"{section}.{name}")
            outside = corpus.download is not None or corpus.source in FOLDER_SOURCES
            if section == "corpora" and outside:
                raise ParamsError(
                    f"corpora.{name}: a corpus from outside the repository (download: or source "
                    f"{corpus.source}) goes under fetched:, which gives it a fetch stage"
                )
            if section == "fetched" and not outside:
                raise ParamsError(
                    f"fetched.{name}: nothing to fetch (no download: entry and source {corpus.source!r} "
                    f"is not one of {list(FOLDER_SOURCES)}); put it under corpora:"
                )
            if corpus.download is not None:
                from scorelab.corpora.fetch import parse_downloads

                parse_downloads(corpus.download, name)
            elif not corpus.paths and corpus.source not in PATHLESS_SOURCES:
                raise ParamsError(f"{section}.{name}.paths: required (or a download: entry)")
    corpora = all_corpora(params)
    for name, d in params["datasets"].items():
        where = f"datasets.{name}"
        if not isinstance(d, dict) or "corpus" not in d or "codec" not in d:
            raise ParamsError(f"{where}: needs 'corpus' and 'codec' keys")
        if d["corpus"] not in corpora:
            raise ParamsError(f"{where}.corpus: unknown corpus {d['corpus']!r}")
        try:
            get_codec(d["codec"], {k: v for k, v in d.items() if k not in ("corpus", "codec")})
        except (ParamsError, ValueError, TypeError) as exc:
            raise ParamsError(f"{where}: {exc}") from exc
    profiles = list(params["profiles"])
    for name, v in params["variants"].items():
        where = f"variants.{name}"
        if not isinstance(v, dict):
            raise ParamsError(f"{where}: expected a mapping")
        spec = from_dict(VariantSection, {k: x for k, x in v.items() if k not in profiles}, where)
        for pname in profiles:
            if not isinstance(v.get(pname), dict):
                raise ParamsError(
                    f"{where}.{pname}: missing; every variant gives its training size under each "
                    f"profile ({', '.join(profiles)}), {{}} for none"
                )
        if spec.dataset not in params["datasets"]:
            raise ParamsError(f"{where}.dataset: unknown dataset {spec.dataset!r}")
        try:
            get_model_spec(spec.model)
            trainer = get_trainer(spec.trainer)
        except ValueError as exc:
            raise ParamsError(f"{where}: {exc}") from exc
        parse_arch(spec.model, spec.arch, f"{where}.arch")
        for pname in profiles:
            parse_arch(spec.model, resolve_arch(params, name, pname), f"{where}.{pname}.arch")
        defaults = _section(params, spec.defaults, f"{where}.defaults")
        hints = typing.get_type_hints(trainer.config)
        for key, value in defaults.items():
            if key not in hints:
                raise ParamsError(
                    f"{spec.defaults}.{key}: unknown key for trainer {spec.trainer} "
                    f"(variant {name}); valid keys are {sorted(hints)}"
                )
            check_value(value, hints[key], f"{spec.defaults}.{key}")
        for pname in profiles:
            train = resolve_train(params, name, profile=pname)
            cfg = from_dict(trainer.config, train, f"{where}.train (with {spec.defaults} and {pname})")
            from_dict(trainer.sample_config, resolve_sample(params, name, pname), f"{where}.sample ({pname})")
            if pname == base.profile:
                _check_model_fits_codec(params, spec, resolve_arch(params, name, pname), where)
            if pname == base.profile and getattr(cfg, "batch_size", 0) % compute.processes:
                raise ParamsError(
                    f"{where}.train (with {spec.defaults} and {pname}).batch_size: {cfg.batch_size} does not "
                    f"split into compute.processes = {compute.processes} equal shares (use a multiple)"
                )
    return params


def load_params(path: Path | str = "params.yaml") -> dict:
    """Read and validate params.yaml. Raises :class:`ParamsError` (naming the key) or on YAML errors."""
    path = Path(path)
    try:
        params = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ParamsError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(params, dict):
        raise ParamsError(f"{path}: expected a mapping at the top level")
    validate(params)
    from scorelab.conf import check_shadowing

    check_shadowing(params, path)
    return params


def profile(params: dict, name: str | None = None) -> dict:
    """The run-wide settings of profile ``name`` (default ``base.profile``)."""
    return params["profiles"][name or params["base"]["profile"]]


def variant(params: dict, name: str) -> dict:
    """One variant's entry; a missing one raises ParamsError listing the variants."""
    try:
        return params["variants"][name]
    except KeyError:
        raise ParamsError(f"unknown variant {name!r}; valid: {', '.join(params['variants'])}") from None


def resolve_corpus(params: dict, name: str, profile_name: str | None = None) -> dict:
    """A corpus entry with the profile's ``corpus.limit`` applied."""
    corpora = all_corpora(params)
    if name not in corpora:
        raise ParamsError(f"corpora.{name}: no such corpus (nor under fetched:)")
    out = dict(corpora[name])
    limit = profile(params, profile_name).get("corpus", {}).get("limit", 0)
    if limit:
        out["limit"] = limit
    return out


def resolve_dataset(params: dict, name: str) -> tuple[str, str, dict]:
    """(corpus name, codec name, codec settings) of a dataset."""
    if name not in params["datasets"]:
        raise ParamsError(f"datasets.{name}: no such dataset")
    d = params["datasets"][name]
    return d["corpus"], d["codec"], {k: v for k, v in d.items() if k not in ("corpus", "codec")}


def train_layers(params: dict, name: str, profile: str | None = None) -> list[tuple[str, dict]]:
    """The layers a variant's training settings resolve from, lowest first, each with the
    key path it lives at: its defaults section, its ``train``, its ``<profile>`` entry
    (without ``arch``). The one statement of the precedence: :func:`resolve_train` merges
    these, and scorelab.conf uses them to say where a value came from and what shadows it."""
    v = variant(params, name)
    prof = profile or params["base"]["profile"]
    return [
        (v["defaults"], _section(params, v["defaults"], f"variants.{name}.defaults")),
        (f"variants.{name}.train", v.get("train", {})),
        (f"variants.{name}.{prof}", {k: x for k, x in v.get(prof, {}).items() if k != "arch"}),
    ]


def arch_layers(params: dict, name: str, profile: str | None = None) -> list[tuple[str, dict]]:
    """Variant ``arch`` < variant ``<profile>.arch``, lowest first, with their key paths."""
    v = variant(params, name)
    prof = profile or params["base"]["profile"]
    override = v.get(prof, {}).get("arch", {})
    if not isinstance(override, dict):
        raise ParamsError(f"variants.{name}.{prof}.arch: expected a mapping")
    return [(f"variants.{name}.arch", v.get("arch", {})), (f"variants.{name}.{prof}.arch", override)]


def _merge(layers: list[tuple[str, dict]]) -> dict:
    out: dict = {}
    for _, layer in layers:
        out.update(layer)
    return out


def resolve_train(params: dict, name: str, profile: str | None = None) -> dict:
    """The defaults section < variant ``train`` < variant ``<profile>`` (without its ``arch``)."""
    return _merge(train_layers(params, name, profile))


def resolve_arch(params: dict, name: str, profile: str | None = None) -> dict:
    """Variant ``arch`` < variant ``<profile>.arch``."""
    return _merge(arch_layers(params, name, profile))


def resolve_sample(params: dict, name: str, profile_name: str | None = None) -> dict:
    """variant ``sample`` < profile ``sample``, the profile touching only keys the variant has."""
    v = dict(variant(params, name).get("sample", {}))
    for k, val in profile(params, profile_name).get("sample", {}).items():
        if k in v:
            v[k] = val
    return v


def resolve_compute(params: dict) -> dict:
    """``compute:`` with its defaults filled in (a params dict built by hand may omit it)."""
    return asdict(from_dict(ComputeSection, params.get("compute", {}), "compute"))
