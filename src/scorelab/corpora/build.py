"""Build a corpus: list its pieces, read them in batches, split, write Parquet tables.

Reading and writing the notes is :mod:`scorelab.corpora.ingest`'s: MIDI files are parsed
in this process and converted a batch at a time, music21's formats over the cores, and
``notes.parquet`` is written one row group per batch, so memory stays bounded whatever
the corpus's size. Only one small row per piece is kept to the end, for
``pieces.parquet``, where the splits live.

Bad input never stops a corpus: a piece that cannot be read is skipped with its reason
in ``rejected.parquet`` and counted in the summary. The stage fails only when the share
of rejected pieces passes ``max_reject_fraction`` (naming some of the files and why) or
when nothing is left (naming the corpus and the first reasons); either way it writes
nothing (the tables are written into a temporary folder that replaces ``out_dir`` only
on success).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import pandas as pd

from scorelab.corpora.ingest import BATCH_NOTES, BATCH_PIECES, ingest_jobs
from scorelab.corpora.sources import dedupe, list_jobs
from scorelab.errors import EmptyCorpusError, ScorelabError
from scorelab.score import PIECE_COLUMNS, Score, write_rejected
from scorelab.utils import atomic_dir, write_json


@dataclass
class CorpusConfig:
    """One ``corpora:`` entry of params.yaml."""

    source: str
    paths: list[str] = field(default_factory=list)
    tracks: int = 1
    valid_fraction: float = 0.1
    test_fraction: float = 0.1
    limit: int = 0  # 0 = every piece; > 0 = the N smallest files (smoke runs): limited_jobs
    max_reject_fraction: float = 0.25
    download: object = None  # a fetched corpus: its files are in the fetch stage's folder
    options: dict = field(default_factory=dict)  # the source lister's keyword options
    limits: dict = field(default_factory=dict)  # per-file limits (scorelab.io.limits), {} = defaults

    def read_limits(self):
        """The corpus's :class:`~scorelab.io.limits.ReadLimits` (strictly checked)."""
        from scorelab.config import from_dict
        from scorelab.io.limits import ReadLimits

        return from_dict(ReadLimits, dict(self.limits or {}), "limits")

    def source_paths(self, raw_dir: Path | None) -> list[str]:
        """The paths the source reads: for a fetched corpus, files in ``raw_dir``.

        ``paths`` then name files there (default: every fetched file, in download order),
        so params never hold a machine's absolute path to a download.

        Raises
        ------
        ScorelabError
            A fetched corpus without ``raw_dir``, or a named file that is not there.
        """
        if self.download is None:
            return list(self.paths)
        if raw_dir is None:
            raise ScorelabError(
                "this corpus is fetched (it has a download: entry): give the fetch stage's folder (--raw)"
            )
        from scorelab.corpora.fetch import parse_downloads

        names = list(self.paths) or [d.filename for d in parse_downloads(self.download, "corpus")]
        out = []
        for name in names:
            f = Path(raw_dir) / name
            if not f.exists():
                raise ScorelabError(f"{f}: not in the fetched files of this corpus; run its fetch stage")
            out.append(str(f))
        return out


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


FILE_KINDS = ("m21_file", "midi", "local_midi")  # jobs whose payload is the path of the file read


def limited_jobs(jobs: list, limit: int) -> list:
    """The ``limit`` jobs of a smoke run (a profile's ``corpus.limit``): the smallest files.

    Jobs that read a whole file (:data:`FILE_KINDS`) are ranked by the file's size, ties
    and every other kind (a tune's text, an archive member) in listed order; the chosen
    jobs keep their listed order. The first N by path were music21's classical corpus's
    Beethoven quartets, its slowest works to parse: the tiny profile's 40 works took 84 s
    of a 2-core CPU (2026-12-05), most of a quick try, for pieces it then cut to a few
    windows. The 40 smallest are 0.6 MB of MusicXML against the first 40's 2.9 MB.
    A file that cannot be stat'ed ranks first, so its reader records why.
    """
    import os

    def size(job) -> int:
        if job.kind not in FILE_KINDS:
            return 0
        try:
            return os.stat(job.payload).st_size
        except (OSError, ValueError):
            return 0

    ranked = sorted(range(len(jobs)), key=lambda i: (size(jobs[i]), i))[:limit]
    return [jobs[i] for i in sorted(ranked)]


class _Piece(Protocol):
    piece_id: str
    split: str


def ensure_every_split(scores: list[Score] | list[_Piece], seed: int) -> None:
    """Move pieces so train, valid and test each get at least one (when there are >= 3).

    A small corpus (a smoke run's ``limit``) can hash no piece into valid or test; the
    lowest-hash train pieces are moved there instead, deterministically, so every
    later stage has real data to evaluate against. ``scores`` may be Scores or the
    builder's piece entries: only ``piece_id`` and ``split`` are used.
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


def build_corpus(
    name: str,
    cfg: CorpusConfig,
    seed: int,
    out_dir: Path,
    workers: int | None = None,
    batch_pieces: int = BATCH_PIECES,
    batch_notes: int = BATCH_NOTES,
    raw_dir: Path | None = None,
    source_root: Path | None = None,
) -> dict:
    """Read every piece of corpus ``name`` and write notes/pieces/rejected Parquet to ``out_dir``.

    A piece's split is its source's or reader's when it has one (JSB's and MAESTRO's
    official splits), else :func:`assign_split`'s hash; then :func:`ensure_every_split`.
    A fetched corpus reads its files from ``raw_dir`` (``data/raw/<name>``, the fetch
    stage's output) and its ``options`` go to the source's lister. ``source_root``: a
    temporary folder the files were unpacked into; the tables name files relative to it.
    ``notes.parquet`` gets one row group per batch of ``batch_pieces`` pieces or
    ``batch_notes`` notes (see :mod:`scorelab.corpora.ingest`); the same source gives
    the same bytes.

    Returns the summary also written to ``out_dir/summary.json``.

    Raises
    ------
    EmptyCorpusError
        When no piece could be read (naming how many were tried and the first reasons).
    ScorelabError
        When more than ``max_reject_fraction`` of the pieces were rejected.
    """
    jobs = list_jobs(cfg.source, cfg.source_paths(raw_dir), **cfg.options)
    if source_root is not None:
        # files unpacked into a temporary folder: tables name them relative to it, so the
        # same source gives the same bytes
        root = f"{Path(source_root)}/"
        jobs = [replace(j, source=j.source.replace(root, "", 1)) for j in jobs]
    if cfg.limit > 0:
        jobs = limited_jobs(jobs, cfg.limit)
    # music21's chorale list names some chorales twice: recorded, not counted as bad input
    jobs, duplicates = dedupe(jobs)
    with atomic_dir(out_dir) as tmp:
        got = ingest_jobs(
            jobs,
            name,
            cfg.tracks,
            tmp / "notes.parquet",
            workers=workers,
            batch_pieces=batch_pieces,
            batch_notes=batch_notes,
            limits=cfg.read_limits(),
        )
        pieces, bad = got.pieces, got.rejected
        for piece in pieces:
            piece.split = piece.split or assign_split(
                piece.piece_id, seed, cfg.valid_fraction, cfg.test_fraction
            )
        ensure_every_split(pieces, seed)
        if not pieces:
            first = "; ".join(r["reason"] for r in bad[:3])
            raise EmptyCorpusError(
                f"corpus {name}: no piece could be read ({len(jobs)} tried"
                + (f"; first reasons: {first})" if first else ")")
            )
        if len(bad) / max(len(jobs), 1) > cfg.max_reject_fraction:
            first = "; ".join(r["reason"] for r in bad[:5])
            raise ScorelabError(
                f"corpus {name}: {len(bad)} of {len(jobs)} pieces rejected "
                f"(> max_reject_fraction {cfg.max_reject_fraction}); first: {first}"
            )
        splits = {s: sum(1 for x in pieces if x.split == s) for s in ("train", "valid", "test")}
        summary = {
            "corpus": name,
            "pieces_tried": len(jobs),
            "pieces_kept": len(pieces),
            "pieces_rejected": len(bad),
            "duplicates_skipped": len(duplicates),
            "notes": int(got.notes),
            "splits": splits,
        }
        table = pd.DataFrame([p.piece_row() for p in pieces], columns=PIECE_COLUMNS)
        table.to_parquet(tmp / "pieces.parquet", index=False)
        dup = [{"corpus": name, "source": j.source, "reason": r} for j, r in duplicates]
        write_rejected(tmp, dup + bad)
        write_json(tmp / "summary.json", summary)
    return summary
