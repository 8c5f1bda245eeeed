"""Small files in the real layouts of the seed corpora, and a Range-capable HTTP server.

Shared by the end-to-end test of the seeds switch (tests/test_e2e.py) and the fetch
stage tests: each builder writes a file that the corpus's reader takes, with enough
notes in 4/4 for the tiny profile's datasets to cut windows from every split.
"""

from __future__ import annotations

import io
import json
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np

from test_corpus_readers import csc_parts, jsb_dict, write_maestro_zip, write_py2_pickle
from test_download import QuietServer, RangeHandler, Server


def start_server(root: Path) -> tuple[Server, QuietServer]:
    """Serve ``root`` on 127.0.0.1 (a free port) from a daemon thread; stop with ``.shutdown()``."""
    root.mkdir(parents=True, exist_ok=True)
    httpd = QuietServer(("127.0.0.1", 0), lambda *a: RangeHandler(*a, directory=str(root)))
    httpd.requests, httpd.plan = [], {}
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    return Server(root, f"http://127.0.0.1:{httpd.server_address[1]}", httpd.requests, httpd.plan), httpd


def _satb_piece(seed: int, steps: int = 64) -> list[list[int]]:
    """Four voices of 16th steps, a chord change every quarter (held notes), no rests."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(steps // 4):
        root = int(rng.integers(55, 65))
        chord = [root + 12, root + 7, root + 4, root - 12]
        out += [chord] * 4
    return out


def jsb_16th_json(path: Path) -> None:
    data = {
        split: [_satb_piece(10 * i + k) for k in range(n)]
        for i, (split, n) in enumerate([("train", 6), ("valid", 2), ("test", 2)])
    }
    path.write_text(json.dumps(data))


def jsb_pickle(path: Path) -> None:
    write_py2_pickle(path, jsb_dict())


def lpd_npz_bytes(seed: int, bars: int = 4) -> bytes:
    """A pypianoroll npz (24 steps per beat, 4/4 downbeats) with Drums and a busy Piano track."""
    steps = 96 * bars
    rng = np.random.default_rng(seed)
    drums = np.zeros((steps, 128), np.uint8)
    drums[::24, 36] = 100
    piano = np.zeros((steps, 128), np.uint8)
    for beat in range(steps // 24):
        for p in rng.choice(np.arange(48, 84), size=3, replace=False):
            piano[beat * 24 : beat * 24 + 18, p] = 90
    downbeat = np.zeros((steps, 1), bool)
    downbeat[::96] = True
    arrays = {"tempo": np.full((steps, 1), 120.0), "downbeat": downbeat}
    arrays.update(csc_parts(drums, "pianoroll_0"))
    arrays.update(csc_parts(piano, "pianoroll_1"))
    info = {
        "resolution": 24,
        "name": f"song{seed}",
        "0": {"program": 0, "is_drum": True, "name": "Drums"},
        "1": {"program": 0, "is_drum": False, "name": "Piano"},
    }
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    buf.seek(0)
    with zipfile.ZipFile(buf, "a") as zf:
        zf.writestr("info.json", json.dumps(info), zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def lpd_tar_gz(path: Path, n: int = 9) -> None:
    """LPD-5 cleansed's layout: lpd_5/lpd_5_cleansed/A/B/C/<track id>/<md5>.npz, gzipped tar."""
    with tarfile.open(path, "w:gz") as tar:
        for i in range(n):
            data = lpd_npz_bytes(i)
            info = tarfile.TarInfo(f"lpd_5/lpd_5_cleansed/A/B/C/TR{i:04d}/{i:032x}.npz")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def maestro_zip(path: Path) -> None:
    write_maestro_zip(path)


def abc_tunes(n: int, start: int = 1) -> str:
    """``n`` short 4/4 tunes in G and D, quarter and eighth notes only."""
    bodies = ["G2A2 B2c2 | d4 B4 | c2B2 A2G2 | G8 |]", "D2E2 F2G2 | A4 F4 | G2F2 E2D2 | D8 |]"]
    return "\n".join(
        f"X:{start + i}\nT:tune {start + i}\nM:4/4\nL:1/8\nK:{'GD'[i % 2]}\n{bodies[i % 2]}\n"
        for i in range(n)
    )


def abc_zip(path: Path, folder: str) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{folder}/one.abc", abc_tunes(5))
        zf.writestr(f"{folder}/two.abc", abc_tunes(5, start=10))
        zf.writestr(f"{folder}/readme.txt", "not a tune")


# corpus name in params.yaml's seeds catalogue -> (file name, builder)
SEED_FILES = {
    "jsb_bl": ("jsb_chorales.pickle", jsb_pickle),
    "jsb_16th": ("Jsb16thSeparated.json", jsb_16th_json),
    "maestro_v3": ("maestro-v3.0.0-midi.zip", maestro_zip),
    "lpd5_cleansed": ("lpd_5_cleansed.tar.gz", lpd_tar_gz),
    "essen_esac": ("esac.zip", lambda p: abc_zip(p, "esac")),
    "nottingham": ("nottingham_database.zip", lambda p: abc_zip(p, "nottingham_database")),
}
