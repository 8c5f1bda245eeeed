"""The fetch step and the seeds switch, below DVC: params, fetch@C and corpus@C on a fetched corpus.

(The same through `dvc repro`, with every seed corpus served over HTTP, is
tests/test_e2e.py::test_seeds_switch_fetches_builds_and_trains_on_the_seed_corpora.)
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from scorelab.corpora.build import CorpusConfig, build_corpus
from scorelab.errors import DownloadError, ParamsError
from scorelab.params import load_params
from scorelab.pipeline.corpus import run_corpus
from scorelab.pipeline.fetch import LOCAL_TAR, run_fetch
from test_corpus_readers import write_local_folder

REPO = Path(__file__).resolve().parents[1]
SWITCH_OFF = "external: {corpora: {}, datasets: {}, variants: {}}"


def repo_params_text() -> str:
    text = (REPO / "params.yaml").read_text()
    assert text.count(SWITCH_OFF) == 1, "params.yaml's switch line changed: update README and this test"
    return text


def test_the_switch_is_one_line_and_adds_every_seed_corpus_dataset_and_variant(tmp_path):
    off = load_params(REPO / "params.yaml")
    raw = yaml.safe_load(repo_params_text())
    assert not set(raw["seeds"]["corpora"]) & set(off["corpora"])  # off: only the embedded ones
    on_path = tmp_path / "params.yaml"
    on_path.write_text(repo_params_text().replace(SWITCH_OFF, "external: *seeds"))
    on = load_params(on_path)
    assert set(on["corpora"]) == set(off["corpora"]) | set(raw["seeds"]["corpora"])
    assert set(on["datasets"]) == set(off["datasets"]) | set(raw["seeds"]["datasets"])
    assert set(on["variants"]) == set(off["variants"]) | set(raw["seeds"]["variants"])
    # a seed variant is its offline variant (YAML merge) on its paper's data
    s0, s0_jsb16 = on["variants"]["s0_wgan_gp_jsb"], on["variants"]["s0_wgan_gp_jsb16"]
    assert s0_jsb16["dataset"] == "jsb16_roll"
    assert {k: v for k, v in s0_jsb16.items() if k != "dataset"} == {
        k: v for k, v in s0.items() if k != "dataset"
    }
    assert on["variants"]["s1_bilstm_gan_lpd"]["dataset"] == "lpd_piano"
    assert on["datasets"]["lpd_piano"]["corpus"] == "lpd5_cleansed"
    # every pinned seed download names its size and sha256 (LPD: none published)
    for name, corpus in raw["seeds"]["corpora"].items():
        d = corpus["download"]
        assert bool(d["sha256"]) == bool(d["size"]) == (name != "lpd5_cleansed"), name


def _params_with(tmp_path: Path, **external) -> dict:
    params = yaml.safe_load(repo_params_text())
    params["external"] = {"corpora": {}, "datasets": {}, "variants": {}, **external}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return load_params(path)


def test_names_must_differ_between_the_sets(tmp_path):
    with pytest.raises(ParamsError, match=r"external\.corpora\.jsb: the name is also in corpora"):
        _params_with(tmp_path, corpora={"jsb": {"source": "local", "paths": ["x"]}})
    with pytest.raises(ParamsError, match=r"external\.corpora\.x\.download\.sha256"):
        _params_with(
            tmp_path, corpora={"x": {"source": "abc_zip", "download": {"filename": "a.zip", "sha256": "zz"}}}
        )


def test_a_bundled_corpus_has_nothing_to_fetch(tmp_path):
    params = _params_with(
        tmp_path, corpora={"bach": {"source": "music21", "paths": ["chorales"], "tracks": 4}}
    )
    with pytest.raises(ParamsError, match="corpora.bach: nothing to fetch"):
        run_fetch(params, "bach", tmp_path / "raw")
    assert not (tmp_path / "raw").exists()


def test_a_file_without_url_must_be_placed_and_the_message_says_where(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    params = _params_with(
        tmp_path, corpora={"lpd": yaml.safe_load(repo_params_text())["seeds"]["corpora"]["lpd5_cleansed"]}
    )
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
