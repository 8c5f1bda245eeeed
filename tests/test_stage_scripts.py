"""Stage scripts import the scorelab of their own checkout, not the venv's editable install.

DVC runs queued experiments in temporary copies of the repository with the same venv,
whose editable install points at the main checkout (stages/_here.py says why it matters).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGES = sorted(p.stem for p in (ROOT / "stages").glob("*.py") if not p.stem.startswith("_"))


@pytest.mark.parametrize("stage", STAGES)
def test_a_copied_checkout_runs_its_own_code(stage, tmp_path):
    copy = tmp_path / "exp"
    shutil.copytree(ROOT / "stages", copy / "stages")
    shutil.copytree(ROOT / "src", copy / "src", ignore=shutil.ignore_patterns("__pycache__"))
    init = copy / "src" / "scorelab" / "__init__.py"
    init.write_text(init.read_text() + "\nraise SystemExit('imported the copy')\n")
    res = subprocess.run(
        [sys.executable, str(copy / "stages" / f"{stage}.py"), "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert res.returncode != 0 and "imported the copy" in res.stderr
