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

# numpy picks its SIMD kernels by CPU at import, and its AVX-512 ones round some results
# differently from its AVX2 ones: on a 2-core AMD EPYC with AVX-512 (2026-12-04) every
# variant's evaluate output (evaluation/variants/*: full-precision metric values) differed
# by a few bytes from the same code's output on an AVX2 EPYC, while the rounded headline
# metrics, corpora, tensors, checkpoints and samples were identical. Limiting numpy to its
# AVX2 kernels (X86_V3, what every x86-64 CPU since 2013 runs) reproduced the AVX2 run's
# bytes exactly, as compute.cpu_kernels does for torch (src/scorelab/compute.py). Before
# numpy is imported, so it must be here; a value already in the environment wins. Names
# a CPU or build does not know are ignored by numpy, and on other architectures nothing
# is set. This file is no stage's DVC dependency: the setting changes no output recorded
# on an AVX2 machine.
if __import__("platform").machine().lower() in ("x86_64", "amd64"):
    __import__("os").environ.setdefault("NPY_DISABLE_CPU_FEATURES", "X86_V4 AVX512_ICL AVX512_SPR")
