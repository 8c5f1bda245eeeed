"""Put this checkout's ``src/`` first on ``sys.path``, before an installed scorelab.

``make setup`` installs scorelab in editable mode from the checkout that created the
venv. DVC runs queued experiments (``dvc exp run --queue``, then ``--run-all``) in
temporary copies of the repository with that same venv: without this, their stages
import the main checkout's code, not the experiment's. Found when S0's Appendix A runs,
queued before a code change, trained with the new code and then failed on their old
params.yaml. Every stage script imports this module first.
"""

import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")
if sys.path[:1] != [SRC]:
    sys.path.insert(0, SRC)
