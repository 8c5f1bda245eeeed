"""MIDI ingest throughput and memory (issue 7): figures to read, not a test.

(a) The 348 music21 Bach chorales written as MIDI files (from ``data/corpus/jsb`` when
``dvc repro`` has built it, else read from music21 first), then, in one run, best of
``--repeat``:

- scorelab: ``build_corpus`` with source ``midi_folder``, end to end (listing the files,
  reading, converting, writing notes/pieces/rejected Parquet and the summary), in-process;
- a plain pretty_midi loop over the same files (``PrettyMIDI(path)``, notes counted);
- symusic's bare parse (``Score.from_file(path)``, notes counted).

It prints files/s and notes/s of each and the ratio scorelab / pretty_midi (issue 7's
target: at least 50x), and a cProfile top 10 of scorelab's run when under the target.

(b) A synthetic corpus of ``--files`` small random MIDI files (default 20,000: one to four
tracks, 200-500 notes, ticks per quarter 96/384/480, some tempo changes, one file in 500
corrupt), written by symusic, built end to end by ``build_corpus`` in a fresh process;
prints the wall time and that process's peak resident memory (``getrusage`` ``ru_maxrss``,
so interpreter and imports included; the resident size after the imports is printed
beside it). Targets: under 3 minutes on 2 cores, under 1.5 GB. Before that, (a)'s
comparison on the first 1,000 synthetic files (200-500 notes each, more like real MIDI
than the chorales' 230).

    python benchmarks/ingest.py                      # (a) and (b), 20,000 files
    python benchmarks/ingest.py --files 2000         # a smaller synthetic run
    python benchmarks/ingest.py --skip-synthetic     # (a) and (c)

(c) music21's whole Essen collection (31 ABC files, 8,514 tunes), built end to end by
``build_corpus`` in a fresh process (target: at most 3 minutes on this 2-core machine),
then one tune's parse with and without music21's notation passes, in this process.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

INGEST_ONLY = r"""
import json, resource, sys, time
from pathlib import Path
from scorelab.corpora.build import CorpusConfig, build_corpus
rss_imports = int(open("/proc/self/statm").read().split()[1]) * 4096 // 1024
folder, out = sys.argv[1], Path(sys.argv[2])
cfg = CorpusConfig(source="midi_folder", paths=[folder], tracks=1)
t0 = time.perf_counter()
summary = build_corpus("synthetic", cfg, 0, out)
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
print(json.dumps({"wall": wall, "peak_kib": peak, "rss_after_imports_kib": rss_imports, "summary": summary}))
"""


def chorale_scores(tmp: Path):
    """The chorales as Scores: data/corpus/jsb when built, else music21's corpus read now."""
    from scorelab.score import read_notes

    built = ROOT / "data/corpus/jsb"
    if (built / "notes.parquet").exists():
        return read_notes(built), str(built)
    from scorelab.corpora.build import CorpusConfig, build_corpus

    cfg = CorpusConfig(source="music21", paths=["chorales"], tracks=4)
    build_corpus("jsb", cfg, 0, tmp / "jsb_corpus")
    return read_notes(tmp / "jsb_corpus"), "music21's corpus (read now)"


def best(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def chorales(tmp: Path, repeat: int) -> None:
    from scorelab.io.midi import write_midi

    scores, where = chorale_scores(tmp)
    folder = tmp / "chorales"
    for s in scores:
        write_midi(s, folder / f"{s.piece_id}.mid")
    files = sorted(folder.glob("*.mid"))
    size = sum(f.stat().st_size for f in files)
    print(f"(a) {len(files)} chorales from {where}, written as MIDI ({size / 1e6:.2f} MB)")
    compare(tmp, folder, files, repeat)


def compare(tmp: Path, folder: Path, files: list[Path], repeat: int) -> None:
    """scorelab's corpus build against pretty_midi and symusic on the same files, one run."""
    import pretty_midi
    import symusic

    from scorelab.corpora.build import CorpusConfig, build_corpus

    cfg = CorpusConfig(source="midi_folder", paths=[str(folder)], tracks=1, max_reject_fraction=1.0)
    runs = iter(range(10**6))

    def ours(workers=None):
        with contextlib.redirect_stderr(io.StringIO()):  # the progress bar
            return build_corpus("bench", cfg, 0, tmp / f"out{next(runs)}", workers=workers)["notes"]

    def ours_one_process():
        return ours(workers=1)

    def plain_pretty_midi():
        n = 0
        for f in files:
            try:
                n += sum(len(i.notes) for i in pretty_midi.PrettyMIDI(str(f)).instruments)
            except Exception:  # the corrupt synthetic files
                pass
        return n

    def bare_symusic():
        n = 0
        for f in files:
            try:
                n += symusic.Score.from_file(str(f)).note_num()
            except Exception:
                pass
        return n

    ours()  # warm: imports, page cache
    rows = []
    for name, fn in [
        (f"scorelab ({os.cpu_count()} cores)", ours),
        ("pretty_midi loop", plain_pretty_midi),
        ("symusic parse", bare_symusic),
        ("scorelab (1 process)", ours_one_process),
    ]:
        secs, notes = best(fn, repeat)
        rows.append((name, secs, notes))
        print(
            f"    {name:<22} {secs * 1e3:9.1f} ms  {len(files) / secs:10.0f} files/s  "
            f"{notes / secs:12.0f} notes/s  ({notes} notes)"
        )
    ratio = rows[1][1] / rows[0][1]
    print(
        f"    scorelab / pretty_midi: {ratio:.1f}x faster (target >= 50x; in one process "
        f"{rows[1][1] / rows[3][1]:.1f}x); scorelab / symusic parse: {rows[0][1] / rows[2][1]:.2f}x the time"
    )
    if ratio < 50:
        prof = cProfile.Profile()
        prof.enable()
        ours()
        prof.disable()
        text = io.StringIO()
        pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(10)
        print("    under target: cProfile of one scorelab run, top 10 by own time")
        print("\n".join("    " + line for line in text.getvalue().strip().splitlines()[:22]))


def write_synthetic(folder: Path, n_files: int, seed: int = 0) -> tuple[int, int]:
    """``n_files`` random MIDI files; returns (files, notes) written."""
    import numpy as np
    import symusic

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    notes_total = 0
    for i in range(n_files):
        path = folder / f"{i // 1000:03d}" / f"piece_{i:05d}.mid"
        path.parent.mkdir(exist_ok=True)
        if i % 500 == 499:
            path.write_bytes(b"MThd not a midi file")
            continue
        tpq = int(rng.choice([96, 384, 480]))
        score = symusic.Score(tpq)
        score.tempos.append(symusic.Tempo(0, float(rng.uniform(60, 180))))
        for _ in range(int(rng.integers(0, 3))):
            score.tempos.append(symusic.Tempo(int(rng.integers(1, 64 * tpq)), float(rng.uniform(60, 180))))
        score.time_signatures.append(symusic.TimeSignature(0, int(rng.choice([2, 3, 4, 6])), 4))
        n_tracks = int(rng.integers(1, 5))
        n_notes = int(rng.integers(200, 501))
        split = np.sort(rng.choice(np.arange(1, n_notes), n_tracks - 1, replace=False))
        for k, count in enumerate(np.diff(np.r_[0, split, n_notes])):
            drum = k == 3
            track = symusic.Track(f"t{k}", int(rng.integers(0, 128)), drum)
            step = rng.integers(0, tpq // 2 + 1, count)
            track.notes = symusic.Note.from_numpy(
                time=np.cumsum(step).astype(np.int32),
                duration=rng.integers(1, 2 * tpq, count).astype(np.int32),
                pitch=rng.integers(21, 109, count).astype(np.int8),
                velocity=rng.integers(1, 128, count).astype(np.int8),
            )
            score.tracks.append(track)
            notes_total += int(count)
        score.dump_midi(str(path))
    return n_files, notes_total


def fresh_process(code: str, *args) -> dict:
    """Run ``code`` in a new interpreter on this checkout's src/; its last stdout line as JSON.

    A fresh process, so imports and peak memory are the stage's own, not this script's.
    """
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    out = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def synthetic(tmp: Path, n_files: int, repeat: int, every: int = 10) -> None:
    folder = tmp / "synthetic"
    t0 = time.perf_counter()
    _, notes = write_synthetic(folder, n_files)
    print(f"(b) {n_files} synthetic MIDI files ({notes} notes) written in {time.perf_counter() - t0:.1f} s")
    first = folder / "000"  # the first 1,000: the (a) comparison on files of 200-500 notes
    print(f"    the (a) comparison on the {len(list(first.glob('*.mid')))} files of {first.name}/:")
    compare(tmp, first, sorted(first.glob("*.mid")), repeat)
    r = fresh_process(INGEST_ONLY, folder, tmp / "synthetic_out")
    s = r["summary"]
    print(
        f"    build_corpus (fresh process, {os.cpu_count()} cores): {r['wall']:.2f} s wall, "
        f"{s['pieces_tried'] / r['wall']:.0f} files/s, {s['notes'] / r['wall']:.0f} notes/s "
        f"(target < 180 s)"
    )
    files = sorted(folder.rglob("*.mid"))[::every]
    import pretty_midi

    t0 = time.perf_counter()
    for f in files:
        try:
            pretty_midi.PrettyMIDI(str(f))
        except Exception:  # the corrupt files
            pass
    pm_rate = len(files) / (time.perf_counter() - t0)
    print(
        f"    pretty_midi loop on every {every}th file ({len(files)} files): {pm_rate:.0f} files/s; "
        f"build_corpus / pretty_midi: {s['pieces_tried'] / r['wall'] / pm_rate:.1f}x (target >= 50x)"
    )
    print(
        f"    kept {s['pieces_kept']}, rejected {s['pieces_rejected']}, {s['notes']} notes; "
        f"notes.parquet {(tmp / 'synthetic_out/notes.parquet').stat().st_size / 1e6:.1f} MB"
    )
    print(
        f"    peak RSS (getrusage ru_maxrss of that process): {r['peak_kib'] / 1024:.0f} MiB; "
        f"RSS after imports {r['rss_after_imports_kib'] / 1024:.0f} MiB (target < 1.5 GB)"
    )


ESSEN_ONLY = r"""
import json, sys, time
from pathlib import Path
from music21 import corpus
from scorelab.corpora.build import CorpusConfig, build_corpus
files = sorted("essenFolksong/" + str(p).split("essenFolksong/")[1] for p in corpus.getPaths()
               if "essenFolksong" in str(p) and str(p).endswith(".abc"))
cfg = CorpusConfig(source="music21", paths=files, tracks=1, max_reject_fraction=1.0)
t0 = time.perf_counter()
summary = build_corpus("essen", cfg, 0, Path(sys.argv[1]))
print(json.dumps({"wall": time.perf_counter() - t0, "files": len(files), "summary": summary}))
"""


def essen(tmp: Path, sample: int) -> None:
    """(c) music21's whole Essen collection (31 ABC files, 8,514 tunes) built end to end."""
    import random

    from scorelab.corpora.sources import music21_jobs
    from scorelab.io.music21_reader import read_abc_tune

    r = fresh_process(ESSEN_ONLY, tmp / "essen_out")
    s = r["summary"]
    print(
        f"(c) music21's Essen collection ({r['files']} ABC files, {s['pieces_tried']} tunes), "
        f"build_corpus in a fresh process on {os.cpu_count()} cores: {r['wall']:.1f} s wall "
        f"(target <= 180 s); kept {s['pieces_kept']}, rejected {s['pieces_rejected']}"
    )
    jobs = music21_jobs(["essenFolksong/han1.abc", "essenFolksong/erk5.abc", "essenFolksong/altdeu10.abc"])
    random.Random(0).shuffle(jobs)
    times = {True: 0.0, False: 0.0}
    for job in jobs[:sample]:
        for fast in (True, False):
            t0 = time.perf_counter()
            with contextlib.suppress(Exception):
                read_abc_tune(job.payload, fast=fast, piece_id=job.piece_id, corpus="c", n_tracks=1)
            times[fast] += time.perf_counter() - t0
    print(
        f"    one tune, in this process ({sample} tunes of han1, erk5, altdeu10): notes-only parse "
        f"{times[True] / sample * 1e3:.1f} ms, music21's full parse {times[False] / sample * 1e3:.1f} ms "
        f"({times[False] / times[True]:.1f}x)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=20_000, help="synthetic files in (b)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per timing in (a); the best is printed")
    ap.add_argument("--skip-chorales", action="store_true")
    ap.add_argument("--skip-synthetic", action="store_true")
    ap.add_argument("--skip-essen", action="store_true")
    ap.add_argument("--essen-sample", type=int, default=100, help="tunes in (c)'s per-tune comparison")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="scorelab_ingest_") as d:
        tmp = Path(d)
        if not args.skip_chorales:
            chorales(tmp, args.repeat)
        if not args.skip_synthetic:
            synthetic(tmp, args.files, args.repeat)
        if not args.skip_essen:
            essen(tmp, args.essen_sample)


if __name__ == "__main__":
    main()
