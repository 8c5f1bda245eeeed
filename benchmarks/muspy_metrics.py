"""scorelab's metrics against muspy's on one folder of MIDI files, in one run: speed and agreement.

The same muspy-equivalent metrics, per piece, both ways:

- end to end: read every MIDI file of the folder, then compute the metrics;
- metrics alone: on the pieces already in memory (muspy ``Music`` objects; our
  columnar :class:`~scorelab.metrics.notes.NoteSet`).

muspy (PyPI ``muspy==0.5.0``) is not a scorelab dependency: this script installs it into
a venv of its own (``benchmarks/.venv-muspy``, git-ignored) on first use and runs it
there in a subprocess, so its pins never touch the project's environment. The figures
are pieces per second (best of ``--repeat`` runs, after one warm-up) and the ratios
scorelab / muspy, measured in the same run on the same machine; the targets are
>= 20x end to end and >= 30x on the metrics alone. Agreement is printed per metric: the
share of pieces where both give the same value (to 1e-9), and the documented reason
where the definitions differ on purpose (:mod:`scorelab.metrics.musical`).

With no ``--midi`` folder, the 348 Bach chorales of the ``jsb`` corpus
(``data/corpus/jsb``, from ``dvc repro corpus@jsb``) are written out as MIDI first::

    python benchmarks/muspy_metrics.py                 # the chorales
    python benchmarks/muspy_metrics.py --midi DIR      # any folder
    python benchmarks/muspy_metrics.py --golden        # also rewrite tests/data/muspy_golden

This is a measurement, not a test: nothing asserts on its numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MUSPY_VENV = ROOT / "benchmarks" / ".venv-muspy"
MUSPY_PIN = "muspy==0.5.0"
GOLDEN = ROOT / "tests" / "data" / "muspy_golden"

# scorelab metric -> the muspy call computing the same quantity (as a Python expression
# over ``m``, a muspy Music read from MIDI). Definitions agree unless DIFFERENCES says why.
EQUIVALENTS = {
    "pitch_range": "muspy.pitch_range(m)",
    "unique_pitches": "muspy.n_pitches_used(m)",
    "n_pitch_classes_used": "muspy.n_pitch_classes_used(m)",
    "polyphony": "muspy.polyphony(m)",
    "polyphony_rate": "muspy.polyphony_rate(m, threshold=1)",  # its default 2 means > 2 pitches
    "in_scale_ratio": "muspy.pitch_in_scale_rate(m, 0, 'major')",
    "scale_consistency": "muspy.scale_consistency(m)",
    "pitch_entropy": "muspy.pitch_entropy(m)",
    "pitch_class_entropy": "muspy.pitch_class_entropy(m)",
    "empty_beat_rate": "muspy.empty_beat_rate(m)",
    "empty_measure_rate": "muspy.empty_measure_rate(m, m.resolution * 4 * "
    "m.time_signatures[0].numerator // m.time_signatures[0].denominator "
    "if m.time_signatures else m.resolution * 4)",
    "drum_in_duple_pattern_rate": "muspy.drum_in_pattern_rate(m, 'duple')",
    "drum_in_triple_pattern_rate": "muspy.drum_in_pattern_rate(m, 'triple')",
    "drum_pattern_consistency": "muspy.drum_pattern_consistency(m)",
    "groove_consistency": "muspy.groove_consistency(m, m.resolution * 4 * "
    "m.time_signatures[0].numerator // m.time_signatures[0].denominator "
    "if m.time_signatures else m.resolution * 4)",
}
# The muspy-equivalent metrics the speed figures time (the nine the user ran).
TIMED = (
    "pitch_range",
    "unique_pitches",
    "n_pitch_classes_used",
    "polyphony",
    "polyphony_rate",
    "in_scale_ratio",
    "scale_consistency",
    "pitch_entropy",
    "pitch_class_entropy",
)

MUSPY_WORKER = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import muspy
paths = json.loads(sys.argv[1]); calls = json.loads(sys.argv[2]); timed = json.loads(sys.argv[3])
repeat = int(sys.argv[4])
fns = {k: eval("lambda m: " + v) for k, v in calls.items()}
def run_metrics(musics, keys):
    return {k: [float(fns[k](m)) for m in musics] for k in keys}
musics = [muspy.read_midi(p) for p in paths]            # warm-up
run_metrics(musics, timed)
e2e, alone = [], []
for _ in range(repeat):
    t = time.perf_counter()
    ms = [muspy.read_midi(p) for p in paths]
    run_metrics(ms, timed)
    e2e.append(time.perf_counter() - t)
    t = time.perf_counter()
    run_metrics(musics, timed)
    alone.append(time.perf_counter() - t)
values = run_metrics(musics, list(calls))
print(json.dumps({"e2e": min(e2e), "alone": min(alone), "values": values,
                  "version": muspy.__version__}))
"""


def ensure_muspy() -> Path:
    """The python of a venv holding muspy 0.5.0, created on first use."""
    py = MUSPY_VENV / "bin" / "python"
    if py.exists() and subprocess.run([py, "-c", "import muspy"], capture_output=True).returncode == 0:
        return py
    print(f"installing {MUSPY_PIN} into {MUSPY_VENV} (once)", file=sys.stderr)
    venv.create(MUSPY_VENV, with_pip=True)
    subprocess.run([py, "-m", "pip", "install", "--quiet", MUSPY_PIN], check=True)
    return py


def write_chorales(out: Path, limit: int | None = None) -> list[Path]:
    """The jsb corpus (data/corpus/jsb) written as one MIDI file per chorale."""
    from scorelab.io.midi import write_midi
    from scorelab.score import read_notes

    corpus = ROOT / "data" / "corpus" / "jsb"
    if not (corpus / "notes.parquet").exists():
        sys.exit(f"{corpus}: missing; run `dvc repro corpus@jsb` or pass --midi DIR")
    scores = read_notes(corpus)[:limit]
    paths = []
    for s in scores:
        path = out / f"{s.piece_id}.mid"
        write_midi(s, path)
        paths.append(path)
    return paths


def scorelab_times(paths: list[Path], repeat: int) -> tuple[float, float, dict, object]:
    """(end-to-end s, metrics-alone s, per-piece values, the NoteSet) for scorelab."""
    from scorelab.metrics.notes import read_midi_set
    from scorelab.metrics.registry import compute_piece_metrics

    ns, rejected = read_midi_set(paths)  # warm-up
    assert not rejected, rejected
    compute_piece_metrics(ns, TIMED)
    e2e, alone = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        fresh, _ = read_midi_set(paths)
        compute_piece_metrics(fresh, TIMED)
        e2e.append(time.perf_counter() - t)
        ns.cache.clear()  # metrics share intermediate results per set: none from the last run
        t = time.perf_counter()
        compute_piece_metrics(ns, TIMED)
        alone.append(time.perf_counter() - t)
    ns.cache.clear()
    values = compute_piece_metrics(ns, list(EQUIVALENTS))
    return min(e2e), min(alone), values, ns


def muspy_times(paths: list[Path], repeat: int, calls: dict | None = None) -> dict:
    """muspy's timings and per-piece values, from its own venv in a subprocess."""
    py = ensure_muspy()
    res = subprocess.run(
        [
            py,
            "-c",
            MUSPY_WORKER,
            json.dumps([str(p) for p in paths]),
            json.dumps(calls or EQUIVALENTS),
            json.dumps(list(TIMED)),
            str(repeat),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if res.returncode != 0:
        sys.exit(f"muspy worker failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def agreement(ours: dict, theirs: dict) -> dict[str, tuple[int, int, int, float]]:
    """Per metric: (pieces equal to 1e-9, pieces both sides define, pieces neither
    defines, largest difference).

    A piece that neither side defines (NaN on both: drum rates of chorales without
    drums) is no evidence of agreement and is counted apart, never as equal: an earlier
    version counted NaN = NaN as agreement, so "the drum rates agree on 348 chorales"
    proved nothing. NaN on one side only counts as a difference (muspy's 0 where we give
    NaN for a piece without notes is one of the documented ones).
    """
    out = {}
    for k in EQUIVALENTS:
        a = np.asarray(ours[k], float)
        b = np.asarray(theirs[k], float)
        both_nan = np.isnan(a) & np.isnan(b)
        diff = np.abs(a - b)[~both_nan]
        diff = np.where(np.isnan(diff), np.inf, diff)
        out[k] = (
            int((diff <= 1e-9).sum()),
            int(len(diff)),
            int(both_nan.sum()),
            float(diff.max(initial=0.0)),
        )
    return out


GOLDEN_CHORALES = 12  # evenly spread over the corpus, plus every meter other than 4/4 and 3/4
GOLDEN_EXTRA = ("bwv123.6", "bwv248.23-2", "bwv248.42-4")  # 3/2, 12/8, long silent stretches


def trap_pieces() -> list:
    """Small pieces on which muspy 0.5.0 and scorelab differ on purpose (the issue's traps),
    and one with drums (the chorales have none)."""
    from scorelab.score import Score, Track

    one = [Track("piano")]
    return [
        # a whole note ending on the bar line, a silent bar, a note in bar 3: bar 2 is empty
        Score.from_notes([(0, 60, 0, 96), (0, 64, 192, 96)], tracks=one, piece_id="trap_end_on_bar_line"),
        # a quarter note ending on beat 2, the rest of the bar silent: beats 2-4 are empty
        Score.from_notes([(0, 60, 0, 24), (0, 62, 96, 96)], tracks=one, piece_id="trap_end_on_beat"),
        # two pitches held for a bar: polyphony all the time ("more than one pitch")
        Score.from_notes([(0, 60, 0, 192), (0, 64, 0, 192)], tracks=one, piece_id="trap_two_sustained"),
        # a drum track beside the piano: onsets on 16ths, on triplet 8ths, and on neither
        Score.from_notes(
            [(0, 60, 0, 96), (1, 36, 0, 6), (1, 38, 6, 6), (1, 42, 16, 6), (1, 46, 3, 6), (1, 36, 48, 6)],
            tracks=[Track("piano"), Track("drums", 0, True)],
            piece_id="drums",
        ),
        # the same onsets in three bars, ending on a bar line: a groove consistency of 1
        Score.from_notes(
            [(0, 60 + b, b * 96 + k * 24, 24) for b in range(3) for k in range(4)],
            tracks=one,
            piece_id="trap_steady_groove",
        ),
    ]


def write_golden(paths: list[Path]) -> None:
    """tests/data/muspy_golden: a few chorales and the trap pieces as MIDI, with muspy's values."""
    import shutil

    from scorelab.io.midi import write_midi
    from scorelab.metrics.sets import evenly_spread

    if GOLDEN.exists():
        shutil.rmtree(GOLDEN)
    GOLDEN.mkdir(parents=True)
    chosen = [paths[i] for i in evenly_spread(len(paths), GOLDEN_CHORALES)]
    chosen += [p for p in paths if p.stem in GOLDEN_EXTRA and p not in chosen]
    out = []
    for p in chosen:
        shutil.copyfile(p, GOLDEN / p.name)
        out.append(GOLDEN / p.name)
    for s in trap_pieces():
        write_midi(s, GOLDEN / f"{s.piece_id}.mid")
        out.append(GOLDEN / f"{s.piece_id}.mid")
    calls = {**EQUIVALENTS, "polyphony_rate_default": "muspy.polyphony_rate(m)"}
    mp = muspy_times(out, 1, calls)
    values = {k: dict(zip([p.name for p in out], v, strict=True)) for k, v in mp["values"].items()}
    (GOLDEN / "muspy_values.json").write_text(
        json.dumps({"muspy": mp["version"], "calls": calls, "values": values}, indent=2, sort_keys=True)
        + "\n"
    )
    print(f"wrote {len(out)} MIDI files and muspy_values.json to {GOLDEN}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--midi", type=Path, help="a folder of MIDI files (default: the jsb chorales)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--limit", type=int, help="only the first N chorales")
    ap.add_argument("--golden", action="store_true", help="also rewrite tests/data/muspy_golden")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        if args.midi:
            paths = sorted(p for p in args.midi.rglob("*") if p.suffix.lower() in (".mid", ".midi"))
        else:
            paths = write_chorales(Path(tmp), args.limit)
        if args.golden:
            write_golden(paths)
        n = len(paths)
        s_e2e, s_alone, ours, _ = scorelab_times(paths, args.repeat)
        mp = muspy_times(paths, args.repeat)

    print(
        f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, muspy {mp['version']}"
    )
    print(f"{n} pieces; {len(TIMED)} metrics timed: {', '.join(TIMED)}; best of {args.repeat}")
    print(f"{'':<24}{'scorelab':>14}{'muspy':>14}{'ratio':>10}")
    for label, ours_s, theirs_s, target in (
        ("end to end (pieces/s)", s_e2e, mp["e2e"], 20),
        ("metrics alone (pieces/s)", s_alone, mp["alone"], 30),
    ):
        ratio = theirs_s / ours_s
        print(f"{label:<24}{n / ours_s:>14,.0f}{n / theirs_s:>14,.0f}{ratio:>9.1f}x  (target >= {target}x)")
    print("\nagreement per piece (equal to 1e-9, of the pieces at least one side defines):")
    for k, (eq, tot, undefined, worst) in agreement(ours, mp["values"]).items():
        print(
            f"  {k:<28} {eq:>4}/{tot}  largest difference {worst:.3g}"
            f"  ({undefined} undefined on both: no evidence)"
        )


if __name__ == "__main__":
    main()
