"""Pinned downloads against a local HTTP server: resume, checksum, safe extraction."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from scorelab.corpora.download import Download, fetch, safe_extract
from scorelab.errors import DownloadError


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files from a folder, honouring ``Range: bytes=N-`` like real corpus hosts."""

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
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
        self.wfile.write(body)


@pytest.fixture()
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(RangeHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
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


def test_fetch_verifies_and_extracts(server, tmp_path):
    root, base = server
    data = _zip_bytes({"corpus/a.mid": b"A" * 100, "corpus/b.mid": b"B" * 50})
    (root / "c.zip").write_bytes(data)
    got = fetch(_pin(data, f"{base}/c.zip", "c.zip"), tmp_path / "dl", progress=False)
    assert got.read_bytes() == data
    out = safe_extract(got, tmp_path / "raw")
    assert (out / "corpus/a.mid").read_bytes() == b"A" * 100


def test_fetch_resumes_a_partial_download(server, tmp_path):
    root, base = server
    data = bytes(range(256)) * 40
    (root / "c.bin").write_bytes(data)
    dl = tmp_path / "dl"
    dl.mkdir()
    (dl / "c.bin.part").write_bytes(data[:1000])  # a killed earlier run
    got = fetch(_pin(data, f"{base}/c.bin", "c.bin"), dl, progress=False)
    assert got.read_bytes() == data
    assert not (dl / "c.bin.part").exists()


def test_wrong_checksum_is_refused_and_removed(server, tmp_path):
    root, base = server
    data = b"x" * 300
    (root / "c.bin").write_bytes(data)
    pin = Download(url=f"{base}/c.bin", size=300, sha256="0" * 64, filename="c.bin")
    with pytest.raises(DownloadError, match="c.bin: sha256"):
        fetch(pin, tmp_path / "dl", progress=False)
    assert not list((tmp_path / "dl").iterdir())


def test_truncated_download_is_refused(server, tmp_path):
    root, base = server
    (root / "c.bin").write_bytes(b"x" * 100)
    pin = Download(url=f"{base}/c.bin", size=200, sha256="0" * 64, filename="c.bin")
    with pytest.raises(DownloadError, match="size 100 bytes, expected 200"):
        fetch(pin, tmp_path / "dl", progress=False)


def test_missing_url_is_a_download_error(server, tmp_path):
    _, base = server
    with pytest.raises(DownloadError, match="nope.zip"):
        fetch(Download(f"{base}/nope.zip", 10, "0" * 64, "nope.zip"), tmp_path / "dl", progress=False)


@pytest.mark.parametrize("bad", ["../evil.mid", "/abs/evil.mid", "ok/../../evil.mid"])
def test_zip_member_escaping_is_refused(tmp_path, bad):
    archive = tmp_path / "bad.zip"
    archive.write_bytes(_zip_bytes({"fine.mid": b"1", bad: b"2"}))
    with pytest.raises(DownloadError, match="escapes"):
        safe_extract(archive, tmp_path / "raw")
    assert not (tmp_path / "raw").exists()
    assert not (tmp_path / "evil.mid").exists()


def test_tar_symlink_member_is_refused(tmp_path):
    archive = tmp_path / "bad.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        info = tarfile.TarInfo("link.mid")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tf.addfile(info)
    with pytest.raises(DownloadError, match="link"):
        safe_extract(archive, tmp_path / "raw")
