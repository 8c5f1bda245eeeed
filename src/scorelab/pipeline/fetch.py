"""fetch@<corpus>: a corpus's files from outside the repository into ``data/raw/<corpus>/``.

Two kinds of corpus are fetched (both live under ``fetched:`` in params.yaml):

- one with a ``download:`` entry: every file is downloaded (or taken from where the user
  placed it, ``data/downloads/<corpus>/``) and verified against its pins by
  :func:`scorelab.corpora.fetch.fetch_corpus`;
- a ``local`` or ``midi_folder`` corpus: its folders are packed into one uncompressed tar,
  ``local.tar``, so that DVC caches, pushes and pulls the user's music as one file and a
  collaborator who pulls does not need the folders. The tar is deterministic (members
  sorted, times, owners and modes fixed), so the same files give the same bytes and an
  unchanged folder reruns nothing downstream.

DVC does not watch folders outside the repository: after changing the files of a local
corpus, rerun its fetch stage with ``dvc repro -f -s fetch@<corpus>`` (docs/corpora.md).
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

from scorelab.corpora.check import check_corpus
from scorelab.corpora.fetch import FETCH_RECORD, fetch_corpus, parse_downloads
from scorelab.corpora.walk import LOCAL_SUFFIXES, files_under, printable, suffix
from scorelab.errors import ParamsError, ScorelabError
from scorelab.io.limits import read_bounded
from scorelab.params import FOLDER_SOURCES, resolve_corpus
from scorelab.utils import atomic_dir, write_json

LOCAL_TAR = "local.tar"


def _folder_names(paths: list[str], corpus: str) -> list[str]:
    names = [Path(p).resolve().name for p in paths]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise ParamsError(f"fetched.{corpus}.paths: two folders are named {dup!r}; piece ids would collide")
    return names


def pack_folders(corpus: str, paths: list[str], out_dir: Path) -> dict:
    """Pack the music files below ``paths`` into ``out_dir/local.tar`` (folder name first).

    Only files with a suffix the ``local`` source reads are packed (others are listed in
    the record as skipped, by count), so a folder of mixed downloads stays small. The
    folder is walked as reading it in place walks it (:func:`~scorelab.corpora.walk.files_under`:
    regular files only, no symlink followed, no recursion limit), so the packed corpus
    and the folder read in place hold the same files; a file over the default
    ``limits.max_bytes`` is left out and listed under ``refused`` in the record.

    Raises
    ------
    ScorelabError
        A path that is not a folder, or folders holding no music file at all.
    """
    names = _folder_names(paths, corpus)
    members: list[tuple[str, Path]] = []
    skipped = 0
    for folder, name in zip(paths, names, strict=True):
        root = Path(folder)
        if not root.is_dir():
            raise ScorelabError(f"corpus {corpus}: {folder}: not a folder")
        for rel in files_under(root, None):
            if suffix(rel.rsplit("/", 1)[-1]).lower() in LOCAL_SUFFIXES:
                members.append((f"{name}/{rel}", root / rel))
            else:
                skipped += 1
    if not members:
        raise ScorelabError(
            f"corpus {corpus}: no music file below {', '.join(paths)} "
            f"(looked for {', '.join(LOCAL_SUFFIXES)})"
        )
    files, refused = [], []
    with atomic_dir(out_dir) as tmp:
        with tarfile.open(tmp / LOCAL_TAR, "w", format=tarfile.PAX_FORMAT) as tar:
            for arcname, f in members:
                try:
                    data = read_bounded(f)
                except OSError as err:
                    refused.append({"path": printable(arcname), "reason": str(err)})
                    continue
                info = tarfile.TarInfo(arcname)
                info.size, info.mtime, info.mode = len(data), 0, 0o644
                tar.addfile(info, io.BytesIO(data))
                files.append({"path": arcname, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
        record = {"corpus": corpus, "folders": names, "files": files, "skipped_other_files": skipped}
        if refused:
            record["refused"] = refused
        write_json(tmp / FETCH_RECORD, record)
    return record


def unpack_local(raw_dir: Path, dest: Path) -> list[str]:
    """Extract ``raw_dir/local.tar`` safely into ``dest``; the folders, as the source reads them."""
    from scorelab.corpora.download import safe_extract

    safe_extract(raw_dir / LOCAL_TAR, dest, max_ratio=None)
    return [str(p) for p in sorted(dest.iterdir()) if p.is_dir()]


def run_fetch(
    params: dict,
    name: str,
    out: Path,
    downloads_dir: Path | None = None,
    offline: bool | None = None,
    progress: bool = True,
) -> dict:
    """Fetch corpus ``name`` as params.yaml describes it into ``out`` (data/raw/<name>).

    Raises
    ------
    ParamsError
        A corpus with neither a download nor folders: an embedded corpus has nothing to fetch.
    """
    check_corpus(params, name)
    cfg = resolve_corpus(params, name)
    if cfg.get("download") is not None:
        return fetch_corpus(
            name,
            parse_downloads(cfg["download"], name),
            Path(out),
            downloads_dir,
            offline=offline,
            progress=progress,
        )
    if cfg["source"] in FOLDER_SOURCES:
        return pack_folders(name, list(cfg["paths"]), Path(out))
    raise ParamsError(
        f"fetched.{name}: nothing to fetch: no download: entry and source {cfg['source']!r} reads no "
        f"folder of the user's (a corpus bundled with a package belongs in corpora:, not fetched:)"
    )
