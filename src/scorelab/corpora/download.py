"""Downloaded corpora: a pinned file (URL + size + sha256), resumable, safely extracted.

A corpus that is not bundled with a package is data: a :class:`Download` names the URL,
the exact byte size and the sha256 of the archive. :func:`fetch` resumes a partial
download with an HTTP Range request, and refuses a file of the wrong size or checksum
(deleting it, so the next try starts clean). :func:`safe_extract` refuses any archive
member that would land outside the target folder (absolute paths, ``..``, links),
and extracts into a temporary folder renamed into place, so a killed extraction
leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import tarfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from scorelab.errors import DownloadError
from scorelab.utils import atomic_dir

CHUNK = 1 << 20  # bytes read per network / disk step


@dataclass(frozen=True)
class Download:
    """One pinned remote file."""

    url: str
    size: int  # bytes
    sha256: str
    filename: str


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def fetch(d: Download, dest_dir: Path, progress: bool = True, timeout: float = 60.0) -> Path:
    """Download ``d`` into ``dest_dir`` (resuming a ``.part`` file) and verify it.

    Returns the verified file. A file already there with the right checksum is not
    downloaded again.

    Raises
    ------
    DownloadError
        On a network error, a size or a checksum mismatch; the message names the file.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / d.filename
    if final.exists() and final.stat().st_size == d.size and sha256_of(final) == d.sha256:
        return final
    part = final.with_name(final.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    if have > d.size:
        part.unlink()
        have = 0
    if have < d.size:
        req = urllib.request.Request(d.url, headers={"Range": f"bytes={have}-"} if have else {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                if have and resp.status != 206:  # server ignored the Range: start over
                    have = 0
                mode = "ab" if have else "wb"
                with (
                    open(part, mode) as f,
                    tqdm(
                        total=d.size,
                        initial=have,
                        unit="B",
                        unit_scale=True,
                        desc=d.filename,
                        disable=not progress,
                    ) as bar,
                ):
                    for block in iter(lambda: resp.read(CHUNK), b""):
                        f.write(block)
                        bar.update(len(block))
        except OSError as exc:
            raise DownloadError(f"{d.filename}: download from {d.url} failed: {exc}") from exc
    got = part.stat().st_size
    if got != d.size:
        part.unlink()
        raise DownloadError(f"{d.filename}: size {got} bytes, expected {d.size} (truncated or wrong file)")
    digest = sha256_of(part)
    if digest != d.sha256:
        part.unlink()
        raise DownloadError(f"{d.filename}: sha256 {digest} does not match the pinned {d.sha256}")
    part.replace(final)
    return final


def _check_member(name: str, archive: Path) -> PurePosixPath:
    """A member's relative path, or DownloadError when it would escape the target folder."""
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or (p.parts and p.parts[0].endswith(":")):
        raise DownloadError(f"{archive.name}: member {name!r} escapes the extraction folder; refused")
    return p


def safe_extract(archive: Path, dest: Path) -> Path:
    """Extract a zip or tar archive into ``dest`` (replaced as a whole), refusing escapes.

    Raises
    ------
    DownloadError
        When a member has an absolute path, ``..``, or is a link, or the format is unknown;
        nothing is written in that case.
    """
    archive = Path(archive)
    with atomic_dir(dest) as tmp:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    _check_member(info.filename, archive)
                    if (info.external_attr >> 16) & 0o170000 == 0o120000:
                        raise DownloadError(f"{archive.name}: member {info.filename!r} is a link; refused")
                zf.extractall(tmp)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                members = tf.getmembers()
                for m in members:
                    _check_member(m.name, archive)
                    if m.issym() or m.islnk() or m.isdev():
                        raise DownloadError(f"{archive.name}: member {m.name!r} is a link or device; refused")
                tf.extractall(tmp, members=members, filter="data")
        else:
            raise DownloadError(f"{archive.name}: not a zip or tar archive")
    return Path(dest)
