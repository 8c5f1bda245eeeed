"""Fetch one corpus's pinned files into ``data/raw/<corpus>/``: the fetch step of issue 7.

A corpus that is not bundled with a package names its files in params (``download:``,
one mapping or a list: ``url``, ``filename``, ``size``, ``sha256``). Two folders matter:

- ``data/downloads/<corpus>/`` is where a file is downloaded to (its ``.part`` resumes
  there after a kill, because DVC deletes a stage's outputs before rerunning it) and
  where a user without network places the file by hand. It is not a DVC output.
- ``data/raw/<corpus>/`` is the stage's output: each verified file as one file (an
  archive stays an archive, so ``dvc push``/``pull`` move a handful of files, not LPD's
  21,425 members), plus ``fetch.json`` recording what was fetched.

Every file is checked against its pinned size and sha256 before anything reads it
(:func:`scorelab.corpora.download.fetch_verified`); a file without a published checksum
(LPD) is accepted once and its hash recorded in ``fetch.json`` with a message saying
how to pin it. Offline (``offline=True`` or ``SCORELAB_OFFLINE=1``) a missing file fails
at once, naming the corpus, the file, its URL and the folder to put it in.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from scorelab.corpora.download import Download, fetch_verified
from scorelab.errors import DownloadError, ParamsError
from scorelab.utils import atomic_dir, write_json

log = logging.getLogger(__name__)

DOWNLOADS = Path("data/downloads")  # per corpus: downloads, resumable parts, hand-placed files
FETCH_RECORD = "fetch.json"
DOWNLOAD_KEYS = {"url", "filename", "size", "sha256"}


def parse_downloads(spec: Mapping | Sequence[Mapping], corpus: str) -> list[Download]:
    """The :class:`Download` list of a corpus's ``download:`` entry (one mapping or a list).

    Raises
    ------
    ParamsError
        Naming ``fetched.<corpus>.download`` and the key, for an unknown or missing key, a
        file name with a folder in it, or two entries with one file name.
    """
    where = f"fetched.{corpus}.download"
    items = [spec] if isinstance(spec, Mapping) else list(spec)
    if not items:
        raise ParamsError(f"{where}: no file listed")
    out: list[Download] = []
    for i, item in enumerate(items):
        here = where if isinstance(spec, Mapping) else f"{where}[{i}]"
        if not isinstance(item, Mapping):
            raise ParamsError(f"{here}: expected a mapping with {sorted(DOWNLOAD_KEYS)}")
        unknown = sorted(set(item) - DOWNLOAD_KEYS)
        if unknown:
            raise ParamsError(f"{here}.{unknown[0]}: unknown key; valid keys are {sorted(DOWNLOAD_KEYS)}")
        if not isinstance(item.get("filename"), str) or not item["filename"]:
            raise ParamsError(f"{here}.filename: required, a non-empty string")
        # url "": no stable download link (LPD's are share pages); the user places the file
        if not isinstance(item.get("url", ""), str):
            raise ParamsError(f"{here}.url: a string (empty: the user places the file by hand)")
        name = item["filename"]
        if Path(name).name != name or name in (".", ".."):
            raise ParamsError(f"{here}.filename: {name!r} must be a plain file name, no folder")
        size = item.get("size", 0) or 0
        sha = item.get("sha256", "") or ""
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ParamsError(f"{here}.size: bytes as an integer >= 0 (0: not pinned), got {size!r}")
        if not isinstance(sha, str) or (
            sha and (len(sha) != 64 or not all(c in "0123456789abcdef" for c in sha))
        ):
            raise ParamsError(f"{here}.sha256: 64 lower-case hex digits or empty (not pinned), got {sha!r}")
        out.append(Download(url=item.get("url", ""), size=size, sha256=sha, filename=name))
    names = [d.filename for d in out]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise ParamsError(f"{where}: two files named {dup!r}")
    return out


def _offline_default() -> bool:
    return os.environ.get("SCORELAB_OFFLINE", "") not in ("", "0")


def _place(src: Path, dst: Path) -> None:
    """Put a verified file into the output: a hard link when the disk allows, else a copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def fetch_corpus(
    corpus: str,
    downloads: Sequence[Download],
    out_dir: Path,
    downloads_dir: Path | None = None,
    *,
    offline: bool | None = None,
    progress: bool = True,
    attempts: int = 4,
    backoff: float = 1.0,
) -> dict:
    """Fetch and verify every file of ``corpus``, then write ``out_dir`` as a whole.

    Returns the record also written to ``out_dir/fetch.json``: per file its URL, size,
    sha256 and whether that hash was pinned in params or only seen now.

    Raises
    ------
    DownloadError
        From the first file that cannot be had (network, size, checksum, offline), with
        the corpus named; ``out_dir`` is then left as it was.
    """
    downloads_dir = Path(downloads_dir) if downloads_dir is not None else DOWNLOADS / corpus
    offline = _offline_default() if offline is None else offline
    files = []
    got = []
    for d in downloads:
        try:
            f = fetch_verified(
                d, downloads_dir, progress=progress, offline=offline, attempts=attempts, backoff=backoff
            )
        except DownloadError as exc:
            raise DownloadError(f"corpus {corpus}: {exc}") from exc
        if not f.pinned:
            log.warning(
                "corpus %s: %s is not pinned; it was accepted once with sha256 %s and size %d. "
                "Pin it: set fetched.%s.download's sha256 and size to these values in conf/ "
                "(config.yaml or the catalogue that defines it), then run `scorelab params`",
                corpus,
                d.filename,
                f.sha256,
                f.size,
                corpus,
            )
        got.append(f)
        files.append(
            {"filename": d.filename, "url": d.url, "size": f.size, "sha256": f.sha256, "pinned": f.pinned}
        )
    record = {"corpus": corpus, "files": files}
    with atomic_dir(out_dir) as tmp:
        for f in got:
            _place(f.path, tmp / f.path.name)
        write_json(tmp / FETCH_RECORD, record)
    return record
