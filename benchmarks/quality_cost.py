"""What the verdicts cost: sample + evaluate of a variant as before and as now.

Before: 32 pieces per sample set (16 for S3's LSTMs), no quality curve. Now: 100 pieces
per set, and the main set sampled again from each of the seven snapshots kept during
training, each scored (the quality log). Both run the real stage functions
(:func:`scorelab.pipeline.sample.run_sample`, :func:`scorelab.pipeline.evaluate.run_evaluate_variant`)
on the trained model in ``models/<variant>`` into a temporary folder, one after the
other, and print wall seconds and the ratio. Run after ``dvc repro`` (the models, the
encoded data and the data's evaluation must exist), with nothing else busy:

    python benchmarks/quality_cost.py                    # every default variant
    python benchmarks/quality_cost.py --variants s4_lstm_erk s0_wgan_gp_jsb

This is a measurement, not a test: nothing asserts on its numbers.
"""

from __future__ import annotations

import argparse
import copy
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from scorelab.params import load_params, variant  # noqa: E402
from scorelab.pipeline.evaluate import run_evaluate_variant  # noqa: E402
from scorelab.pipeline.sample import run_sample  # noqa: E402

OLD_PIECES = {"s3_lstm_mse": 16, "s3_lstm_weighted": 16}  # the rest: 32 (and 16 accompaniments)


def old_params(params: dict, name: str) -> dict:
    """``params`` with the variant's sample counts as they were before 100 pieces."""
    p = copy.deepcopy(params)
    sample = p["variants"][name].setdefault("sample", {})
    n = OLD_PIECES.get(name, 32)
    sample["n"] = n
    if "accompaniment" in sample:
        sample["accompaniment"] = 16
    return p


def timed(params: dict, name: str, model_dir: Path, work: Path) -> tuple[float, float]:
    """(sample seconds, evaluate seconds) of one variant into ``work``."""
    v = variant(params, name)
    data = ROOT / "data/encoded" / v["dataset"]
    t0 = time.perf_counter()
    run_sample(params, name, model_dir, data, work / "samples")
    t1 = time.perf_counter()
    run_evaluate_variant(
        params,
        name,
        work / "samples",
        data,
        ROOT / "evaluation/data" / v["dataset"],
        work / "metrics",
        work / "evaluation",
    )
    return t1 - t0, time.perf_counter() - t1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", nargs="*", default=None)
    args = ap.parse_args()
    params = load_params(ROOT / "params.yaml")
    names = args.variants or list(params["variants"])
    print(
        f"{'variant':<24}{'before: sample':>16}{'evaluate':>10}"
        f"{'now: sample':>13}{'evaluate':>10}{'ratio':>8}"
    )
    totals = [0.0, 0.0]
    for name in names:
        model = ROOT / "models" / name
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            bare = tmp / "model_without_snapshots"  # the old run: no weights kept on the way
            shutil.copytree(model, bare, ignore=shutil.ignore_patterns("snapshots"))
            before = timed(old_params(params, name), name, bare, tmp / "before")
            now = timed(params, name, model, tmp / "now")
        totals[0] += sum(before)
        totals[1] += sum(now)
        print(
            f"{name:<24}{before[0]:>16.1f}{before[1]:>10.1f}{now[0]:>13.1f}{now[1]:>10.1f}"
            f"{sum(now) / sum(before):>7.1f}x"
        )
    print(f"{'total':<24}{totals[0]:>26.1f}{totals[1]:>23.1f}{totals[1] / totals[0]:>7.1f}x")


if __name__ == "__main__":
    main()
