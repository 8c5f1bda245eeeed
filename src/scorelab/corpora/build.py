"""Build a corpus: list its pieces, parse them in parallel, split, write Parquet tables.

Bad input never stops a corpus: a piece that cannot be read is skipped with its reason
in ``rejected.parquet`` and counted in the summary. The stage fails only when the share
of rejected pieces passes ``max_reject_fraction`` (naming some of the files and why) or
when nothing is left (naming the corpus).
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from scorelab.corpora.sources import Job, dedupe, list_jobs, read_job
from scorelab.errors import CorpusReadError, EmptyCorpusError, ScorelabError, ScoreValidationError
from scorelab.score import Score, write_notes, write_rejected
from scorelab.utils import atomic_dir, write_json


@dataclass
class CorpusConfig:
    """One ``corpora:`` entry of params.yaml."""

    source: str
    paths: list[str]
    tracks: int = 1
    valid_fraction: float = 0.1
    test_fraction: float = 0.1
    limit: int = 0  # 0 = every piece; > 0 = the first N jobs (smoke runs)
    max_reject_fraction: float = 0.25
    extra: dict = field(default_factory=dict)


def _split_hash(piece_id: str, seed: int) -> bytes:
    """The hash a piece's split is drawn from."""
    return hashlib.sha256(f"{seed}:{piece_id}".encode()).digest()


def assign_split(piece_id: str, seed: int, valid_fraction: float, test_fraction: float) -> str:
    """Deterministic split from a hash of (seed, piece id).

    A hash rather than a shuffled list keeps a piece in the same split when the corpus
    grows or a filter changes, so test pieces never leak into training between runs.
    """
    u = int.from_bytes(_split_hash(piece_id, seed)[:8], "big") / 2**64
    if u < test_fraction:
        return "test"
    if u < test_fraction + valid_fraction:
        return "valid"
    return "train"


def ensure_every_split(scores: list[Score], seed: int) -> None:
    """Move pieces so train, valid and test each get at least one (when there are >= 3).

    A small corpus (a smoke run's ``limit``) can hash no piece into valid or test; the
    lowest-hash train pieces are moved there instead, deterministically, so every
    later stage has real data to evaluate against.
    """
    if len(scores) < 3:
        return
    for split in ("test", "valid"):
        if any(s.split == split for s in scores):
            continue
        donors = sorted(
            (s for s in scores if s.split == "train"),
            key=lambda s: _split_hash(s.piece_id, seed),
        )
        if len(donors) > 1:
            donors[0].split = split


def _read(args: tuple[Job, str, int]) -> tuple[Score | None, str | None]:
    """Worker: a Score, or the reason it could not be read (never raises)."""
    job, corpus, n_tracks = args
    try:
        return read_job(job, corpus, n_tracks), None
    except (CorpusReadError, ScoreValidationError) as exc:
        return None, str(exc)
    except Exception as exc:  # a parser bug on one file must not stop the corpus
        return None, f"{job.source}: {type(exc).__name__}: {exc}"


def parse_jobs(jobs: list[Job], corpus: str, n_tracks: int, workers: int | None = None):
    """Parse jobs over the cores, results in job order (so output bytes do not depend on timing)."""
    workers = workers or os.cpu_count() or 1
    args = [(j, corpus, n_tracks) for j in jobs]
    bar = dict(total=len(jobs), desc=f"corpus {corpus}", unit="piece", mininterval=2.0)
    if workers <= 1 or len(jobs) < 8:
        return [_read(a) for a in tqdm(args, **bar)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(tqdm(pool.map(_read, args, chunksize=4), **bar))


def build_corpus(name: str, cfg: CorpusConfig, seed: int, out_dir: Path, workers: int | None = None) -> dict:
    """Read every piece of corpus ``name`` and write notes/pieces/rejected Parquet to ``out_dir``.

    Returns the summary also written to ``out_dir/summary.json``.

    Raises
    ------
    EmptyCorpusError
        When no piece could be read.
    ScorelabError
        When more than ``max_reject_fraction`` of the pieces were rejected.
    """
    jobs = list_jobs(cfg.source, cfg.paths)
    if cfg.limit > 0:
        jobs = jobs[: cfg.limit]
    # music21's chorale list names some chorales twice: recorded, not counted as bad input
    jobs, duplicates = dedupe(jobs)
    results = parse_jobs(jobs, name, cfg.tracks, workers)
    scores = []
    rejected = [{"corpus": name, "source": j.source, "reason": r} for j, r in duplicates]
    for job, (score, reason) in zip(jobs, results, strict=True):
        if score is None:
            rejected.append({"corpus": name, "source": job.source, "reason": reason})
            continue
        score.split = assign_split(score.piece_id, seed, cfg.valid_fraction, cfg.test_fraction)
        scores.append(score)
    ensure_every_split(scores, seed)
    if not scores:
        raise EmptyCorpusError(f"corpus {name}: no piece could be read ({len(jobs)} tried)")
    bad = rejected[len(duplicates) :]
    if len(bad) / max(len(jobs), 1) > cfg.max_reject_fraction:
        first = "; ".join(r["reason"] for r in bad[:5])
        raise ScorelabError(
            f"corpus {name}: {len(bad)} of {len(jobs)} pieces rejected "
            f"(> max_reject_fraction {cfg.max_reject_fraction}); first: {first}"
        )
    splits = {s: sum(1 for x in scores if x.split == s) for s in ("train", "valid", "test")}
    summary = {
        "corpus": name,
        "pieces_tried": len(jobs),
        "pieces_kept": len(scores),
        "pieces_rejected": len(bad),
        "duplicates_skipped": len(duplicates),
        "notes": int(sum(len(s.notes) for s in scores)),
        "splits": splits,
    }
    with atomic_dir(out_dir) as tmp:
        write_notes(tmp, scores)
        write_rejected(tmp, rejected)
        write_json(tmp / "summary.json", summary)
    return summary
