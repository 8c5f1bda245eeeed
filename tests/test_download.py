"""Pinned downloads against a local HTTP server: retries, resume, checksum, offline, safe extraction."""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import struct
import tarfile
import threading
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from scorelab.corpora import download
from scorelab.corpora.download import Download, fetch, fetch_verified, safe_extract, verify_or_record
from scorelab.errors import DownloadError


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files from a folder, honouring ``Range: bytes=N-`` like real corpus hosts.

    ``server.plan[path]`` lists how to answer the next requests for ``path``, one action
    each: ``"drop:N"`` (headers for the whole body, then only N bytes and a closed
    connection), ``"status:C"`` (HTTP error C), ``"stall:S"`` (answer after S seconds).
    Every request is logged in ``server.requests`` as ``(path, Range header or None)``.
    """

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        self.server.requests.append((self.path, self.headers.get("Range")))
        actions = self.server.plan.get(self.path)
        action, _, arg = (actions.pop(0) if actions else "ok").partition(":")
        if action == "status":
            self.send_error(int(arg))
            return
        if action == "stall":
            time.sleep(float(arg))
        path = Path(self.directory) / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            start = int(rng[6:].split("-")[0])
            self.send_response(206)
            body = data[start:]
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
            body = data
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: int(arg)] if action == "drop" else body)
        self.close_connection = True


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # a client that timed out: not news
        pass


@dataclass
class Server:
    root: Path
    base: str
    requests: list = field(default_factory=list)
    plan: dict = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"


@pytest.fixture()
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    httpd = QuietServer(("127.0.0.1", 0), lambda *a: RangeHandler(*a, directory=str(root)))
    httpd.requests, httpd.plan = [], {}
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield Server(root, f"http://127.0.0.1:{httpd.server_address[1]}", httpd.requests, httpd.plan)
    httpd.shutdown()
    httpd.server_close()


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _pin(data: bytes, url: str, name: str) -> Download:
    return Download(url=url, size=len(data), sha256=hashlib.sha256(data).hexdigest(), filename=name)


def _serve(server: Server, name: str, data: bytes) -> Download:
    (server.root / name).write_bytes(data)
    return _pin(data, server.url(name), name)


FAST = {"progress": False, "backoff": 0.0}  # no bar, no sleeping between retries

# ---------------------------------------------------------------- fetch


def test_fetch_verifies_and_extracts(server, tmp_path):
    data = _zip_bytes({"corpus/": b"", "corpus/a.mid": b"A" * 100, "corpus/b.mid": b"B" * 50})
    got = fetch(_serve(server, "c.zip", data), tmp_path / "dl", progress=False)
    assert got.read_bytes() == data
    out = safe_extract(got, tmp_path / "raw")
    assert (out / "corpus/a.mid").read_bytes() == b"A" * 100
    assert fetch(_serve(server, "c.zip", data), tmp_path / "dl", offline=True) == got  # on disk: reused


def test_fetch_resumes_a_partial_download(server, tmp_path):
    data = bytes(range(256)) * 40
    dl = tmp_path / "dl"
    dl.mkdir()
    (dl / "c.bin.part").write_bytes(data[:1000])  # a killed earlier run
    got = fetch(_serve(server, "c.bin", data), dl, progress=False)
    assert got.read_bytes() == data
    assert not (dl / "c.bin.part").exists()
    assert server.requests == [("/c.bin", "bytes=1000-")]


def test_truncated_transfer_is_retried_from_the_bytes_on_disk(server, tmp_path):
    data = bytes(range(256)) * 40
    pin = _serve(server, "c.bin", data)
    server.plan["/c.bin"] = ["drop:3000"]  # first answer: Content-Length 10240, then 3000 bytes
    got = fetch(pin, tmp_path / "dl", **FAST)
    assert got.read_bytes() == data
    assert server.requests == [("/c.bin", None), ("/c.bin", "bytes=3000-")]


@pytest.mark.parametrize("status", [503, 429, 500])
def test_server_error_then_success_is_retried(server, tmp_path, status):
    pin = _serve(server, "c.bin", b"y" * 500)
    server.plan["/c.bin"] = [f"status:{status}"]
    assert fetch(pin, tmp_path / "dl", **FAST).read_bytes() == b"y" * 500
    assert len(server.requests) == 2


def test_timeout_is_retried(server, tmp_path):
    pin = _serve(server, "c.bin", b"t" * 500)
    server.plan["/c.bin"] = ["stall:1"]
    assert fetch(pin, tmp_path / "dl", timeout=0.2, **FAST).read_bytes() == b"t" * 500
    assert len(server.requests) == 2


def test_retries_are_bounded(server, tmp_path):
    pin = _serve(server, "c.bin", b"y" * 500)
    server.plan["/c.bin"] = ["status:503"] * 5
    with pytest.raises(DownloadError, match=r"failed after 3 attempt\(s\), last: HTTP 503") as err:
        fetch(pin, tmp_path / "dl", attempts=3, **FAST)
    assert pin.url in str(err.value) and str((tmp_path / "dl").resolve()) in str(err.value)
    assert len(server.requests) == 3


def test_missing_url_is_not_retried(server, tmp_path):
    pin = Download(server.url("nope.zip"), 10, "0" * 64, "nope.zip")
    with pytest.raises(DownloadError, match="HTTP 404") as err:
        fetch(pin, tmp_path / "dl", **FAST)
    assert pin.url in str(err.value)
    assert server.requests == [("/nope.zip", None)]


def test_wrong_checksum_is_refused_and_moved_aside(server, tmp_path):
    data = b"x" * 300
    (server.root / "c.bin").write_bytes(data)
    pin = Download(url=server.url("c.bin"), size=300, sha256="0" * 64, filename="c.bin")
    dl = tmp_path / "dl"
    with pytest.raises(DownloadError) as err:
        fetch(pin, dl, **FAST)
    got = hashlib.sha256(data).hexdigest()
    bad = dl / f"c.bin.bad-{got[:12]}"
    msg = str(err.value)
    assert pin.url in msg and got in msg and "0" * 64 in msg and str(bad) in msg
    assert bad.read_bytes() == data
    assert sorted(p.name for p in dl.iterdir()) == [bad.name]  # no c.bin, no c.bin.part


def test_wrong_size_names_both_sizes_and_is_moved_aside(server, tmp_path):
    (server.root / "c.bin").write_bytes(b"x" * 100)
    pin = Download(url=server.url("c.bin"), size=200, sha256="0" * 64, filename="c.bin")
    with pytest.raises(DownloadError, match="size 100 bytes, expected 200.*moved aside"):
        fetch(pin, tmp_path / "dl", **FAST)
    assert [p.name for p in (tmp_path / "dl").iterdir()][0].startswith("c.bin.bad-")


def test_placed_file_with_wrong_checksum_is_moved_aside_not_used(server, tmp_path):
    pin = _serve(server, "c.bin", b"good" * 10)
    dl = tmp_path / "dl"
    dl.mkdir()
    (dl / "c.bin").write_bytes(b"evil" * 10)
    with pytest.raises(DownloadError, match="does not match the pinned"):
        fetch(pin, dl, **FAST)
    assert not (dl / "c.bin").exists()
    assert len(list(dl.glob("c.bin.bad-*"))) == 1
    assert server.requests == []


def test_unpinned_download_returns_the_hash_it_saw(server, tmp_path):
    data = b"lpd" * 1000
    (server.root / "lpd.tar.gz").write_bytes(data)
    pin = Download(server.url("lpd.tar.gz"), 0, "", "lpd.tar.gz")
    got = fetch_verified(pin, tmp_path / "dl", **FAST)
    assert (got.sha256, got.size, got.pinned) == (hashlib.sha256(data).hexdigest(), len(data), False)
    assert got.path.read_bytes() == data
    assert fetch(pin, tmp_path / "dl", offline=True) == got.path  # on disk: reused as is
    assert verify_or_record(pin, got.path) == got.sha256
    assert len(server.requests) == 1


def test_offline_without_the_file_fails_fast_naming_the_folder(server, tmp_path):
    pin = _serve(server, "c.zip", b"z" * 64)
    with pytest.raises(DownloadError) as err:
        fetch(pin, tmp_path / "dl", offline=True, **FAST)
    msg = str(err.value)
    for part in ("c.zip", pin.url, "64 bytes", pin.sha256, str((tmp_path / "dl").resolve())):
        assert part in msg
    assert server.requests == []


def test_offline_with_the_file_placed_by_hand(server, tmp_path):
    data = b"z" * 64
    pin = _serve(server, "c.zip", data)
    (tmp_path / "dl").mkdir()
    (tmp_path / "dl" / "c.zip").write_bytes(data)
    assert fetch(pin, tmp_path / "dl", offline=True).read_bytes() == data
    assert server.requests == []


def test_unreachable_network_fails_fast(tmp_path, monkeypatch):
    calls = []

    def no_dns(*args, **kwargs):
        calls.append(args)
        raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr(urllib.request, "urlopen", no_dns)
    pin = Download("https://example.org/c.zip", 10, "0" * 64, "c.zip")
    with pytest.raises(DownloadError, match="cannot reach the host") as err:
        fetch(pin, tmp_path / "dl", **FAST)
    assert str((tmp_path / "dl").resolve()) in str(err.value)
    assert len(calls) == 1


def test_connection_refused_is_retried(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    calls = []
    real = urllib.request.urlopen
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: calls.append(a) or real(*a, **k))
    pin = Download(f"http://127.0.0.1:{port}/c.zip", 10, "0" * 64, "c.zip")
    with pytest.raises(DownloadError, match="after 3 attempt.*ConnectionRefusedError"):
        fetch(pin, tmp_path / "dl", attempts=3, **FAST)
    assert len(calls) == 3


# ---------------------------------------------------------------- safe_extract


def _tar(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tf:
        for m in members:
            if isinstance(m, tarfile.TarInfo):
                tf.addfile(m)
            else:
                info = tarfile.TarInfo(m[0])
                info.size = len(m[1])
                tf.addfile(info, io.BytesIO(m[1]))
    return path


def _refused(archive: Path, dest: Path, match: str, **kwargs) -> None:
    with pytest.raises(DownloadError, match=match) as err:
        safe_extract(archive, dest, **kwargs)
    assert str(archive) in str(err.value)
    assert not dest.exists()
    assert not any(p.name.startswith(f".{dest.name}.") for p in dest.parent.iterdir())  # no temp left


@pytest.mark.parametrize(
    "bad", ["../evil.mid", "/abs/evil.mid", "ok/../../evil.mid", "C:/evil.mid", "C:evil.mid", "..\\evil.mid"]
)
def test_zip_member_escaping_is_refused(tmp_path, bad):
    archive = tmp_path / "bad.zip"
    archive.write_bytes(_zip_bytes({"fine.mid": b"1", bad: b"2"}))
    _refused(archive, tmp_path / "raw", f"member {bad!r} escapes".replace("\\", "\\\\"))
    assert not (tmp_path / "evil.mid").exists()


@pytest.mark.parametrize("bad", ["../evil.mid", "/abs/evil.mid"])
def test_tar_member_escaping_is_refused(tmp_path, bad):
    archive = _tar(tmp_path / "bad.tar", [("fine.mid", b"1"), (bad, b"2")])
    _refused(archive, tmp_path / "raw", "escapes")


def test_zip_symlink_member_is_refused(tmp_path):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("link.mid")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    _refused(archive, tmp_path / "raw", "'link.mid' is a symbolic link")


def test_tar_symlink_member_is_refused(tmp_path):
    info = tarfile.TarInfo("link.mid")
    info.type = tarfile.SYMTYPE
    info.linkname = "/etc/passwd"
    _refused(_tar(tmp_path / "bad.tar.gz", [info], "w:gz"), tmp_path / "raw", "is a symbolic link")


def test_tar_hard_link_is_refused_even_inside(tmp_path):
    info = tarfile.TarInfo("b.mid")
    info.type = tarfile.LNKTYPE
    info.linkname = "a.mid"  # a member of the same archive
    archive = _tar(tmp_path / "bad.tar", [("a.mid", b"a"), info])
    _refused(archive, tmp_path / "raw", "'b.mid' is a hard link to 'a.mid'")


def test_oversized_archive_is_refused(tmp_path):
    archive = tmp_path / "big.zip"
    archive.write_bytes(_zip_bytes({"a.mid": b"a" * 600, "b.mid": b"b" * 600}))
    _refused(
        archive, tmp_path / "raw", "'b.mid': declared uncompressed size reaches 1200", max_total_bytes=1000
    )


def test_written_bytes_are_counted_too(tmp_path, monkeypatch):
    monkeypatch.setattr(download._Budget, "check_declared", lambda self, members: None)  # headers "lie"
    archive = tmp_path / "big.zip"
    archive.write_bytes(_zip_bytes({"a.mid": b"a" * 600, "b.mid": b"b" * 600}))
    _refused(
        archive, tmp_path / "raw", "'b.mid': written uncompressed size reaches 1200", max_total_bytes=1000
    )


def test_lying_zip_header_does_not_beat_the_limit(tmp_path):
    data = b"\0" * (3 << 20)
    archive = tmp_path / "liar.zip"
    archive.write_bytes(_zip_bytes({"a.mid": data}))
    raw = bytearray(archive.read_bytes())
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local header, central directory
        at = raw.index(sig)
        raw[at + offset : at + offset + 4] = struct.pack("<I", 1000)  # uncompressed size: 1000
    archive.write_bytes(bytes(raw))
    _refused(archive, tmp_path / "raw", "'a.mid' is unreadable: Bad CRC", max_total_bytes=2000)


def test_zip_bomb_is_refused(tmp_path):
    archive = tmp_path / "bomb.zip"
    info = zipfile.ZipInfo("zeros.mid")
    info.compress_type = zipfile.ZIP_DEFLATED  # open(ZipInfo) uses its own, not the ZipFile's
    with zipfile.ZipFile(archive, "w") as zf, zf.open(info, "w") as f:  # streamed: fast, little memory
        block = b"\0" * (1 << 20)
        for _ in range(50):
            f.write(block)
    assert archive.stat().st_size < (50 << 20) / 200
    _refused(archive, tmp_path / "raw", "'zeros.mid'.*zip bomb")


def test_tar_whose_last_member_is_a_zip_is_extracted_as_tar(tmp_path):
    inner = _zip_bytes({"x.npy": b"n" * 100})
    here = tarfile.TarInfo("./")
    here.type = tarfile.DIRTYPE
    archive = _tar(tmp_path / "lpd.tar", [here, ("a/b.mid", b"m" * 10), ("a/c.npz", inner)])
    assert zipfile.is_zipfile(archive)  # why safe_extract reads the magic bytes instead
    out = safe_extract(archive, tmp_path / "raw")
    assert (out / "a/c.npz").read_bytes() == inner
    assert (out / "a/b.mid").read_bytes() == b"m" * 10


def test_not_an_archive_is_refused(tmp_path):
    archive = tmp_path / "c.bin"
    archive.write_bytes(b"plain text" * 100)
    _refused(archive, tmp_path / "raw", "not a zip or tar archive")


# ---------------------------------------------------------------- one corpus's fetch step

from scorelab.corpora.fetch import FETCH_RECORD, fetch_corpus, parse_downloads  # noqa: E402
from scorelab.errors import ParamsError  # noqa: E402


def test_fetch_corpus_writes_each_verified_file_and_a_record(server, tmp_path):
    a = _serve(server, "a.zip", _zip_bytes({"x/1.abc": b"X:1\nK:C\nC\n"}))
    b = _serve(server, "b.pickle", b"\x80\x02}q\x00.")
    out, dl = tmp_path / "raw" / "toy", tmp_path / "downloads" / "toy"
    record = fetch_corpus("toy", [a, b], out, dl, **FAST)
    assert sorted(p.name for p in out.iterdir()) == ["a.zip", "b.pickle", FETCH_RECORD]
    assert (out / "a.zip").read_bytes() == (server.root / "a.zip").read_bytes()
    assert record["files"][0] == {
        "filename": "a.zip",
        "url": a.url,
        "size": a.size,
        "sha256": a.sha256,
        "pinned": True,
    }
    n = len(server.requests)
    fetch_corpus("toy", [a, b], out, dl, offline=True, **FAST)  # a rerun needs no network
    assert len(server.requests) == n


def test_fetch_corpus_offline_names_the_corpus_file_and_folder(tmp_path):
    d = Download("http://127.0.0.1:9/lpd.tar", 10, "0" * 64, "lpd.tar")
    with pytest.raises(DownloadError) as err:
        fetch_corpus("lpd5_cleansed", [d], tmp_path / "raw", tmp_path / "dl", offline=True, **FAST)
    msg = str(err.value)
    assert "corpus lpd5_cleansed" in msg and "lpd.tar" in msg and str(tmp_path / "dl") in msg
    assert not (tmp_path / "raw").exists()


def test_fetch_corpus_records_an_unpinned_hash_and_keeps_old_output_on_failure(server, tmp_path):
    data = b"npz archive bytes"
    (server.root / "lpd.zip").write_bytes(data)
    unpinned = Download(server.url("lpd.zip"), 0, "", "lpd.zip")
    out = tmp_path / "raw"
    rec = fetch_corpus("lpd", [unpinned], out, tmp_path / "dl", **FAST)
    assert rec["files"][0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert rec["files"][0]["pinned"] is False and rec["files"][0]["size"] == len(data)
    wrong = Download(server.url("lpd.zip"), len(data), "1" * 64, "lpd.zip")
    with pytest.raises(DownloadError, match="corpus lpd: .*" + "1" * 64):
        fetch_corpus("lpd", [wrong], out, tmp_path / "dl", **FAST)
    assert (out / "lpd.zip").read_bytes() == data  # the old output stands


def test_download_params_are_checked_with_their_key():
    ok = parse_downloads({"url": "https://x/y.zip", "filename": "y.zip", "size": 3, "sha256": "a" * 64}, "c")
    assert ok == [Download("https://x/y.zip", 3, "a" * 64, "y.zip")]
    assert parse_downloads([{"url": "u", "filename": "f"}], "c")[0].pinned is False
    bad = [
        ({"url": "u", "filename": "f", "md5": "x"}, "fetched.c.download.md5: unknown key"),
        ({"url": "u"}, "fetched.c.download.filename: required"),
        ({"url": "u", "filename": "../f"}, "must be a plain file name"),
        ({"url": "u", "filename": "f", "sha256": "ABC"}, "64 lower-case hex"),
        ({"url": "u", "filename": "f", "size": -1}, "integer >= 0"),
        ([{"url": "u", "filename": "f"}, {"url": "v", "filename": "f"}], "two files named 'f'"),
    ]
    for spec, message in bad:
        with pytest.raises(ParamsError, match=message):
            parse_downloads(spec, "c")
