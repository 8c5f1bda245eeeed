"""The papers catalogue end to end: `dvc exp run -S 'catalogues=[papers]'` fetches every
paper corpus from its (here local) URL, verifies it, reads, encodes and trains on it.

Its own small clone (one main corpus, dataset and variant, reproduced first) so that it
runs beside tests/test_e2e.py on the other pytest-xdist worker: inside that module it was
about 3 of its 13 minutes, the suite's critical path.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml

from scorelab.conf import compose
from test_e2e import BIN, REPO, ran_stages, run, tiny_clone

pytestmark = pytest.mark.e2e

V = "s4_lstm_erk"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The clone with only Essen, its tokens and S4's LSTM (a few steps) in the main
    sections, and the offline variants the papers' variants copy, reproduced and committed;
    the papers catalogue off, its downloads pointed at a local server (below)."""

    def edit(params: dict, conf_dir: Path) -> None:
        params["corpora"] = {"essen_erk": params["corpora"]["essen_erk"]}
        params["datasets"] = {"erk_tokens": params["datasets"]["erk_tokens"]}
        params["variants"] = {V: params["variants"][V]}

    dest, env, tmp = tiny_clone(tmp_path_factory, "papers", edit)
    run(["dvc", "repro"], dest, env)
    run(["git", "add", "-A"], dest, env)
    run(["git", "commit", "-q", "-m", "first run"], dest, env)
    return dest, env, tmp


def _serve_papers(conf_dir: Path, server, placed: Path) -> dict:
    """The papers catalogue made self-contained for this clone, its downloads served by
    ``server``; returns the catalogue.

    Every paper corpus gets a small file in its real layout (tests/seed_files.py), pinned by
    its true size and sha256, except LPD: as documented for it, the file is placed by hand
    in data/downloads/lpd5_cleansed/ with no URL and no pin. The paper variants copy offline
    variants that this clone dropped: the copies are written out (trained on the tiny profile).
    """
    from seed_files import SEED_FILES

    path = conf_dir / "catalogues/papers.yaml"
    cat = yaml.safe_load(path.read_text())
    full = compose(REPO / "conf", ["papers"])
    for name in cat["variants"]:
        cat["variants"][name] = full["variants"][name]
    for corpus, (filename, build) in SEED_FILES.items():
        d = cat["fetched"][corpus]["download"]
        assert d["filename"] == filename
        if corpus == "lpd5_cleansed":
            (placed / corpus).mkdir(parents=True, exist_ok=True)
            build(placed / corpus / filename)
            assert d["url"] == "" and d["sha256"] == ""
            continue
        build(server.root / filename)
        data = (server.root / filename).read_bytes()
        d.update(url=server.url(filename), size=len(data), sha256=hashlib.sha256(data).hexdigest())
    cat["fetched"]["lpd5_cleansed"]["options"]["max_pieces"] = 6
    path.write_text("# @package _global_\n" + yaml.safe_dump(cat, sort_keys=False))
    return cat


def test_papers_catalogue_fetches_builds_and_trains_on_the_papers_corpora(project, tmp_path):
    """`dvc exp run -S 'catalogues=[papers]'`: fetch@C and the chains of the catalogue's
    corpora, datasets and variants run, nothing else but the report; every paper corpus is
    fetched, verified, read and encoded, the paper variants train and are reported; a
    second repro runs nothing; offline, a missing file fails fast naming the corpus, the
    file and the folder."""
    from seed_files import start_server

    dest, env, _ = project
    server, httpd = start_server(tmp_path / "www")
    try:
        cat = _serve_papers(dest / "conf", server, dest / "data/downloads")
        run(["git", "add", "-A"], dest, env)
        run(["git", "commit", "-q", "-m", "papers served here"], dest, env)
        out = run(["dvc", "exp", "run", "-S", "catalogues=[papers]"], dest, env)
        ran = ran_stages(out.stdout + out.stderr)
        ext = {"corpora": cat["fetched"], "datasets": cat["datasets"], "variants": cat["variants"]}
        expected = (
            {f"fetch@{c}" for c in ext["corpora"]}
            | {f"fetched_corpus@{c}" for c in ext["corpora"]}
            | {f"encode@{d}" for d in ext["datasets"]}
            | {f"evaluate_data@{d}" for d in ext["datasets"]}
            | {f"{s}@{v}" for s in ("train", "sample", "evaluate") for v in ext["variants"]}
            | {"report"}
        )
        assert ran == expected
        assert set(yaml.safe_load((dest / "params.yaml").read_text())["catalogues"]) == {"papers"}
        served = {p.name for p in server.root.iterdir()}
        assert {r[0].lstrip("/") for r in server.requests} == served  # one GET each
        for c in ext["corpora"]:
            record = json.loads((dest / f"data/raw/{c}/fetch.json").read_text())
            (f,) = record["files"]
            assert (dest / f"data/raw/{c}" / f["filename"]).is_file()
            assert f["pinned"] == (c != "lpd5_cleansed")
            summary = json.loads((dest / f"data/corpus/{c}/summary.json").read_text())
            assert summary["pieces_kept"] >= 3, (c, summary)
        lpd = json.loads((dest / "data/corpus/lpd5_cleansed/summary.json").read_text())
        assert lpd["pieces_tried"] == 6  # max_pieces
        # JSB's own split is kept, not drawn
        jsb = json.loads((dest / "data/corpus/jsb_16th/summary.json").read_text())
        assert jsb["splits"] == {"train": 6, "valid": 2, "test": 2}
        for v in ext["variants"]:
            assert (dest / f"models/{v}/checkpoint.pt").is_file()
            assert (dest / f"metrics/variants/{v}/samples.json").is_file()
        assert "s1_bilstm_gan_lpd" in (dest / "reports/README.md").read_text()
        again = run(["dvc", "repro"], dest, env)
        assert ran_stages(again.stdout + again.stderr) == set()
        assert json.loads(run(["dvc", "status", "--json"], dest, env).stdout) == {}

        # offline, with neither the download nor a placed file: fails at once, names it all
        shutil.rmtree(dest / "data/downloads/nottingham")
        offline = dict(env, SCORELAB_OFFLINE="1")
        proc = run(
            [str(BIN / "python"), "stages/fetch.py", "nottingham", "--out", "data/raw/nottingham"],
            dest,
            offline,
            check=False,
        )
        assert proc.returncode != 0
        assert "corpus nottingham" in proc.stderr and "nottingham_database.zip" in proc.stderr
        assert str((dest / "data/downloads/nottingham").resolve()) in proc.stderr
        assert (dest / "data/raw/nottingham/fetch.json").is_file()  # the old output is kept
    finally:
        httpd.shutdown()
        httpd.server_close()
