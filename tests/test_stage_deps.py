"""dvc.yaml's code dependencies against what each stage actually imports.

For every stage of the committed dvc.yaml (each variant's, dataset's and corpus's own,
as DVC resolves them), the scorelab files the stage can import are read from the source
(tests/stage_imports.py: static, lazy imports included) plus the registry entries it
looks up by name: a train stage's model (``src/scorelab/models/<model>.py``) and
trainer, a dataset's codec. Then:

- nothing the stage imports is missing from its deps (DVC would call it up to date
  after an edit that changes it), except :data:`NOT_DEPS`: modules that cannot change
  what a stage writes (how the process runs), left out so that editing them reruns
  nothing;
- nothing in its deps is a file it does not import, except :data:`SHARED`: the few
  files where DVC's ``foreach`` cannot say it per stage (a stage gets one string per
  dependency, so "this dataset's codec and the helpers it imports" must be spelled for
  every dataset alike). Each carries its reason.

So editing a module reruns the stages that import it and, but for :data:`SHARED`, no
other (issue 20: an edit of utils.py used to retrain every variant).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import yaml
from tests.stage_imports import ROOT, closure

# Imported by stages, never their dependency: they decide how a stage runs as a process
# (dies with DVC, prints errors, waits in OpenMP, finds its src/), not what it writes.
NOT_DEPS = {
    "src/scorelab/process.py": "process handling (dying with DVC, error lines, OpenMP waits)",
    "stages/_here.py": "puts this checkout's src/ first on sys.path",
}

# A dependency a stage may carry without importing it, and why DVC cannot be told better.
TRAINER_HELPER = (
    "a helper some models or trainers import: DVC gives a train or sample stage one model "
    "file and one trainer file (${item.model}, ${item.trainer}), not the files those import"
)
CODEC_IO = (
    "the codecs' own I/O (S2 paints through MIDI, S3's Hilbert codec renders audio): a "
    "stage names its codec, or every codec, not the files a codec imports"
)
SHARED = {
    "src/scorelab/codecs": "sample and evaluate stages are per variant: DVC can name the "
    "variant's dataset but not that dataset's codec, so they depend on every codec",
    "src/scorelab/codecs/keys.py": "the melody codecs' key transposition: an encode stage "
    "names its own codec's file, not the files that codec imports",
    "src/scorelab/io/audio.py": CODEC_IO,
    "src/scorelab/io/soundfont.py": CODEC_IO + " (io/audio.py's player)",
    "src/scorelab/io/hilbert.py": CODEC_IO,
    "src/scorelab/io/midi.py": CODEC_IO,
    "src/scorelab/io/limits.py": CODEC_IO + " (io/midi.py's per-file limits)",
    "src/scorelab/io/__init__.py": CODEC_IO,
    "src/scorelab/models/base.py": TRAINER_HELPER,
    "src/scorelab/models/shared.py": TRAINER_HELPER,
    "src/scorelab/training/batches.py": TRAINER_HELPER,
    "src/scorelab/training/losses.py": TRAINER_HELPER,
    "src/scorelab/training/optim.py": TRAINER_HELPER,
    "src/scorelab/sampling/__init__.py": TRAINER_HELPER,
    "src/scorelab/sampling/generators.py": TRAINER_HELPER,
    "src/scorelab/sampling/tokens.py": TRAINER_HELPER,
}


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
                        and str(d.def_path).startswith(("src/", "stages/"))
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


def declared(deps: list[str]) -> set[str]:
    """The Python files a list of deps covers (a folder: every .py under it)."""
    out: set[str] = set()
    for d in deps:
        path = ROOT / d
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        out |= {str(f.relative_to(ROOT)) for f in files if f.suffix == ".py"}
    return out


def _shared(path: str) -> bool:
    return any(path == s or path.startswith(s + "/") for s in SHARED)


STAGES = _stages()
# every catalogue on: the papers' corpora (fetch stages), their datasets and variants
STAGES_ALL = [s for s in _stages(catalogues=True) if s[0] not in dict(STAGES)]


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
    extra = sorted(p for p in has - uses if not _shared(p))
    assert not extra, f"{stage} lists these in dvc.yaml but never imports them: {extra}"
    wrong = sorted(set(NOT_DEPS) & has)
    assert not wrong, f"{stage} depends on {wrong}, which cannot change its outputs"


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
