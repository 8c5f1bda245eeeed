"""A bounded mutation campaign over the readers: MIDI bytes, ABC text, and `scorelab evaluate`.

From a fixed seed, mutate valid files (flipped, inserted and deleted bytes; int32-sized
deltas; truncations; for ABC, spliced and repeated lines) and feed each mutant to the
reader every path uses, counting outcomes:

- MIDI: :class:`scorelab.io.midi.MidiBatch` under the default :class:`ReadLimits`
  (``add`` then ``convert``), one mutant at a time, in this process: kept, rejected
  with a reason (``CorpusReadError``), or crashed (any other exception: a defect);
- ABC: the ``local`` corpus builder over a folder of mutated tunes, its music21 parses
  in guarded reader processes (``parse_seconds`` 10): kept, rejected, stopped by a
  limit, and whether the stage completed;
- ``scorelab evaluate`` (:func:`read_midi_set`) over all MIDI mutants at once: it must
  complete and list every file it skipped.

    python benchmarks/fuzz_readers.py                 # 5,000 MIDI and 300 ABC mutants
    python benchmarks/fuzz_readers.py --midi 20000 --abc 1000 --seed 3

It prints the counts, the slowest input's time and the peak memory. This is a
measurement, not a test: tests/test_hostile_input.py holds the assertions.
"""

from __future__ import annotations

import argparse
import collections
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # hostile_files: the valid templates and mutators

ABC_TEMPLATE = (
    "X:1\nT:template\nM:6/8\nL:1/8\nQ:1/4=90\nK:G\n|:G2A B2c|d2e dBG|c2e d2B|A3 A2D|\n"
    "G2A B2c|d2e dBG|c2A BGE|G3 G3:|\n|:d2e f2g|a2g f2e|d2B c2A|B3 G3:|\n"
)


def mutate_text(text: str, rng: random.Random) -> str:
    """An ABC mutant: characters flipped, lines dropped, spliced or repeated."""
    lines = text.splitlines()
    for _ in range(rng.randint(1, 6)):
        op = rng.random()
        i = rng.randrange(len(lines))
        if op < 0.4 and lines[i]:
            j = rng.randrange(len(lines[i]))
            lines[i] = (
                lines[i][:j] + rng.choice("ABCDEFGabcdefgz|:[]()^_=,'/0123456789KLMQX%") + lines[i][j + 1 :]
            )
        elif op < 0.55:
            del lines[i]
            if not lines:
                lines = ["X:1"]
        elif op < 0.8:
            lines.insert(i, lines[rng.randrange(len(lines))])
        else:
            lines[i] = lines[i] * rng.randint(2, 40)
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--midi", type=int, default=5000)
    ap.add_argument("--abc", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from hostile_files import write_mutants, write_valid
    from scorelab.corpora.build import CorpusConfig, build_corpus
    from scorelab.errors import CorpusReadError
    from scorelab.io.midi import MidiBatch
    from scorelab.metrics.notes import read_midi_set

    root = Path(tempfile.mkdtemp(prefix="fuzz_"))
    write_valid(root / "templates", 4)
    templates = [p.read_bytes() for p in sorted((root / "templates").glob("*.mid"))]
    folder = root / "midi"
    names = []
    per = max(1, args.midi // len(templates))
    for k, template in enumerate(templates):
        names += [
            folder / str(k) / n
            for n in write_mutants(folder / str(k), template, per, seed=args.seed * 100 + k)
        ]

    outcomes: collections.Counter = collections.Counter()
    crashes: list[str] = []
    slowest = (0.0, "")
    t0 = time.perf_counter()
    for path in names:
        start = time.perf_counter()
        data = path.read_bytes()
        try:
            batch = MidiBatch()
            batch.add(data, str(path), path.stem)
            notes = batch.convert()
            if notes.errors[0] is None:
                outcomes["kept"] += 1
            else:
                outcomes["rejected"] += 1
                outcomes["rejected: " + _reason_class(notes.errors[0])] += 1
        except CorpusReadError as exc:
            outcomes["rejected"] += 1
            outcomes["rejected: " + _reason_class(str(exc))] += 1
        except Exception as exc:  # a reader defect: counted and shown
            outcomes["crashed"] += 1
            crashes.append(f"{path.name}: {type(exc).__name__}: {exc}")
        took = time.perf_counter() - start
        slowest = max(slowest, (took, path.name))
    midi_seconds = time.perf_counter() - t0

    t0 = time.perf_counter()
    paths = [p for p in names]
    notes, rejected = read_midi_set(paths)
    eval_seconds = time.perf_counter() - t0

    rng = random.Random(args.seed)
    abc = root / "abc"
    abc.mkdir()
    for k in range(args.abc):
        (abc / f"tune{k:04d}.abc").write_text(mutate_text(ABC_TEMPLATE, rng))
    t0 = time.perf_counter()
    cfg = CorpusConfig(
        source="local", paths=[str(abc)], max_reject_fraction=1.0, limits={"parse_seconds": 10.0}
    )
    try:
        summary = build_corpus("fuzz", cfg, 0, root / "abc_out")
        abc_result = f"kept {summary['pieces_kept']}, rejected {summary['pieces_rejected']}"
        import pandas as pd

        reasons = pd.read_parquet(root / "abc_out" / "rejected.parquet")["reason"]
        stopped = int(reasons.str.contains("limits.parse_seconds|reader process died").sum())
        abc_result += f" (stopped by a limit or a dying reader: {stopped}); the stage completed"
    except Exception as exc:
        abc_result = f"the stage FAILED: {type(exc).__name__}: {exc}"
    abc_seconds = time.perf_counter() - t0

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"fuzz_readers, seed {args.seed}")
    print(
        f"MIDI mutants: {len(names)} in {midi_seconds:.1f} s; "
        + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
    )
    print(f"  slowest input {slowest[0] * 1000:.1f} ms ({slowest[1]})")
    for line in crashes[:10]:
        print(f"  CRASH {line}")
    print(f"scorelab evaluate over the {len(paths)} MIDI mutants: completed in {eval_seconds:.1f} s, "
          f"{notes.n_pieces} pieces read, {len(rejected)} files skipped with a reason")  # fmt: skip
    print(f"ABC mutants: {args.abc} in {abc_seconds:.1f} s through the local corpus stage: {abc_result}")
    print(f"peak resident memory: this process {peak:.0f} MB, largest reader process {children:.0f} MB")
    return 1 if crashes else 0


def _reason_class(reason: str) -> str:
    """A rejection's class, for the counts (its words after the file name, without numbers)."""
    words = reason.split(": ", 1)[-1]
    for key in (
        "limits.",
        "not a readable MIDI",
        "no notes",
        "tempo",
        "time signature",
        "onset must be",
        "type 2",
    ):
        if key in words:
            return key.rstrip(".")
    return words.split(":")[0][:40]


if __name__ == "__main__":
    sys.exit(main())
