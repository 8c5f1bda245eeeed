"""Each stage's code fingerprints (dvc.yaml) against what the stage actually imports.

A stage's code dependencies are two or three files the ``code`` stage writes
(``build/code/...``, :mod:`scorelab.codedeps`): each the MD5s of the import closure of a
stage script, a model, a trainer or a codec. For every stage of the committed dvc.yaml
(each variant's, dataset's and corpus's own, as DVC resolves them), the scorelab files
the stage can import are read here from the source plus the registry entries it looks
up by name (a train stage's ``src/scorelab/models/<model>.py`` and trainer, a dataset's
codec), and compared with the union of its fingerprints' closures:

- nothing the stage imports is missing (DVC would call it up to date after an edit that
  changes it), except :data:`NOT_DEPS` (how the process runs), which no fingerprint
  holds, so that editing them reruns nothing;
- nothing is covered that it does not import, except for sample, evaluate and judge
  stages: DVC can name a variant's dataset but not that dataset's codec, so they carry
  every codec's closure (``build/code/all_codecs.txt``);
- no stage but ``code`` names a source file or folder itself.

So editing a module reruns the stages that import it and no other (issue 20: an edit of
utils.py used to retrain every variant).
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import pytest
import yaml

from scorelab.codedeps import ALL_CODECS, NOT_DEPS, ROOT, closure, fingerprint_roots, write_fingerprints

FINGERPRINTS = "build/code/"
ALL_CODECS_DEP = f"{FINGERPRINTS}{ALL_CODECS}.txt"


@functools.cache
def _params(catalogues: bool = False) -> dict:
    if not catalogues:
        return yaml.safe_load((ROOT / "params.yaml").read_text())
    from scorelab.conf import compose_text

    return yaml.safe_load(compose_text(ROOT / "conf", ["catalogues=[papers]"]))


def _stages(catalogues: bool = False) -> list[tuple[str, list[str]]]:
    """(stage name, its code deps as written, resolved) for every stage DVC sees: with the
    committed params.yaml, or (``catalogues``) with every catalogue switched on, read in a
    scratch DVC project holding only dvc.yaml and that params.yaml."""
    import tempfile

    from dvc.dependency.param import ParamsDependency
    from dvc.repo import Repo

    with tempfile.TemporaryDirectory() as tmp:
        root = ROOT
        if catalogues:
            root = Path(tmp)
            Repo.init(str(root), no_scm=True)
            (root / "dvc.yaml").write_text((ROOT / "dvc.yaml").read_text())
            (root / "params.yaml").write_text(yaml.safe_dump(_params(catalogues=True), sort_keys=False))
        with Repo(str(root)) as repo:
            return [
                (
                    stage.name,
                    [
                        str(Path(d.def_path))
                        for d in stage.deps
                        if not isinstance(d, ParamsDependency)
                        and str(d.def_path).startswith(("src/", "stages", FINGERPRINTS))
                    ],
                )
                for stage in repo.index.stages
            ]


def _codec_file(params: dict, dataset: str) -> Path:
    return ROOT / "src/scorelab/codecs" / f"{params['datasets'][dataset]['codec']}.py"


def imported(stage: str, params: dict) -> set[str]:
    """The repository files stage ``stage`` (``train@s0_wgan_gp_jsb``) can import."""
    group, _, key = stage.partition("@")
    script = {"fetched_corpus": "corpus", "evaluate_data": "evaluate", "judge": "evaluate"}.get(group, group)
    roots = [ROOT / "stages" / f"{script}.py"]
    if group in ("train", "sample"):
        v = params["variants"][key]
        roots += [
            ROOT / "src/scorelab/models" / f"{v['model']}.py",
            ROOT / "src/scorelab/training" / f"{v['trainer']}.py",
        ]
    if group in ("sample", "evaluate"):
        roots.append(_codec_file(params, params["variants"][key]["dataset"]))
    if group in ("encode", "evaluate_data", "judge"):
        roots.append(_codec_file(params, key))
    for r in roots:
        assert r.is_file(), f"{stage}: {r.relative_to(ROOT)} does not exist (registry names are file names)"
    return {str(p.relative_to(ROOT)) for p in closure(roots)}


@functools.cache
def _roots() -> dict[str, list[Path]]:
    return fingerprint_roots(ROOT)


def declared(deps: list[str]) -> set[str]:
    """The repository files a stage's fingerprint deps cover (each one's import closure)."""
    out: set[str] = set()
    for d in deps:
        assert d.startswith(FINGERPRINTS), f"{d}: only the code stage names source files"
        rel = d.removeprefix(FINGERPRINTS)
        assert rel in _roots(), f"{d}: the code stage writes no such fingerprint"
        out |= {str(f.relative_to(ROOT)) for f in closure(_roots()[rel])}
    return out - set(NOT_DEPS)


@functools.cache
def _all_codecs() -> frozenset[str]:
    return frozenset(str(f.relative_to(ROOT)) for f in closure(_roots()[f"{ALL_CODECS}.txt"]))


STAGES = [s for s in _stages() if s[0] != "code"]
# every catalogue on: the papers' corpora (fetch stages), their datasets and variants
STAGES_ALL = [s for s in _stages(catalogues=True) if s[0] not in dict(STAGES) and s[0] != "code"]


@pytest.mark.parametrize(
    "stage,deps,catalogues",
    [(s, d, False) for s, d in STAGES] + [(s, d, True) for s, d in STAGES_ALL],
    ids=[s for s, _ in STAGES] + [s for s, _ in STAGES_ALL],
)
def test_stage_deps_are_its_imports(stage: str, deps: list[str], catalogues: bool) -> None:
    params = _params(catalogues)
    uses = imported(stage, params)
    has = declared(deps)
    missing = sorted(uses - has - set(NOT_DEPS))
    assert not missing, f"{stage} imports these, but dvc.yaml does not list them: {missing}"
    shared = _all_codecs() if ALL_CODECS_DEP in deps else frozenset()
    extra = sorted(p for p in has - uses if p not in shared)
    assert not extra, f"{stage} covers these in its fingerprints but never imports them: {extra}"


def test_the_code_stage_reads_the_two_source_folders() -> None:
    code = dict(_stages())["code"]
    assert sorted(code) == ["src/scorelab", "stages"]


def test_fingerprints_change_exactly_where_the_code_does(tmp_path) -> None:
    """A copy of the checkout's code: editing process handling changes no fingerprint;
    editing one model changes that model's and no stage script's."""
    for folder in ("src/scorelab", "stages"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))

    def prints() -> dict[str, str]:
        write_fingerprints(tmp_path / "fp", tmp_path)
        return {str(p.relative_to(tmp_path / "fp")): p.read_text() for p in (tmp_path / "fp").rglob("*.txt")}

    before = prints()
    assert len(before) == len(fingerprint_roots(ROOT)) > 40
    line = before["models/s4_lstm.txt"].splitlines()[0].split("  ")
    assert len(line) == 2 and len(line[0]) == 32 and (tmp_path / line[1]).is_file()
    with (tmp_path / "src/scorelab/process.py").open("a") as f:
        f.write("\n# an edit of process handling\n")
    assert prints() == before
    with (tmp_path / "src/scorelab/models/s4_lstm.py").open("a") as f:
        f.write("\n# an edit of one model\n")
    after = prints()
    changed = sorted(k for k in before if before[k] != after[k])
    assert "models/s4_lstm.txt" in changed
    assert not [k for k in changed if k.startswith(("stages/", "codecs/", "training/"))], changed
    with (tmp_path / "src/scorelab/utils.py").open("a") as f:
        f.write("\n# an edit every stage imports\n")
    assert all(prints()[k] != after[k] for k in after if k.startswith("stages/"))


def test_every_stage_group_is_checked() -> None:
    groups = {s.partition("@")[0] for s, _ in STAGES + STAGES_ALL}
    assert {"corpus", "encode", "train", "sample", "evaluate_data", "evaluate", "judge", "report"} <= groups
    assert {"fetch", "fetched_corpus"} <= groups
    assert len(STAGES) > 90  # all 26 variants in the default run
    assert len(STAGES_ALL) > 25  # the papers catalogue's stages were found


def test_no_stage_without_torch_imports_it() -> None:
    """Stages that neither train nor sample never import torch (issue 20: ~2 s each): no
    file they can import mentions it, not even inside a function."""
    for stage, _, catalogues in [(s, d, False) for s, d in STAGES] + [(s, d, True) for s, d in STAGES_ALL]:
        params = _params(catalogues)
        if stage.partition("@")[0] in ("train", "sample"):
            continue
        for f in imported(stage, params):
            text = (ROOT / f).read_text()
            assert "import torch" not in text and "from torch" not in text, (
                f"{stage} can import torch via {f}"
            )
