"""How long each stage script takes to start: its imports, measured in fresh processes.

Every stage used to import torch and all thirteen models through params validation
(about 2 s per stage, 47 stages; issue 20). Now a stage imports only what it runs. This
prints, for each stage script (and for train and sample with one variant's model and
trainer, as the stage loads them), the median wall time of ``--repeat`` fresh Python
processes that import what the stage imports and stop, whether torch was among them,
and a plain ``python -c pass`` as the baseline measured in the same run.

    python benchmarks/stage_imports.py
    python benchmarks/stage_imports.py --repeat 9 --variant s4_lstm_erk

Target (issue 20): under 0.5 s for every stage that neither trains nor samples. Run it
on a quiet machine; the figures are this machine's, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

# What each stage script imports before it reads any file: its own module-level imports
# and the part of params.yaml it checks (which loads its model, trainer or codec).
PROBES = {
    "corpus": "import stages.corpus",
    "fetch": "import stages.fetch",
    "encode": "import stages.encode; from scorelab.codecs import CODECS; CODECS[{codec!r}]",
    "train": (
        "import stages.train; import scorelab.pipeline.train, scorelab.training.run; "
        "import scorelab.training.check; "
        "from scorelab.models import MODELS; from scorelab.training.registry import TRAINERS; "
        "MODELS[{model!r}]; TRAINERS[{trainer!r}]"
    ),
    "sample": (
        "import stages.sample; import scorelab.training.checkpoint; "
        "from scorelab.models import MODELS; from scorelab.training.registry import TRAINERS; "
        "from scorelab.codecs import CODECS; MODELS[{model!r}]; TRAINERS[{trainer!r}]; CODECS[{codec!r}]"
    ),
    "evaluate": (
        "import stages.evaluate; import scorelab.metrics.sets, scorelab.metrics.headline; "
        "from scorelab.codecs import CODECS; CODECS[{codec!r}]"
    ),
    "report": "import stages.report; import scorelab.report.build",
}


def timed(code: str) -> tuple[float, bool]:
    """Seconds for a fresh interpreter to run ``code``, and whether torch got imported."""
    probe = f"{code}\nimport sys\nprint('torch' in sys.modules)"
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": f"{ROOT / 'src'}:{ROOT}:{ROOT / 'stages'}", "PATH": "/usr/bin:/bin"},
    )
    return time.perf_counter() - t0, out.stdout.strip().endswith("True")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--variant", default="s0_wgan_gp_jsb")
    args = parser.parse_args()
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    v = params["variants"][args.variant]
    fill = {"model": v["model"], "trainer": v["trainer"], "codec": params["datasets"][v["dataset"]]["codec"]}
    base = statistics.median(timed("pass")[0] for _ in range(args.repeat))
    print(
        f"median of {args.repeat} fresh processes; train/sample: {args.variant}; python -c pass: {base:.3f} s"
    )
    print(f"{'stage':10} {'seconds':>8} {'minus python':>13}  torch")
    for stage, code in PROBES.items():
        runs = [timed(code.format(**fill)) for _ in range(args.repeat)]
        seconds = statistics.median(s for s, _ in runs)
        print(f"{stage:10} {seconds:8.3f} {seconds - base:13.3f}  {'yes' if runs[0][1] else 'no'}")


if __name__ == "__main__":
    main()
