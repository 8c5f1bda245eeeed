"""Any folder of music, however hostile (issue 22): through the corpus stage and `scorelab evaluate`.

The files are generated here (tests/hostile_files.py). Each run happens in a child
process under a memory ceiling (``RLIMIT_AS``) and a time limit this test sets, and
must end with every hostile file rejected and named with its reason, every valid file
kept, and the outputs complete.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from hostile_files import (
    remove_deep,
    write_collisions_and_depth,
    write_file_system_classes,
    write_midi_classes,
    write_music21_classes,
    write_mutants,
    write_valid,
)

CEILING_GB = 3  # the child's address space: the stage and its reader processes
SECONDS = 240  # the child's wall time, whatever it meets


def run_limited(code: str, seconds: int = SECONDS) -> tuple[dict, float]:
    """Run ``code`` in a child Python under the ceiling; the JSON it prints, and its wall time."""

    def ceiling():
        limit = CEILING_GB << 30
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=seconds,
        preexec_fn=ceiling,
    )
    took = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), took


def build(folder: Path, out: Path, source: str = "midi_folder", **cfg) -> tuple[dict, pd.DataFrame, float]:
    """The corpus stage's builder on ``folder`` in a limited child: summary, rejections, seconds."""
    summary, took = run_limited(
        f"""
        import json
        from scorelab.corpora.build import CorpusConfig, build_corpus
        cfg = CorpusConfig(source={source!r}, paths=[{str(folder)!r}], max_reject_fraction=1.0, **{cfg!r})
        out = __import__("pathlib").Path({str(out)!r})
        print(json.dumps(build_corpus("hostile", cfg, 0, out, workers=2)))
        """
    )
    return summary, pd.read_parquet(out / "rejected.parquet"), took


def evaluate(generated: Path, reference: Path) -> tuple[dict, float]:
    """``scorelab evaluate``'s engine on two folders in a limited child."""
    return run_limited(
        f"""
        import json
        from pathlib import Path
        from scorelab.pipeline.evaluate_folders import evaluate_folders
        got = evaluate_folders(Path({str(generated)!r}), Path({str(reference)!r}))
        print(json.dumps({{k: got[k]["rejected"] for k in ("generated", "reference")}}
                         | {{"n": got["generated"]["n_pieces"] if "n_pieces" in got["generated"] else None}}))
        """
    )


def reasons_by_name(rejected) -> dict[str, str]:
    """``{file name: reason}`` from rejected rows (``source``/``reason``) or pairs."""
    if isinstance(rejected, pd.DataFrame):
        pairs = zip(rejected["source"], rejected["reason"], strict=True)
    else:
        pairs = ((r["path"], r["reason"]) for r in rejected)
    out = {}
    for source, reason in pairs:
        out[str(source).split("#")[0].rsplit("/", 1)[-1]] = reason
    return out


def test_hostile_midi_is_rejected_by_name_and_valid_midi_kept(tmp_path):
    folder = tmp_path / "midi"
    valid = write_valid(folder)
    expect = write_midi_classes(folder)
    mutants = write_mutants(folder, (folder / "valid0.mid").read_bytes(), n=300)
    summary, rejected, took = build(folder, tmp_path / "out")
    got = reasons_by_name(rejected)
    for name, words in expect.items():
        assert name in got and words in got[name], (name, got.get(name))
    kept = set(pd.read_parquet(tmp_path / "out" / "pieces.parquet")["source"].map(lambda s: Path(s).name))
    assert set(valid) <= kept
    assert kept | set(got) == set(valid) | set(expect) | set(mutants)  # every file kept or named
    assert all(str(r).startswith(str(folder)) for r in rejected["source"])
    assert took < 120, took


@pytest.fixture
def reference(tmp_path) -> Path:
    folder = tmp_path / "reference"
    write_valid(folder)
    return folder


def test_scorelab_evaluate_skips_every_hostile_midi_with_its_reason(tmp_path, reference):
    folder = tmp_path / "gen"
    write_valid(folder, 2)
    expect = write_midi_classes(folder)
    write_mutants(folder, (folder / "valid0.mid").read_bytes(), n=200, seed=1)
    result, took = evaluate(folder, reference)
    got = reasons_by_name(result["generated"])
    for name, words in expect.items():
        assert name in got and words in got[name], (name, got.get(name))
    assert "valid0.mid" not in got and "valid1.mid" not in got
    assert took < 120, took


def test_fifos_symlinks_and_undecodable_names_are_refused_not_followed(tmp_path, reference):
    folder = tmp_path / "fs"
    write_valid(folder, 2)
    expect = write_file_system_classes(folder, tmp_path / "outside")
    for source in ("midi_folder", "local"):
        summary, rejected, took = build(folder, tmp_path / f"out_{source}", source=source)
        got = reasons_by_name(rejected)
        for name, words in expect.items():
            assert name in got and words in got[name], (source, name, got.get(name))
        pieces = pd.read_parquet(tmp_path / f"out_{source}" / "pieces.parquet")
        assert sorted(pieces["source"].map(lambda s: Path(s).name)) == ["valid0.mid", "valid1.mid"]
        assert took < 60, took
    result, took = evaluate(folder, reference)
    got = reasons_by_name(result["generated"])
    assert {n: w in got.get(n, "") for n, w in expect.items()} == dict.fromkeys(expect, True)


def test_colliding_names_get_distinct_ids_and_deep_folders_are_walked(tmp_path, reference, request):
    folder = tmp_path / "names"
    request.addfinalizer(lambda: remove_deep(folder))
    names = write_collisions_and_depth(folder)
    for source in ("midi_folder", "local"):
        summary, rejected, _ = build(folder, tmp_path / f"out_{source}", source=source)
        pieces = pd.read_parquet(tmp_path / f"out_{source}" / "pieces.parquet")
        assert len(pieces) == len(names) and pieces["piece_id"].is_unique, pieces["piece_id"].tolist()
        assert summary["duplicates_skipped"] == 0 and len(rejected) == 0
    result, _ = evaluate(folder, reference)
    assert result["generated"] == []


def test_music21_formats_run_under_a_time_and_memory_limit(tmp_path):
    folder = tmp_path / "m21"
    write_valid(folder, 2)
    expect = write_music21_classes(folder, tmp_path / "elsewhere" / "tune.abc")
    limits = {"parse_seconds": 5.0, "memory_mb": 1500}
    summary, rejected, took = build(folder, tmp_path / "out", source="local", limits=limits)
    got = reasons_by_name(rejected)
    for name, words in expect.items():
        assert name in got and words in got[name], (name, got.get(name))
    pieces = pd.read_parquet(tmp_path / "out" / "pieces.parquet")
    assert sorted(pieces["source"].map(lambda s: Path(s).name)) == ["valid0.mid", "valid1.mid"]
    assert "outside" not in " ".join(pieces["piece_id"])  # the path's tune was not read
    assert took < 150, took


def test_a_reader_that_dies_costs_only_its_own_file(tmp_path):
    """A reader process killed mid-parse (as the out-of-memory killer would) is replaced;
    the tune it held is rejected with the cause, every other tune is kept."""
    folder = tmp_path / "abc"
    folder.mkdir()
    tunes = "".join(f"X:{i}\nT:t{i}\nM:4/4\nL:1/4\nK:C\nC D E F | G4 |]\n\n" for i in range(1, 13))
    (folder / "tunes.abc").write_text(tunes)
    summary, _ = run_limited(
        f"""
        import json, os, signal
        from pathlib import Path
        import scorelab.corpora.sources as sources
        from scorelab.corpora.build import CorpusConfig, build_corpus
        real = sources.read_job
        def dying(job, *a, **k):
            if job.source.endswith("#X:7"):
                os.kill(os.getpid(), signal.SIGKILL)
            return real(job, *a, **k)
        sources.read_job = dying
        cfg = CorpusConfig(source="local", paths=[{str(folder)!r}], max_reject_fraction=1.0)
        print(json.dumps(build_corpus("abc", cfg, 0, Path({str(tmp_path / "out")!r}), workers=2)))
        """
    )
    rejected = pd.read_parquet(tmp_path / "out" / "rejected.parquet")
    assert summary["pieces_kept"] == 11 and len(rejected) == 1
    assert rejected["source"][0].endswith("#X:7") and "died of SIGKILL" in rejected["reason"][0]


def test_limits_are_params_and_named_when_passed(tmp_path):
    """Each limit is a key of corpora.<c>.limits; a file past one is rejected naming it."""
    from scorelab.config import from_dict
    from scorelab.errors import ParamsError
    from scorelab.io.limits import ReadLimits
    from scorelab.io.midi import write_midi
    from scorelab.score import Score, Track

    folder = tmp_path / "small"
    write_valid(folder, 3)  # four notes each
    write_midi(Score.from_notes([(0, 60, 0, 24), (0, 62, 24, 24)], tracks=[Track("x")]), folder / "two.mid")
    summary, rejected, _ = build(folder, tmp_path / "out", limits={"max_notes": 3})
    assert summary["pieces_kept"] == 1 and len(rejected) == 3
    assert all("4 notes, over limits.max_notes (3)" in r for r in rejected["reason"])
    with pytest.raises(ParamsError, match="max_byte"):
        from_dict(ReadLimits, {"max_byte": 1}, "limits")


def test_packing_for_dvc_push_takes_exactly_the_files_reading_in_place_takes(tmp_path):
    """The fetch stage's local.tar and the folder read in place hold the same files: no
    symlink, FIFO or device in either, the same deep files in both."""
    import tarfile

    from scorelab.corpora.local import local_jobs
    from scorelab.pipeline.fetch import pack_folders

    folder = tmp_path / "mine"
    write_valid(folder, 2)
    write_file_system_classes(folder, tmp_path / "outside")
    (folder / "sub").mkdir()
    write_valid(folder / "sub", 1)
    record = pack_folders("mine", [str(folder)], tmp_path / "raw")
    with tarfile.open(tmp_path / "raw" / "local.tar") as tar:
        packed = sorted(m.name.split("/", 1)[1] for m in tar.getmembers())
    read = sorted(
        str(Path(j.source).relative_to(folder)) for j in local_jobs([str(folder)]) if j.kind != "refused"
    )
    undecodable = [p for p in packed if "\udcff" in p]  # packed as its bytes; read in place: refused
    assert (
        [p for p in packed if p not in undecodable] == read == ["sub/valid0.mid", "valid0.mid", "valid1.mid"]
    )
    assert {f["path"].split("/", 1)[1] for f in record["files"]} == set(packed)
