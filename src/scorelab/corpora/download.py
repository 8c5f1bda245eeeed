"""Downloaded corpora: a pinned file (URL + size + sha256), resumable, retried, safely extracted.

A corpus that is not bundled with a package is data: a :class:`Download` names the URL,
the exact byte size and the sha256 of the archive.

- :func:`fetch` downloads into a ``.part`` file, resuming with an HTTP Range request, and
  retries transient failures (connection reset/refused, timeouts, HTTP 5xx/408/429, a
  transfer that ends before its Content-Length) with exponential backoff, each retry
  resuming from the bytes already on disk. Other HTTP errors (404, 403, ...) are not
  retried.
- The file is verified against its size and sha256 before it gets its final name. A file
  that does not match is moved aside to ``<name>.bad-<first 12 hex of its sha256>`` (never
  deleted, never used) and the error names the URL, both sizes or both hashes, and where
  the file went.
- A corpus without a published checksum (LPD) is *unpinned*: ``size`` 0/None and
  ``sha256`` "". Its file is accepted as it comes; :func:`fetch_verified` returns a
  :class:`Fetched` whose ``sha256``/``size`` are the values seen, so the caller can tell
  the user how to pin it (:func:`fetch` logs the same as a warning).
- ``offline=True`` never touches the network: the file must already be in ``dest_dir``
  (the error names the file, URL, size, sha256 and the exact folder to put it in). A
  network that cannot be reached at all (name resolution fails, network unreachable) with
  nothing on disk fails the same way at once, without retries.

:func:`safe_extract` detects zip or tar by magic bytes, refuses any member that would land
outside the target folder (absolute paths, ``..``, Windows drive prefixes) and every link
(symbolic or hard) or special file, refuses archives whose declared or actually written
size is too large or too compressed (zip bombs), and extracts into a temporary folder
renamed into place, so a refusal or a killed extraction leaves nothing half-written.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import http.client
import logging
import lzma
import os
import socket
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from tqdm import tqdm

from scorelab.errors import DownloadError
from scorelab.utils import atomic_dir

CHUNK = 1 << 20  # bytes read per network / disk step
RETRY_STATUS = frozenset({408, 429})  # 4xx codes worth retrying (plus every 5xx)
MAX_RETRY_AFTER = 60.0  # seconds: cap on a server's Retry-After
MAX_TOTAL_BYTES = 20 << 30  # safe_extract's default cap on the uncompressed total (20 GiB)
RATIO_MIN_BYTES = 1 << 20  # the compression-ratio guard applies above this uncompressed total
# what a corrupt, encrypted or unsupported archive raises while it is read
_ARCHIVE_ERRORS = (
    zipfile.BadZipFile,
    tarfile.TarError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    gzip.BadGzipFile,
    RuntimeError,  # an encrypted zip member
    NotImplementedError,  # an unsupported zip compression
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Download:
    """One remote file, pinned by its size and sha256.

    ``size`` 0/None and ``sha256`` "" mean *unpinned* (no published checksum): the file is
    accepted as downloaded and :func:`fetch_verified` reports what it saw.
    """

    url: str
    size: int | None  # bytes; 0/None: unknown
    sha256: str  # hex; "": unknown
    filename: str

    @property
    def pinned(self) -> bool:
        """Whether there is anything to verify (a size or a sha256)."""
        return bool(self.size) or bool(self.sha256)


@dataclass(frozen=True)
class Fetched:
    """What :func:`fetch_verified` got: the file, its sha256 and size, and whether it was pinned."""

    path: Path
    sha256: str
    size: int
    pinned: bool


class _Transient(Exception):
    """A failure worth another attempt; ``retry_after`` is the server's hint, in seconds."""

    def __init__(self, message: str, retry_after: float = 0.0):
        super().__init__(message)
        self.retry_after = retry_after


class _Unreachable(_Transient):
    """The network or host cannot be reached at all (no DNS, no route)."""


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _move_aside(path: Path, digest: str | None = None) -> Path:
    """Rename a file that failed verification to ``<name>.bad-<12 hex>``; returns the new path."""
    digest = digest or sha256_of(path)
    name = path.name[: -len(".part")] if path.name.endswith(".part") else path.name
    bad = path.with_name(f"{name}.bad-{digest[:12]}")
    os.replace(path, bad)  # same content as any earlier file of that name
    return bad


def verify_or_record(d: Download, path: Path) -> str:
    """Check ``path`` against ``d``'s size and sha256; return the sha256 it has.

    For an unpinned ``d`` nothing is checked: the returned hash is what to pin.

    Raises
    ------
    DownloadError
        On a size or sha256 mismatch, naming the URL and both values. The file has then
        been moved aside (``<name>.bad-<12 hex>``, named in the message), never deleted.
    """
    path = Path(path)
    got_size = path.stat().st_size
    if d.size and got_size != d.size:
        digest = sha256_of(path)
        bad = _move_aside(path, digest)
        raise DownloadError(
            f"{d.url}: size {got_size} bytes, expected {d.size} (truncated or wrong file); "
            f"sha256 {digest}, expected {d.sha256 or '(unpinned)'}; moved aside to {bad}"
        )
    digest = sha256_of(path)
    if d.sha256 and digest != d.sha256.lower():
        bad = _move_aside(path, digest)
        raise DownloadError(
            f"{d.url}: sha256 {digest} does not match the pinned {d.sha256} "
            f"({got_size} bytes); moved aside to {bad}"
        )
    return digest


def _placement_help(d: Download, dest_dir: Path) -> str:
    """Where and what to place by hand when the file cannot be downloaded."""
    folder = dest_dir.resolve()
    size = f"{d.size} bytes" if d.size else "size unknown"
    sha = f"sha256 {d.sha256}" if d.sha256 else "sha256 unpinned"
    where = f"from {d.url}" if d.url else "by hand (params give no download URL for it)"
    return f"download {d.filename} ({size}, {sha}) {where} and place it in {folder}/"


def _retry_after(headers) -> float:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER) if value else 0.0
    except ValueError:  # an HTTP date: not worth parsing, backoff applies
        return 0.0


def _classify(exc: BaseException, url: str) -> BaseException:
    """The exception to act on: _Transient/_Unreachable (retry), DownloadError (stop)."""
    if isinstance(exc, urllib.error.HTTPError):
        if exc.code in RETRY_STATUS or exc.code >= 500:
            return _Transient(f"HTTP {exc.code} {exc.reason}", _retry_after(exc.headers))
        return DownloadError(f"{url}: HTTP {exc.code} {exc.reason} (not retried)")
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, socket.gaierror) or (
        isinstance(reason, OSError)
        and reason.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN)
    ):
        return _Unreachable(f"cannot reach the host: {reason}")
    if isinstance(reason, ConnectionError | TimeoutError | http.client.HTTPException):
        return _Transient(f"{type(reason).__name__}: {reason}")
    return DownloadError(f"{url}: download failed: {exc}")


def _content_range_start(value: str | None) -> int | None:
    """``N`` of ``Content-Range: bytes N-M/T``, or None."""
    if not value or not value.startswith("bytes "):
        return None
    try:
        return int(value[6:].split("-")[0])
    except ValueError:
        return None


def _transfer(d: Download, part: Path, timeout: float, progress: bool) -> None:
    """One attempt: append to ``part`` from its current size; raise _Transient if cut short."""
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(d.url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()  # its body is not needed; status and headers stay readable
        if have and exc.code == 416:  # nothing left after ``have``: complete, or a stale part
            size = (exc.headers.get("Content-Range") or "").rpartition("/")[2]
            if size.isdigit() and int(size) == have:
                return
            bad = _move_aside(part)
            raise _Transient(
                f"server refused Range bytes={have}- (HTTP 416); partial file moved aside to {bad}"
            ) from exc
        raise _classify(exc, d.url) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise _classify(exc, d.url) from exc
    with resp:
        if have and resp.status == 206 and _content_range_start(resp.headers.get("Content-Range")) != have:
            part.unlink()  # the server resumed elsewhere: start clean next time
            raise _Transient(f"server answered Range bytes={have}- with {resp.headers.get('Content-Range')}")
        if have and resp.status != 206:  # server ignored the Range: start over
            have = 0
        length = resp.headers.get("Content-Length")
        expected = int(length) if length and length.isdigit() else None
        total = d.size or (have + expected if expected is not None else None)
        received = 0
        with (
            open(part, "ab" if have else "wb") as f,
            tqdm(
                total=total, initial=have, unit="B", unit_scale=True, desc=d.filename, disable=not progress
            ) as bar,
        ):
            while True:
                try:
                    block = resp.read(CHUNK)
                except (OSError, http.client.HTTPException) as exc:
                    raise _Transient(f"transfer interrupted after {have + received} bytes: {exc!r}") from exc
                if not block:
                    break
                try:
                    f.write(block)
                except OSError as exc:
                    raise DownloadError(f"{d.url}: writing {part} failed: {exc}") from exc
                received += len(block)
                bar.update(len(block))
                if d.size and have + received > d.size:
                    return  # longer than pinned: verification moves it aside
        if expected is not None and received < expected:
            raise _Transient(f"transfer ended after {have + received} of {have + expected} bytes")


def fetch_verified(
    d: Download,
    dest_dir: Path,
    progress: bool = True,
    timeout: float = 60.0,
    *,
    offline: bool = False,
    attempts: int = 4,
    backoff: float = 1.0,
) -> Fetched:
    """Download ``d`` into ``dest_dir`` (resuming a ``.part`` file), verify it, report it.

    A file already in ``dest_dir`` under ``d.filename`` is used without any request when
    it verifies (and always when ``d`` is unpinned).

    Parameters
    ----------
    offline
        Never use the network: the file must already be in ``dest_dir``.
    attempts
        Tries in all (>= 1) for transient failures; each resumes from the ``.part``.
    backoff
        Seconds before the second try, doubled for each later one (a server's
        Retry-After, up to 60 s, is honoured when longer).

    Raises
    ------
    DownloadError
        Offline (or the network unreachable) with no file: names the file, URL, size,
        sha256 and the folder to put it in. An HTTP error other than 5xx/408/429: names
        the URL and status. Retries used up: names the URL, the last failure and the
        folder. A size or checksum mismatch: see :func:`verify_or_record`.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / d.filename
    if final.exists():
        return Fetched(final, verify_or_record(d, final), final.stat().st_size, d.pinned)
    part = final.with_name(final.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    if d.size and have > d.size:
        bad = _move_aside(part)
        log.warning("%s: partial download longer than %d bytes moved aside to %s", d.url, d.size, bad)
        have = 0
    if not (d.size and have == d.size):  # a complete .part (killed before its rename) needs no request
        if offline or not d.url:
            why = "offline" if offline else "no URL to download it from"
            raise DownloadError(f"{d.filename}: not found and {why}; {_placement_help(d, dest_dir)}")
        for attempt in range(1, max(attempts, 1) + 1):
            try:
                _transfer(d, part, timeout, progress)
                break
            except _Transient as exc:
                on_disk = part.exists() and part.stat().st_size > 0
                if isinstance(exc, _Unreachable) and not on_disk:
                    raise DownloadError(f"{d.url}: {exc}; {_placement_help(d, dest_dir)}") from None
                if attempt >= attempts:
                    raise DownloadError(
                        f"{d.url}: failed after {attempt} attempt(s), last: {exc}; "
                        f"rerun to resume, or {_placement_help(d, dest_dir)}"
                    ) from None
                delay = max(backoff * 2 ** (attempt - 1), exc.retry_after)
                log.warning("%s: %s; retry %d/%d in %.1f s", d.url, exc, attempt, attempts - 1, delay)
                time.sleep(delay)
    digest = verify_or_record(d, part)
    size = part.stat().st_size
    part.replace(final)
    if not d.pinned:
        log.warning("%s is unpinned; pin it with size=%d, sha256=%r", d.url, size, digest)
    return Fetched(final, digest, size, d.pinned)


def fetch(d: Download, dest_dir: Path, **options) -> Path:
    """:func:`fetch_verified` (same options), returning only the verified file's path."""
    return fetch_verified(d, dest_dir, **options).path


# ---------------------------------------------------------------- extraction


def archive_format(path: Path) -> str | None:
    """``"zip"`` or ``"tar"`` from the file's magic bytes, or None.

    Not ``zipfile.is_zipfile`` first: it looks for a zip directory near the end of the
    file, and an uncompressed tar whose last member is a zip (or ``.npz``) has one there.
    """
    with open(path, "rb") as f:
        head = f.read(512)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if head[257:262] == b"ustar":
        return "tar"
    if head[:2] == b"\x1f\x8b" or head[:3] == b"BZh" or head[:6] == b"\xfd7zXZ\x00":
        return "tar"  # a compressed tar, or tarfile refuses it
    if tarfile.is_tarfile(path):  # old v7 tar without the ustar magic
        return "tar"
    return None


def _check_member(name: str, archive: Path) -> PurePosixPath:
    """A member's relative path, or DownloadError when it would escape the target folder."""
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or PureWindowsPath(name).anchor:
        raise DownloadError(f"{archive}: member {name!r} escapes the extraction folder; refused")
    return p


class _Budget:
    """Counts bytes actually written against the total and ratio limits."""

    def __init__(self, archive: Path, max_total_bytes: int, max_ratio: float | None):
        self.archive = archive
        self.max_total = max_total_bytes
        self.max_ratio = max_ratio
        self.packed = max(archive.stat().st_size, 1)
        self.total = 0

    def check_declared(self, members: list[tuple[str, int]]) -> None:
        """Refuse on the declared sizes, naming the member whose size crosses a limit."""
        total = 0
        for name, size in members:
            total += size
            self.check(total, name, "declared")

    def check(self, total: int, member: str, what: str) -> None:
        if total > self.max_total:
            raise DownloadError(
                f"{self.archive}: member {member!r}: {what} uncompressed size reaches {total} bytes, "
                f"over the limit of {self.max_total}; refused"
            )
        if self.max_ratio and total > RATIO_MIN_BYTES and total / self.packed > self.max_ratio:
            raise DownloadError(
                f"{self.archive}: member {member!r}: {what} uncompressed size {total} bytes is "
                f"{total / self.packed:.0f}x the archive's {self.packed} (limit {self.max_ratio}x; "
                "a zip bomb?); refused"
            )

    def copy(self, src, target: Path, member: str, declared: int) -> None:
        written = 0
        with open(target, "wb") as out:
            for block in iter(lambda: src.read(CHUNK), b""):
                written += len(block)
                self.total += len(block)
                if written > declared:
                    raise DownloadError(
                        f"{self.archive}: member {member!r} holds more than its declared "
                        f"{declared} bytes; refused"
                    )
                self.check(self.total, member, "written")
                out.write(block)


def _target(tmp: Path, rel: PurePosixPath, archive: Path, name: str, is_dir: bool) -> Path:
    if not rel.parts and not is_dir:
        raise DownloadError(f"{archive}: member {name!r} is a file without a name; refused")
    target = tmp.joinpath(*rel.parts)
    if not target.resolve().is_relative_to(tmp.resolve()):  # belt and braces
        raise DownloadError(f"{archive}: member {name!r} escapes the extraction folder; refused")
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _extract_zip(archive: Path, tmp: Path, budget: _Budget) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        for info in infos:
            _check_member(info.filename, archive)
            kind = (info.external_attr >> 16) & 0o170000  # unix file type, 0 from DOS tools
            if kind == 0o120000:
                raise DownloadError(f"{archive}: member {info.filename!r} is a symbolic link; refused")
            if kind not in (0, 0o100000, 0o040000):
                raise DownloadError(
                    f"{archive}: member {info.filename!r} is a device or special file; refused"
                )
        budget.check_declared([(i.filename, i.file_size) for i in infos])
        for info in infos:
            rel = _check_member(info.filename, archive)
            target = _target(tmp, rel, archive, info.filename, info.is_dir())
            if info.is_dir():
                target.mkdir(exist_ok=True)
                continue
            try:
                with zf.open(info) as src:
                    budget.copy(src, target, info.filename, info.file_size)
            except _ARCHIVE_ERRORS as err:
                raise DownloadError(
                    f"{archive}: member {info.filename!r} is unreadable: {err}; refused"
                ) from err


def _extract_tar(archive: Path, tmp: Path, budget: _Budget) -> None:
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        for m in members:
            _check_member(m.name, archive)
            if m.issym() or m.islnk():
                kind = "symbolic" if m.issym() else "hard"
                raise DownloadError(
                    f"{archive}: member {m.name!r} is a {kind} link to {m.linkname!r}; refused"
                )
            if not (m.isfile() or m.isdir()):
                raise DownloadError(f"{archive}: member {m.name!r} is a device or special file; refused")
        budget.check_declared([(m.name, m.size) for m in members if m.isfile()])
        for m in members:
            target = _target(tmp, _check_member(m.name, archive), archive, m.name, m.isdir())
            if m.isdir():
                target.mkdir(exist_ok=True)
                continue
            try:
                with tf.extractfile(m) as src:
                    budget.copy(src, target, m.name, m.size)
            except _ARCHIVE_ERRORS as err:
                raise DownloadError(f"{archive}: member {m.name!r} is unreadable: {err}; refused") from err


def safe_extract(
    archive: Path, dest: Path, max_total_bytes: int | None = None, max_ratio: float | None = 200
) -> Path:
    """Extract a zip or tar archive into ``dest`` (replaced as a whole), refusing escapes and bombs.

    Parameters
    ----------
    max_total_bytes
        Cap on the uncompressed total, declared and actually written (default 20 GiB).
    max_ratio
        Cap on uncompressed total / archive size, checked once the total passes 1 MiB
        (None: no cap).

    Raises
    ------
    DownloadError
        Naming the archive, the member and the reason: a member with an absolute path,
        ``..`` or a drive prefix; any link (symbolic or hard) or special file; a total over
        ``max_total_bytes`` or a ratio over ``max_ratio`` (declared or counted while
        writing); an unreadable member; or a format that is neither zip nor tar. Nothing
        is left in ``dest`` then (an existing ``dest`` is kept as it was).
    """
    archive = Path(archive)
    fmt = archive_format(archive)
    if fmt is None:
        raise DownloadError(f"{archive}: not a zip or tar archive")
    budget = _Budget(archive, MAX_TOTAL_BYTES if max_total_bytes is None else max_total_bytes, max_ratio)
    with atomic_dir(dest) as tmp:
        try:
            (_extract_zip if fmt == "zip" else _extract_tar)(archive, tmp, budget)
        except _ARCHIVE_ERRORS as err:
            raise DownloadError(f"{archive}: not a readable {fmt} archive: {err}") from err
    return Path(dest)


__all__ = [
    "Download",
    "DownloadError",
    "Fetched",
    "archive_format",
    "fetch",
    "fetch_verified",
    "safe_extract",
    "sha256_of",
    "verify_or_record",
]
