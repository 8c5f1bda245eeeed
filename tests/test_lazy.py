"""The lazy registries (scorelab.lazy) and the process settings (scorelab.process).

A registry lists its names without importing anything and imports a name's module on its
first lookup; stages rely on that to import only their own model, trainer and codec
(issue 20). Each check runs in a fresh interpreter, since this test process has long
imported everything.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from scorelab.lazy import Registry
from scorelab.process import SPIN_COUNT, WAIT_POLICY, quiet_waits


def _fresh(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_listing_names_imports_no_module():
    out = _fresh(
        "import sys\n"
        "from scorelab.models import MODELS\n"
        "from scorelab.training.registry import TRAINERS\n"
        "from scorelab.codecs import CODECS\n"
        "names = sorted(MODELS) + sorted(TRAINERS) + sorted(CODECS)\n"
        "prefixes = ('scorelab.models.', 'scorelab.training.', 'scorelab.codecs.')\n"
        "mods = [m for m in sys.modules if m.startswith(prefixes)]\n"
        "print(len(names), 'torch' in sys.modules, sorted(mods))"
    )
    count, torch_loaded, mods = out.split(" ", 2)
    assert int(count) == 14 + 7 + 8  # models, trainers, codecs
    assert torch_loaded == "False"
    assert mods == "['scorelab.codecs.base', 'scorelab.training.registry']", mods


def test_a_lookup_imports_exactly_that_module():
    out = _fresh(
        "import sys\n"
        "from scorelab.models import get_model_spec\n"
        "from scorelab.training.registry import get_trainer\n"
        "from scorelab.codecs import get_codec\n"
        "get_model_spec('s4_lstm'); get_trainer('likelihood'); get_codec('melody_tokens')\n"
        "print(sorted(m for m in sys.modules if m.startswith(('scorelab.models.', 'scorelab.codecs.'))))"
    )
    expected = [
        "scorelab.codecs.base",
        "scorelab.codecs.keys",
        "scorelab.codecs.melody_tokens",
        "scorelab.models.s4_lstm",
    ]
    assert out == str(expected), out


def test_registry_lookup_register_and_errors():
    reg: Registry[int] = Registry("thing", "scorelab.no_such_package", ("ghost",))
    assert "ghost" in reg and sorted(reg) == ["ghost"] and len(reg) == 1
    reg.register("toy", 3)
    assert reg["toy"] == 3 and sorted(reg) == ["ghost", "toy"]
    with pytest.raises(ValueError, match=r"unknown thing 'nope'; valid things are \['ghost', 'toy'\]"):
        reg.get_or_raise("nope")
    with pytest.raises(ModuleNotFoundError):  # a built-in name whose module is missing
        reg["ghost"]
    assert reg.pop("toy") == 3 and "toy" not in reg


def test_a_module_that_does_not_register_its_name_is_an_error():
    reg: Registry[int] = Registry("thing", "scorelab", ("errors",))  # scorelab/errors.py registers nothing
    with pytest.raises(RuntimeError, match="scorelab.errors did not register thing 'errors'"):
        reg["errors"]


def test_quiet_waits_sets_passive_unless_the_environment_chose(monkeypatch):
    """PASSIVE with a spin of SPIN_COUNT rounds (libgomp's) when the environment set no
    policy; a policy the environment set is left whole, with no spin count added; a spin
    count the environment set is kept."""
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    assert quiet_waits() == WAIT_POLICY == "PASSIVE"
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    assert os.environ["GOMP_SPINCOUNT"] == SPIN_COUNT == "1000"
    monkeypatch.delenv("GOMP_SPINCOUNT")
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert quiet_waits() == "ACTIVE"
    assert "GOMP_SPINCOUNT" not in os.environ
    monkeypatch.delenv("OMP_WAIT_POLICY")
    monkeypatch.setenv("GOMP_SPINCOUNT", "5")
    assert quiet_waits() == "PASSIVE"
    assert os.environ["GOMP_SPINCOUNT"] == "5"


def test_a_stage_script_sets_the_wait_policy_before_torch_starts(tmp_path):
    """The stage's own process: run_stage sets it before the command runs (and so before
    any torch import, which reads it when OpenMP starts)."""
    code = (
        "import os, sys; sys.argv = ['x', '--help']\n"
        "from scorelab.process import run_stage\n"
        "def main(): pass\n"
        "try:\n    run_stage(main)\nexcept SystemExit:\n    pass\n"
        "print(os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT'), 'torch' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip().splitlines()[-1] == "PASSIVE 1000 False"


def test_the_drawing_stages_own_process_imports_no_matplotlib():
    """The sample and report stages draw in worker processes (scorelab.workers); their own
    process imports the drawing modules for the functions it hands over, but not matplotlib
    (about 0.2 s of a stage's start, issue 20), until a figure is drawn in it."""
    out = _fresh(
        "import sys\n"
        "import scorelab.pipeline.sample, scorelab.pipeline.report, scorelab.report.build\n"
        "import scorelab.pictures, scorelab.report.training\n"
        "before = 'matplotlib' in sys.modules\n"
        "scorelab.pictures.new_figure(figsize=(1, 1))\n"
        "print(before, 'matplotlib.figure' in sys.modules)"
    )
    assert out == "False True", out
