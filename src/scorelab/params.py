"""params.yaml: load, validate strictly, and resolve one stage's settings.

Every stage calls :func:`load_params` before doing any work, which checks the file's
shape (:func:`check_structure`: the sections, ``base``, ``compute``, the profiles, each
corpus's, dataset's and variant's keys), then checks its own part before it reads any
data: a corpus stage its corpus (:mod:`scorelab.corpora.check`), an encode stage its
codec settings (:func:`scorelab.codecs.base.check_dataset`), a train stage its variant's
model, trainer and training and sampling settings (:mod:`scorelab.training.check`). So
an unknown key or a value of the wrong type fails at once with a :class:`ParamsError`
naming the key (``variants.s0_wgan_gp_jsb.train.n_critc: unknown key``), never after an
hour of training, and a stage imports only the code it runs (issue 20: this module
imports no codec, model or trainer, so no stage depends on all of them).
:func:`scorelab.validation.validate` checks the whole file at once (``scorelab params``
and the other CLI commands run it). Every section is checked by a dataclass through the
one strict helper (:func:`scorelab.config.from_dict`); no other validator exists.

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

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from scorelab.config import from_dict
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
    ``amp``: bf16 autocast on CUDA (on by default; off trains in float32 there). The CPU
    never autocasts, so it changes nothing there.
    """

    threads: int = 2
    cpu_kernels: str = "avx2"
    processes: int = 1
    compile: bool = False
    amp: bool = True


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
    # Per-file limits (scorelab.io.limits.ReadLimits: max_bytes, max_notes, max_tracks,
    # max_ticks, max_seconds, min_qpm, max_qpm, parse_seconds, memory_mb); {} = defaults.
    limits: dict = field(default_factory=dict)


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


def check_structure(params: dict) -> dict:
    """The file's shape, without importing any codec, model or trainer: the top-level
    sections, ``base``, ``compute``, the profiles, each corpus's keys, each dataset's
    corpus, each variant's keys, profiles and dataset. Every stage runs this first."""
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
    clash = sorted(set(params["corpora"]) & set(params.get("fetched") or {}))
    if clash:
        raise ParamsError(f"fetched.{clash[0]}: the name is also in corpora; names must be unique")
    for section in ("corpora", "fetched"):
        for name, c in (params.get(section) or {}).items():
            from_dict(CorpusSection, c, f"{section}.{name}")
    corpora = all_corpora(params)
    for name, d in params["datasets"].items():
        where = f"datasets.{name}"
        if not isinstance(d, dict) or "corpus" not in d or "codec" not in d:
            raise ParamsError(f"{where}: needs 'corpus' and 'codec' keys")
        if d["corpus"] not in corpora:
            raise ParamsError(f"{where}.corpus: unknown corpus {d['corpus']!r}")
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
    return params


def load_params(path: Path | str = "params.yaml") -> dict:
    """Read params.yaml and check its shape (:func:`check_structure`). Raises
    :class:`ParamsError` (naming the key) or on YAML errors. A stage then checks its own
    part; :func:`scorelab.validation.load_valid_params` checks everything."""
    path = Path(path)
    try:
        # libyaml's parser when PyYAML has it (its wheels do): params.yaml has 1,100 lines
        # and every stage reads it; same safe constructor, so the same values
        params = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise ParamsError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(params, dict):
        raise ParamsError(f"{path}: expected a mapping at the top level")
    check_structure(params)
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
