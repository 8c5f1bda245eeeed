"""The fetch step and the papers catalogue, below DVC: params, fetch@C and corpus@C on a
fetched corpus, and the same through `scorelab fetch` and `scorelab corpus`.

(The same through `dvc exp run -S 'catalogues=[papers]'`, with every paper corpus served
over HTTP, is tests/test_papers_switch.py.)
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from scorelab.conf import compose
from scorelab.corpora.build import CorpusConfig, build_corpus
from scorelab.errors import DownloadError, ParamsError
from scorelab.pipeline.corpus import run_corpus
from scorelab.pipeline.fetch import LOCAL_TAR, run_fetch
from scorelab.validation import load_valid_params, validate
from test_corpus_readers import write_local_folder

REPO = Path(__file__).resolve().parents[1]
PAPERS = yaml.safe_load((REPO / "conf/catalogues/papers.yaml").read_text())


def test_the_papers_catalogue_adds_every_corpus_dataset_and_variant_by_name():
    """`catalogues=[papers]` (what `dvc exp run -S` and `scorelab params -S` pass) adds the
    catalogue's corpora under fetched:, its datasets and variants, and nothing else."""
    off = load_valid_params(REPO / "params.yaml")
    assert off["fetched"] == {} and off["catalogues"] == {}  # the default run is offline
    on = compose(REPO / "conf", ["papers"])
    validate(on)
    assert set(on["fetched"]) == set(PAPERS["fetched"])
    assert set(on["datasets"]) == set(off["datasets"]) | set(PAPERS["datasets"])
    assert set(on["variants"]) == set(off["variants"]) | set(PAPERS["variants"])
    assert set(on["catalogues"]) == {"papers"}
    # a paper variant is its offline variant (Hydra interpolation, resolved) on its paper's data
    s0, s0_jsb16 = on["variants"]["s0_wgan_gp_jsb"], on["variants"]["s0_wgan_gp_jsb16"]
    assert s0_jsb16["dataset"] == "jsb16_roll"
    assert {k: v for k, v in s0_jsb16.items() if k != "dataset"} == {
        k: v for k, v in s0.items() if k != "dataset"
    }
    assert on["variants"]["s1_bilstm_gan_lpd"]["dataset"] == "lpd_piano"
    assert on["datasets"]["lpd_piano"]["corpus"] == "lpd5_cleansed"
    # every pinned paper download names its size and sha256 (LPD: none published)
    for name, corpus in PAPERS["fetched"].items():
        d = corpus["download"]
        assert bool(d["sha256"]) == bool(d["size"]) == (name != "lpd5_cleansed"), name


def _params_with(tmp_path: Path, **fetched) -> dict:
    """params.yaml with ``fetched`` set (a plain params file: no conf/ beside it)."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["fetched"] = dict(fetched.get("corpora", {}))
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return load_valid_params(path)


def test_names_must_differ_between_the_sets(tmp_path):
    with pytest.raises(ParamsError, match=r"fetched\.jsb: the name is also in corpora"):
        _params_with(tmp_path, corpora={"jsb": {"source": "local", "paths": ["x"]}})
    with pytest.raises(ParamsError, match=r"fetched\.x\.download\.sha256"):
        _params_with(
            tmp_path, corpora={"x": {"source": "abc_zip", "download": {"filename": "a.zip", "sha256": "zz"}}}
        )
    with pytest.raises(ParamsError, match=r"corpora\.bach: a corpus from outside the repository"):
        params = yaml.safe_load((REPO / "params.yaml").read_text())
        params["corpora"]["bach"] = {"source": "local", "paths": ["x"]}
        validate(params)


def test_a_bundled_corpus_has_nothing_to_fetch(tmp_path):
    with pytest.raises(ParamsError, match="fetched.bach: nothing to fetch"):
        _params_with(tmp_path, corpora={"bach": {"source": "music21", "paths": ["chorales"], "tracks": 4}})
    params = load_valid_params(REPO / "params.yaml")
    with pytest.raises(ParamsError, match="fetched.jsb: nothing to fetch"):
        run_fetch(params, "jsb", tmp_path / "raw")
    assert not (tmp_path / "raw").exists()


def test_a_file_without_url_must_be_placed_and_the_message_says_where(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    params = _params_with(tmp_path, corpora={"lpd": PAPERS["fetched"]["lpd5_cleansed"]})
    with pytest.raises(DownloadError) as err:
        run_fetch(params, "lpd", Path("data/raw/lpd"), offline=False, progress=False)
    msg = str(err.value)
    assert "corpus lpd" in msg and "lpd_5_cleansed.tar.gz" in msg and "no URL to download it from" in msg
    assert str((tmp_path / "data/downloads/lpd").resolve()) in msg
    assert not Path("data/raw/lpd").exists()


def test_local_folder_corpus_is_packed_once_and_read_like_the_folder(tmp_path, monkeypatch):
    """A folder with garbage, truncated, empty, type-2 and zero-track files and a nested folder
    with spaces: the fetch stage packs it into one deterministic tar; the corpus stage reads
    the tar as the folder itself (same ids, same notes bytes), keeping every valid piece and
    naming every bad file, relative to its folder."""
    root = tmp_path / "my music"
    write_local_folder(root)
    monkeypatch.chdir(tmp_path)
    entry = {"source": "local", "paths": [str(root)], "tracks": 1, "max_reject_fraction": 0.6}
    params = _params_with(tmp_path, corpora={"mine": entry})
    record = run_fetch(params, "mine", Path("data/raw/mine"))
    tar = Path("data/raw/mine") / LOCAL_TAR
    first = hashlib.sha256(tar.read_bytes()).hexdigest()
    assert record["skipped_other_files"] == 1  # notes.txt
    assert {f["path"] for f in record["files"]} >= {
        "my music/good.mid",
        "my music/nested dir/with space/inner song.midi",
    }
    assert json.loads(Path("data/raw/mine/fetch.json").read_text()) == record
    run_fetch(params, "mine", Path("data/raw/mine"))
    assert hashlib.sha256(tar.read_bytes()).hexdigest() == first  # same files, same bytes

    summary = run_corpus(params, "mine", Path("data/corpus/mine"), workers=1, raw=Path("data/raw/mine"))
    assert (summary["pieces_kept"], summary["pieces_rejected"]) == (6, 5)
    rejected = pd.read_parquet("data/corpus/mine/rejected.parquet")
    assert sorted(rejected["source"]) == [
        "my music/empty.mid",
        "my music/truncated.mid",
        "my music/type2.mid",
        "my music/x.mid",
        "my music/zerotracks.mid",
    ]
    assert all(rejected["reason"].str.len() > 20)
    direct = build_corpus(
        "mine", CorpusConfig(**{**entry, "paths": [str(root)]}), 0, tmp_path / "direct", workers=1
    )
    assert direct["pieces_kept"] == 6
    assert (
        Path("data/corpus/mine/notes.parquet").read_bytes()
        == (tmp_path / "direct/notes.parquet").read_bytes()
    )
    again = tmp_path / "again"
    run_corpus(params, "mine", again, workers=1, raw=Path("data/raw/mine"))
    for table in ("notes", "pieces", "rejected"):
        assert (again / f"{table}.parquet").read_bytes() == Path(
            f"data/corpus/mine/{table}.parquet"
        ).read_bytes()


def test_an_empty_folder_is_refused_by_the_fetch_stage(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty/readme.txt").write_text("no music")
    params = _params_with(tmp_path, corpora={"e": {"source": "local", "paths": [str(tmp_path / "empty")]}})
    with pytest.raises(Exception, match="corpus e: no music file below"):
        run_fetch(params, "e", tmp_path / "raw")
    assert not (tmp_path / "raw").exists()
    shutil.rmtree(tmp_path / "empty")


def test_scorelab_fetch_then_corpus_builds_a_fetched_corpus(tmp_path, monkeypatch):
    """`scorelab fetch NAME` writes data/raw/NAME; `scorelab corpus NAME` reads it there
    (no --raw needed), on a folder corpus packed in its real layout."""
    from typer.testing import CliRunner

    from scorelab.cli import app

    root = tmp_path / "my music"
    write_local_folder(root)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["fetched"] = {
        "mine": {"source": "local", "paths": [str(root)], "tracks": 1, "max_reject_fraction": 0.6}
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    res = runner.invoke(app, ["corpus", "mine"])
    assert res.exit_code != 0 and "scorelab fetch mine" in str(res.exception)  # not fetched yet
    res = runner.invoke(app, ["fetch", "mine"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "data/raw/mine" / LOCAL_TAR).is_file()
    res = runner.invoke(app, ["corpus", "mine"])
    assert res.exit_code == 0, res.output
    assert "pieces kept 6" in res.output, res.output  # one readable line, not a dict (issue 23)
    assert len(pd.read_parquet(tmp_path / "data/corpus/mine/pieces.parquet")) == 6
    res = runner.invoke(app, ["fetch", "jsb"])  # an embedded corpus: nothing to fetch
    assert res.exit_code != 0 and "fetched.jsb" in str(res.exception)
    res = runner.invoke(app, ["corpus", "jsb", "--raw", "data/raw/mine"])
    assert res.exit_code != 0 and "--raw" in str(res.exception)


def test_the_unpinned_warning_prints_once_and_names_where_to_pin(tmp_path):
    """A placed file with no published checksum: the fetch stage accepts it once and says,
    once (it printed twice: a root handler beside the scorelab one), to pin
    fetched.<c>.download in conf/."""
    import subprocess
    import sys

    params = yaml.safe_load((REPO / "params.yaml").read_text())
    unpinned = {"url": "", "filename": "tunes.zip", "size": 0, "sha256": ""}
    params["fetched"] = {"mine": {"source": "abc_zip", "download": unpinned}}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    (tmp_path / "data/downloads/mine").mkdir(parents=True)
    (tmp_path / "data/downloads/mine/tunes.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    cmd = [
        sys.executable,
        str(REPO / "stages/fetch.py"),
        "mine",
        "--out",
        "data/raw/mine",
        "--params",
        str(path),
    ]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("is not pinned") == 1, proc.stderr
    assert "fetched.mine.download" in proc.stderr and "conf/" in proc.stderr
