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
    dvc exp run -S 'catalogues=[papers,mine]'        two (a catalogue of one's own)

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


def _catalogues(conf_dir: Path) -> dict[Path, dict]:
    """Each catalogue file of conf/ with its parsed content."""
    return {p: yaml.safe_load(p.read_text()) or {} for p in sorted((conf_dir / "catalogues").glob("*.yaml"))}


def _check_catalogue_names(conf_dir: Path, composed: dict) -> None:
    """A catalogue's corpora, datasets and variants must be new names."""
    main = yaml.safe_load((conf_dir / f"{CONFIG_NAME}.yaml").read_text()) or {}
    on = set(composed.get("catalogues") or {})
    for path, cat in _catalogues(conf_dir).items():
        if path.stem not in on:
            continue
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
    read instead of Hydra's ~0.4 s. It keeps the keys' order, so the cached dict and a
    fresh one iterate alike.
    """
    ov = _overrides_for(list(catalogues), list(overrides))
    h = hashlib.sha256(b"ordered\0" + json.dumps(ov).encode())  # cache format: keys in order
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
        from scorelab.utils import atomic_path

        cache_dir.mkdir(exist_ok=True)
        # Keys in params.yaml's order, not sorted: a cached compose must equal a fresh one
        # down to the order of its sections (tests parametrize over it; pytest-xdist's
        # workers, one reading the cache and one writing it, must collect the same list).
        with atomic_path(cached) as tmp:
            tmp.write_text(json.dumps(result, indent=2) + "\n")
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


def composed_for(params: dict, params_path: Path | str, overrides: list[str] = ()) -> dict | None:
    """conf/ composed with the catalogues ``params`` has on (and ``overrides``), or None
    when there is no conf/ beside ``params_path``."""
    conf_dir = conf_dir_for(params_path)
    if conf_dir is None:
        return None
    return compose(conf_dir, list(params.get("catalogues") or {}), list(overrides))


def differences(params_path: Path | str, overrides: list[str] = ()) -> list[str]:
    """Every key where ``params_path`` and conf/ composed (with its catalogues and
    ``overrides``) differ, either way: `scorelab params --check`."""
    if conf_dir_for(params_path) is None:
        raise ParamsError(f"{Path(params_path).resolve().parent / CONF_DIR}: no conf/config.yaml beside it")
    current = (yaml.safe_load(Path(params_path).read_text()) if Path(params_path).is_file() else {}) or {}
    composed = composed_for(current, params_path, overrides)
    return sorted(set(changed_keys(current, composed)) | set(changed_keys(composed, current)))


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

    from scorelab.params import arch_layers, train_layers

    out: list[tuple[str, str]] = []
    for name, v in (params.get("variants") or {}).items():
        for layers in (train_layers(params, name), arch_layers(params, name)):
            for k in {k for _, layer in layers for k in layer}:
                having = [f"{path}.{k}" for path, layer in layers if k in layer]
                out.extend((lower, having[-1]) for lower in having[:-1] if hit(lower))
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
    composed = composed_for(params, params_path)
    if composed is None:
        return
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


def _owners(conf_dir: Path | None) -> dict[tuple[str, str], str]:
    """(section, name) -> the catalogue file that defines it; the rest is config.yaml's."""
    if conf_dir is None:
        return {}
    return {
        (section, name): str(path.relative_to(conf_dir.parent))
        for path, cat in _catalogues(conf_dir).items()
        for section in ("corpora", "fetched", "datasets", "variants")
        for name in cat.get(section) or {}
    }


def resolve_with_sources(
    params: dict, variant: str, params_path: Path | str = "params.yaml", profile: str | None = None
) -> dict:
    """A variant's resolved settings, each value with the file and key path it came from.

    Returns ``{section: {key: {"value": v, "from": "file: key.path"}}}`` for the sections
    model (architecture), training, sampling, dataset (codec settings), corpus and the
    variant's identity (trainer, model, dataset, codec). A value that differs from conf/'s
    composition is attributed to params.yaml (set by ``dvc exp run -S`` or by hand).
    """
    from scorelab.params import arch_layers, resolve_corpus, resolve_sample, train_layers
    from scorelab.params import variant as get_variant

    prof = profile or params["base"]["profile"]
    v = get_variant(params, variant)
    conf_dir = conf_dir_for(params_path)
    composed = composed_for(params, params_path) or params
    changed = set(changed_keys(params, composed))
    owners = _owners(conf_dir)
    default_file = str(Path(CONF_DIR) / f"{CONFIG_NAME}.yaml") if conf_dir else "params.yaml"

    def entry(value: Any, key: str) -> dict:
        if key in changed:
            conf_value = _show(get_path(composed, key))
            return {"value": value, "from": f"params.yaml: {key} (conf/ has {conf_value})"}
        top, _, rest = key.partition(".")
        return {"value": value, "from": f"{owners.get((top, rest.split('.', 1)[0]), default_file)}: {key}"}

    def layered(layers: list[tuple[str, dict]]) -> dict:
        """Each key's value and path from the highest layer that sets it."""
        found: dict[str, tuple[Any, str]] = {}
        for path, layer in layers:
            found.update({k: (x, f"{path}.{k}") for k, x in layer.items()})
        return {k: entry(x, key) for k, (x, key) in found.items()}

    out: dict[str, dict] = {"variant": {}}
    for k in ("trainer", "model", "dataset", "defaults"):
        out["variant"][k] = entry(v[k], f"variants.{variant}.{k}")
    out["variant"]["profile"] = (
        entry(prof, "base.profile") if profile is None else {"value": prof, "from": "--profile"}
    )
    out["model"] = layered(arch_layers(params, variant, prof))
    out["training"] = layered(train_layers(params, variant, prof))
    caps = (params["profiles"][prof] or {}).get("sample") or {}
    out["sampling"] = {
        k: entry(x, f"profiles.{prof}.sample.{k}" if k in caps else f"variants.{variant}.sample.{k}")
        for k, x in resolve_sample(params, variant, prof).items()
    }
    d = params["datasets"][v["dataset"]]
    out["dataset"] = {k: entry(x, f"datasets.{v['dataset']}.{k}") for k, x in d.items()}
    cname = d["corpus"]
    section = "fetched" if cname in (params.get("fetched") or {}) else "corpora"
    limit = ((params["profiles"][prof] or {}).get("corpus") or {}).get("limit", 0)
    out["corpus"] = {
        k: entry(x, f"profiles.{prof}.corpus.limit" if (k == "limit" and limit) else f"{section}.{cname}.{k}")
        for k, x in resolve_corpus(params, cname, prof).items()
    }
    return out
