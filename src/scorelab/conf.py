"""conf/ -> params.yaml: composition, the shadowing check, and where each setting comes from.

Why params.yaml is composed. ``dvc exp run -S key=value`` rewrites params.yaml through
DVC's own YAML dumper, which drops YAML anchors, aliases and ``<<:`` merges (DVC issues
#8720, #10984: will not be supported). The old design switched catalogues on with
``external: *seeds`` and copied variants with ``<<:``; one ``-S`` run broke both. DVC's
own answer for choosing config files by name is Hydra composition (``hydra.enabled`` in
.dvc/config): the source lives in ``conf/`` (``config.yaml`` and one file per catalogue
in ``conf/catalogues/``), and every ``dvc exp run -S ...`` composes it, with the
overrides, into a plain params.yaml. So

    dvc exp run -S model.n_critic=1                  a knob
    dvc exp run -S 'catalogues=[papers]'             a catalogue switched on, by name
    dvc exp run -S 'catalogues=[papers,extras]'      two

all work, and repeat. :func:`compose` calls DVC's own composition function, so
``scorelab params`` writes the bytes DVC writes, and a test keeps the committed
params.yaml equal to the composition of conf/.

Why a shadowing check. A variant's training settings are layered (its defaults section
< its ``train:`` < its ``<profile>:`` entry), so a value set in a lower layer can be
overridden by the active profile. Set by hand in conf/ that is the design (the
``quick`` profile's own learning rate for a short CPU run). Set by ``-S`` it would be
silently ignored: ``-S model.lr_g=2e-4`` under ``quick`` changed nothing and still
reran S0's training. :func:`check_shadowing` compares params.yaml with conf/'s
composition: a value that differs (set by ``-S`` or edited in params.yaml) and that the
active profile shadows is refused before any work, naming the key that shadows it.

:func:`resolve_with_sources` answers "where did this value come from" for
``scorelab config``: each resolved value with the file and key path that set it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from scorelab.errors import ParamsError

CONF_DIR = "conf"
CONFIG_NAME = "config"
_MISSING = object()


def conf_dir_for(params_path: Path | str) -> Path | None:
    """The conf/ folder beside ``params_path``, or None when there is none (a params file
    of the user's own is read as it is)."""
    d = Path(params_path).resolve().parent / CONF_DIR
    return d if (d / f"{CONFIG_NAME}.yaml").is_file() else None


def catalogue_names(conf_dir: Path) -> list[str]:
    """The catalogues that conf/catalogues/ offers."""
    return sorted(p.stem for p in (conf_dir / "catalogues").glob("*.yaml"))


def _overrides_for(catalogues: list[str], overrides: list[str]) -> list[str]:
    if any(o.split("=", 1)[0].lstrip("+~") == "catalogues" for o in overrides):
        return list(overrides)
    return [f"catalogues=[{','.join(catalogues)}]", *overrides] if catalogues else list(overrides)


def compose_text(conf_dir: Path, overrides: list[str] = ()) -> str:
    """params.yaml's text for conf/ with Hydra ``overrides`` (DVC's own composition).

    Raises
    ------
    ParamsError
        An override or a catalogue that does not compose, or a catalogue that redefines a
        name of the main sections (Hydra would merge the two entries silently).
    """
    import tempfile

    from dvc.utils.hydra import compose_and_dump

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "params.yaml"
        try:
            compose_and_dump(
                out, str(Path(conf_dir).resolve()), None, CONFIG_NAME, str(conf_dir), list(overrides)
            )
        except Exception as exc:  # noqa: BLE001 - Hydra's many error types, one message
            raise ParamsError(f"{conf_dir}: cannot compose with {list(overrides)}: {exc}") from exc
        text = out.read_text()
    _check_catalogue_names(conf_dir, yaml.safe_load(text) or {})
    return text


def _check_catalogue_names(conf_dir: Path, composed: dict) -> None:
    """A catalogue's corpora, datasets and variants must be new names."""
    main = yaml.safe_load((conf_dir / f"{CONFIG_NAME}.yaml").read_text()) or {}
    for name in composed.get("catalogues") or {}:
        path = conf_dir / "catalogues" / f"{name}.yaml"
        if not path.is_file():
            continue
        cat = yaml.safe_load(path.read_text()) or {}
        for section in ("corpora", "fetched", "datasets", "variants"):
            clash = sorted(set(cat.get(section) or {}) & set(main.get(section) or {}))
            if clash:
                raise ParamsError(
                    f"{path}: {section}.{clash[0]} is also in {conf_dir / 'config.yaml'}; a catalogue "
                    "adds new names (Hydra would merge the two entries into one)"
                )


def compose(conf_dir: Path, catalogues: list[str] = (), overrides: list[str] = ()) -> dict:
    """The composed params as a dict (cached by the bytes of conf/ and the overrides).

    The cache (``.dvc/tmp/scorelab-conf/``) makes the check in every stage cost a file
    read instead of Hydra's ~0.4 s.
    """
    ov = _overrides_for(list(catalogues), list(overrides))
    h = hashlib.sha256(json.dumps(ov).encode())
    for f in sorted(Path(conf_dir).rglob("*.yaml")):
        h.update(str(f.relative_to(conf_dir)).encode() + b"\0" + f.read_bytes() + b"\0")
    cache_dir = Path(conf_dir).resolve().parent / ".dvc" / "tmp" / "scorelab-conf"
    cached = cache_dir / f"{h.hexdigest()}.json"
    if cached.is_file():
        try:
            return json.loads(cached.read_text())
        except (OSError, ValueError):
            pass
    result = yaml.safe_load(compose_text(conf_dir, ov))
    if cache_dir.parent.is_dir():
        from scorelab.utils import write_json

        cache_dir.mkdir(exist_ok=True)
        write_json(cached, result)
    return result


def write_params(params_path: Path, overrides: list[str] = (), keep_catalogues: bool = True) -> str:
    """Compose conf/ into ``params_path`` (with ``overrides``); return the text written.

    ``keep_catalogues``: without a ``catalogues=`` override, keep the catalogues the
    current params.yaml has switched on (so an edit in conf/ does not switch them off).
    """
    conf_dir = conf_dir_for(params_path)
    if conf_dir is None:
        raise ParamsError(f"{Path(params_path).resolve().parent / CONF_DIR}: no conf/config.yaml to compose")
    catalogues: list[str] = []
    if keep_catalogues and Path(params_path).is_file():
        current = yaml.safe_load(Path(params_path).read_text()) or {}
        catalogues = list(current.get("catalogues") or {})
    text = compose_text(conf_dir, _overrides_for(catalogues, list(overrides)))
    from scorelab.utils import atomic_path

    with atomic_path(params_path) as tmp:
        Path(tmp).write_text(text)
    return text


def get_path(d: Any, dotted: str) -> Any:
    """The value at a dotted key path, or ``_MISSING``."""
    node = d
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def changed_keys(params: dict, composed: dict, prefix: str = "") -> list[str]:
    """Dotted paths of leaves where ``params`` differs from ``composed`` (added or changed)."""
    out = []
    for k, v in params.items():
        path = f"{prefix}{k}"
        other = composed.get(k, _MISSING) if isinstance(composed, dict) else _MISSING
        if isinstance(v, dict) and isinstance(other, dict):
            out.extend(changed_keys(v, other, f"{path}."))
        elif other is _MISSING or other != v:
            out.append(path)
    return out


def shadowed(params: dict, composed: dict) -> list[tuple[str, str]]:
    """(changed key, the key that shadows it under the active profile) for every value
    that differs from conf/'s composition and has no effect on the run."""
    prof = params["base"]["profile"]
    changed = set(changed_keys(params, composed))

    def hit(key: str) -> bool:
        return key in changed or any(c.startswith(key + ".") for c in changed)

    out: list[tuple[str, str]] = []
    for name, v in (params.get("variants") or {}).items():
        entry = v.get(prof) or {}
        sec = v.get("defaults", "")
        train = v.get("train") or {}
        for k in entry:
            if k == "arch":
                for a in entry["arch"] or {}:
                    if hit(f"variants.{name}.arch.{a}"):
                        out.append((f"variants.{name}.arch.{a}", f"variants.{name}.{prof}.arch.{a}"))
                continue
            for lower in (f"{sec}.{k}", f"variants.{name}.train.{k}"):
                if get_path(params, lower) is not _MISSING and hit(lower):
                    out.append((lower, f"variants.{name}.{prof}.{k}"))
        for k in train:
            if k not in entry and get_path(params, f"{sec}.{k}") is not _MISSING and hit(f"{sec}.{k}"):
                out.append((f"{sec}.{k}", f"variants.{name}.train.{k}"))
        for k in (params["profiles"].get(prof) or {}).get("sample") or {}:
            if k in (v.get("sample") or {}) and hit(f"variants.{name}.sample.{k}"):
                out.append((f"variants.{name}.sample.{k}", f"profiles.{prof}.sample.{k}"))
    limit = ((params["profiles"].get(prof) or {}).get("corpus") or {}).get("limit", 0)
    if limit:
        for section in ("corpora", "fetched"):
            for name in params.get(section) or {}:
                if hit(f"{section}.{name}.limit"):
                    out.append((f"{section}.{name}.limit", f"profiles.{prof}.corpus.limit"))
    return sorted(set(out))


def check_shadowing(params: dict, params_path: Path | str) -> None:
    """Refuse a params.yaml in which a value set outside conf/ would have no effect.

    Raises
    ------
    ParamsError
        Naming the value, where conf/ has it, and the key that shadows it.
    """
    conf_dir = conf_dir_for(params_path)
    if conf_dir is None:
        return
    composed = compose(conf_dir, list(params.get("catalogues") or {}))
    found = shadowed(params, composed)
    if found:
        key, by = found[0]
        raise ParamsError(
            f"{key} = {get_path(params, key)!r} has no effect: {by} = {get_path(params, by)!r} overrides it "
            f"under profile {params['base']['profile']!r} (conf/ has {key} = "
            f"{_show(get_path(composed, key))}). Set {by} instead"
            + (
                f" ({len(found) - 1} more such key(s): {', '.join(k for k, _ in found[1:4])})"
                if len(found) > 1
                else ""
            )
        )


def _show(value: Any) -> str:
    return "nothing" if value is _MISSING else repr(value)


def _source_file(conf_dir: Path | None, top: str, name: str | None) -> str:
    """The conf/ file that defines ``top.name`` (a catalogue's or config.yaml)."""
    if conf_dir is None:
        return "params.yaml"
    if name is not None:
        for path in sorted((conf_dir / "catalogues").glob("*.yaml")):
            cat = yaml.safe_load(path.read_text()) or {}
            if name in (cat.get(top) or {}):
                return str(path.relative_to(conf_dir.parent))
    return str((conf_dir / f"{CONFIG_NAME}.yaml").relative_to(conf_dir.parent))


def resolve_with_sources(
    params: dict, variant: str, params_path: Path | str = "params.yaml", profile: str | None = None
) -> dict:
    """A variant's resolved settings, each value with the file and key path it came from.

    Returns ``{section: {key: {"value": v, "from": "file: key.path"}}}`` for the sections
    model (architecture), training, sampling, dataset (codec settings), corpus and the
    variant's identity (trainer, model, dataset, codec). A value that differs from conf/'s
    composition is attributed to params.yaml (set by ``dvc exp run -S`` or by hand).
    """
    from scorelab.params import all_corpora, resolve_arch, resolve_corpus, resolve_sample, resolve_train
    from scorelab.params import variant as get_variant

    prof = profile or params["base"]["profile"]
    v = get_variant(params, variant)
    conf_dir = conf_dir_for(params_path)
    composed = compose(conf_dir, list(params.get("catalogues") or {})) if conf_dir else params
    changed = set(changed_keys(params, composed))

    def src(key: str) -> str:
        top, _, rest = key.partition(".")
        name = (
            rest.split(".", 1)[0] if top in ("variants", "datasets", "corpora", "fetched", "shared") else None
        )
        if key in changed:
            return f"params.yaml: {key} (conf/ has {_show(get_path(composed, key))})"
        if top == "shared":
            name = None
        return f"{_source_file(conf_dir, top, name)}: {key}"

    def entry(value: Any, key: str) -> dict:
        return {"value": value, "from": src(key)}

    out: dict[str, dict] = {
        "variant": {},
        "model": {},
        "training": {},
        "sampling": {},
        "dataset": {},
        "corpus": {},
    }
    for k in ("trainer", "model", "dataset", "defaults"):
        out["variant"][k] = entry(v[k], f"variants.{variant}.{k}")
    out["variant"]["profile"] = (
        entry(prof, "base.profile") if profile is None else {"value": prof, "from": "--profile"}
    )
    sec = v["defaults"]
    for k, value in resolve_train(params, variant, prof).items():
        if k in (v.get(prof) or {}):
            key = f"variants.{variant}.{prof}.{k}"
        elif k in (v.get("train") or {}):
            key = f"variants.{variant}.train.{k}"
        else:
            key = f"{sec}.{k}"
        out["training"][k] = entry(value, key)
    for k, value in resolve_arch(params, variant, prof).items():
        key = (
            f"variants.{variant}.{prof}.arch.{k}"
            if k in ((v.get(prof) or {}).get("arch") or {})
            else f"variants.{variant}.arch.{k}"
        )
        out["model"][k] = entry(value, key)
    caps = (params["profiles"][prof] or {}).get("sample") or {}
    for k, value in resolve_sample(params, variant, prof).items():
        key = f"profiles.{prof}.sample.{k}" if k in caps else f"variants.{variant}.sample.{k}"
        out["sampling"][k] = entry(value, key)
    d = params["datasets"][v["dataset"]]
    for k, value in d.items():
        out["dataset"][k] = entry(value, f"datasets.{v['dataset']}.{k}")
    cname = d["corpus"]
    section = "fetched" if cname in (params.get("fetched") or {}) else "corpora"
    limit = ((params["profiles"][prof] or {}).get("corpus") or {}).get("limit", 0)
    saved = params["base"]["profile"]
    params["base"]["profile"] = prof
    try:
        corpus = resolve_corpus(params, cname)
    finally:
        params["base"]["profile"] = saved
    assert cname in all_corpora(params)
    for k, value in corpus.items():
        key = f"profiles.{prof}.corpus.limit" if (k == "limit" and limit) else f"{section}.{cname}.{k}"
        out["corpus"][k] = entry(value, key)
    return out
