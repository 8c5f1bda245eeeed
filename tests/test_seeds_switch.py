"""The seeds switch end to end: `external: *seeds` fetches every seed corpus from its (here
local) URL, verifies it, reads, encodes and trains on it through `dvc repro`.

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

from test_e2e import BIN, ran_stages, run, tiny_clone

pytestmark = pytest.mark.e2e

V = "s4_lstm_erk"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The clone with only Essen, its tokens and S4's LSTM (a few steps) in the main
    sections, reproduced and committed; the seeds catalogue kept, `external` empty."""

    def edit(params: dict) -> None:
        params["corpora"] = {"essen_erk": params["corpora"]["essen_erk"]}
        params["datasets"] = {"erk_tokens": params["datasets"]["erk_tokens"]}
        params["variants"] = {V: params["variants"][V]}
        params.pop("experiments", None)  # it names corpora this clone does not have

    dest, env, tmp = tiny_clone(tmp_path_factory, "seeds", edit)
    run(["dvc", "repro"], dest, env)
    run(["git", "add", "-A"], dest, env)
    run(["git", "commit", "-q", "-m", "first run"], dest, env)
    return dest, env, tmp


def _seeds_on(params: dict, server, placed: Path) -> dict:
    """params with ``external`` = the seeds catalogue, its downloads served by ``server``.

    Every seed corpus gets a small file in its real layout (tests/seed_files.py), pinned by
    its true size and sha256, except LPD: as documented for it, the file is placed by hand
    in data/downloads/lpd5_cleansed/ with no URL and no pin.
    """
    from seed_files import SEED_FILES

    seeds = json.loads(json.dumps(params["seeds"]))  # a deep copy
    for corpus, (filename, build) in SEED_FILES.items():
        d = seeds["corpora"][corpus]["download"]
        assert d["filename"] == filename
        if corpus == "lpd5_cleansed":
            (placed / corpus).mkdir(parents=True, exist_ok=True)
            build(placed / corpus / filename)
            assert d["url"] == "" and d["sha256"] == ""
            continue
        build(server.root / filename)
        data = (server.root / filename).read_bytes()
        d.update(url=server.url(filename), size=len(data), sha256=hashlib.sha256(data).hexdigest())
    seeds["corpora"]["lpd5_cleansed"]["options"]["max_pieces"] = 6
    return seeds


def test_seeds_switch_fetches_builds_and_trains_on_the_seed_corpora(project, tmp_path):
    """`external: *seeds` (here written out): fetch@C and the ext_* chains run, nothing else
    but the report; every seed corpus is fetched, verified, read and encoded, the seed
    variants train and are reported; a second repro runs nothing; offline, a missing file
    fails fast naming the corpus, the file and the folder."""
    from seed_files import start_server

    dest, env, _ = project
    server, httpd = start_server(tmp_path / "www")
    try:
        params_path = dest / "params.yaml"
        params = yaml.safe_load(params_path.read_text())
        params["external"] = _seeds_on(params, server, dest / "data/downloads")
        params_path.write_text(yaml.safe_dump(params, sort_keys=False))
        out = run(["dvc", "repro"], dest, env)
        ran = ran_stages(out.stdout + out.stderr)
        ext = params["external"]
        expected = (
            {f"fetch@{c}" for c in ext["corpora"]}
            | {f"ext_corpus@{c}" for c in ext["corpora"]}
            | {f"ext_encode@{d}" for d in ext["datasets"]}
            | {f"ext_evaluate_data@{d}" for d in ext["datasets"]}
            | {f"{s}@{v}" for s in ("ext_train", "ext_sample", "ext_evaluate") for v in ext["variants"]}
            | {"report"}
        )
        assert ran == expected
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
