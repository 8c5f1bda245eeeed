"""What the reference Transformers reach with more steps than the default run gives them.

The default run trains each family's Transformer for the quick profile's 100 steps: its
share of the five minutes issue 24 allows the three of them, not where its curve
flattens. This script trains a variant for more steps (``--steps``, default 800) with
the real stage functions into a temporary folder, samples it, and judges it in the form
of every dataset of its family exactly as the ``judge`` stage does (the pairs are read
from dvc.yaml). Its quality curve, eight snapshots spread over the run, is judged point by
point, so one run prints the whole curve: steps, then the relative score in each dataset
(0 the naive noise, 1 the held-out test split), beside the default run's committed value.

Run after ``dvc repro`` (the encoded data and the data's evaluation must exist), with
nothing else busy (torch's threads, see docs/reproducibility.md):

    python benchmarks/transformer_budget.py                           # all three, 800 steps
    python benchmarks/transformer_budget.py --variants transformer_jsb --steps 400
    python benchmarks/transformer_budget.py --steps 600 --out benchmarks/results/transformer_budget.json

With ``--out`` it also writes what it measured as JSON (with the machine, the date and
whether anything else was running, which you say with ``--machine``): the report stage
reads the committed benchmarks/results/transformer_budget.json to say, beside each
Transformer line, what the same model reaches with more steps (issue 24).

This is a measurement, not a test: nothing asserts on its numbers.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from scorelab.params import load_params, variant  # noqa: E402
from scorelab.pipeline.evaluate import run_judge  # noqa: E402
from scorelab.pipeline.sample import run_sample  # noqa: E402
from scorelab.pipeline.train import run_train  # noqa: E402

FAMILIES = ("transformer_jsb", "transformer_erk", "transformer_classical")


def judged_pairs() -> dict[str, list[str]]:
    """{variant: [datasets it is judged in]}, from dvc.yaml's judge stage."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    pairs: dict[str, list[str]] = {}
    for dataset, item in stages["judge"]["foreach"].items():
        pairs.setdefault(item["variant"], []).append(dataset)
    return pairs


def committed(dataset: str) -> float | None:
    """The default run's judged relative score in ``dataset`` (metrics/judged)."""
    path = ROOT / "metrics/judged" / dataset / "samples.json"
    return json.loads(path.read_text()).get("relative") if path.exists() else None


def curve(path: Path) -> dict[int, float]:
    """{step: relative} from a judged quality_log.tsv."""
    if not path.exists():
        return {}
    with path.open() as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return {int(r["step"]): float(r["relative"]) for r in rows if r["relative"] not in ("", "None", "nan")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", nargs="+", default=list(FAMILIES))
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--out", type=Path, help="also write the results as JSON here")
    ap.add_argument("--machine", default="", help="where this ran, for the JSON (CPU, cores, load)")
    args = ap.parse_args()
    results: dict[str, dict] = {}
    params = load_params(ROOT / "params.yaml")
    pairs = judged_pairs()
    for name in args.variants:
        p = copy.deepcopy(params)
        p["variants"][name].setdefault("quick", {})["max_steps"] = args.steps
        data = ROOT / "data/encoded" / variant(p, name)["dataset"]
        with tempfile.TemporaryDirectory(prefix="transformer_budget_") as tmp:
            work = Path(tmp)
            t0 = time.perf_counter()
            run_train(p, name, data, work / "models", work / "logs", progress=False)
            seconds = time.perf_counter() - t0
            run_sample(p, name, work / "models", data, work / "samples")
            curves, final = {}, {}
            for dataset in pairs.get(name, []):
                out = work / "judged" / dataset
                run_judge(
                    p,
                    name,
                    dataset,
                    work / "samples",
                    ROOT / "data/encoded" / dataset,
                    ROOT / "evaluation/data" / dataset,
                    out,
                    work / "evaluation" / dataset,
                )
                curves[dataset] = curve(out / "quality_log.tsv")
                got = json.loads((out / "samples.json").read_text())
                final[dataset] = (got.get("relative"), got.get("pieces_kept"), got.get("pieces_in"))
        results[name] = {
            "steps": args.steps,
            "train_seconds": round(seconds, 1),
            "curves": {d: {str(k): round(v, 4) for k, v in c.items()} for d, c in curves.items()},
            "final": {
                d: {"relative": None if r is None else round(r, 4), "pieces_kept": k, "pieces_in": n}
                for d, (r, k, n) in final.items()
            },
        }
        print(f"\n{name}: {args.steps} steps trained in {seconds:.0f} s (this machine)")
        datasets = list(curves)
        print("step  " + "  ".join(f"{d:>16}" for d in datasets))
        for step in sorted({s for c in curves.values() for s in c}):
            row = [curves[d].get(step) for d in datasets]
            print(f"{step:>4}  " + "  ".join(f"{'-' if v is None else f'{v:.3f}':>16}" for v in row))
        for d in datasets:
            rel, kept, pieces_in = final[d]
            shown = "-" if rel is None else f"{rel:.3f}"
            print(
                f"  {d}: {args.steps} steps, final set: relative {shown} ({kept}/{pieces_in} pieces kept);"
                f" the default run (quick profile): {committed(d)}"
            )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "measured_by": "benchmarks/transformer_budget.py",
            "date": time.strftime("%Y-%m-%d"),
            "machine": args.machine,
            "variants": results,
        }
        args.out.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
