"""End-to-end: the whole pipeline with `dvc repro` in a temporary copy of the repository.

One module-scoped run on the `tiny` profile (a few pieces per corpus, two training
steps) is shared by the checks below, which follow the pitfalls in docs/dvc.md: a second
repro runs nothing, `dvc exp run -S model.n_critic=2` reruns exactly the chains of the
variants with `defaults: model` and the report, `dvc metrics diff` shows the change, push/pull restores every
output byte for byte in a fresh clone, code edits and new variants are seen.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.e2e


def _env(tmp: Path) -> dict:
    env = dict(os.environ)
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        DVC_NO_ANALYTICS="1",
        DVC_SITE_CACHE_DIR=str(tmp / "dvc-site"),
        DVC_GLOBAL_CONFIG_DIR=str(tmp / "dvc-global"),
        DVC_SYSTEM_CONFIG_DIR=str(tmp / "dvc-system"),
        GIT_AUTHOR_NAME="scorelab-test",
        GIT_AUTHOR_EMAIL="test@example.invalid",
        GIT_COMMITTER_NAME="scorelab-test",
        GIT_COMMITTER_EMAIL="test@example.invalid",
        PYTHONUNBUFFERED="1",
    )
    return env


def run(cmd: list[str], cwd: Path, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


def ran_stages(output: str) -> set[str]:
    """Stage names DVC reports as running in an output."""
    return set(re.findall(r"Running stage '([^']+)'", output))


def tree_digest(root: Path, rel: list[str]) -> dict[str, str]:
    """sha256 of every file under the given folders."""
    out = {}
    for r in rel:
        for f in sorted((root / r).rglob("*")):
            if f.is_file():
                out[str(f.relative_to(root))] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def copy_worktree(dest: Path, env: dict) -> None:
    """The working tree's tracked and new files into ``dest``, without the committed
    outputs of the default run (dvc.lock, metrics, logs, the report), which would make a
    first repro there a no-op."""
    files = run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], REPO, env).stdout.split()
    for rel in files:
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    for generated in ("dvc.lock", "metrics", "logs", "reports", "timings"):
        p = dest / generated
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


def tiny_clone(tmp_path_factory, name: str, edit) -> tuple[Path, dict, Path]:
    """A fresh git repo of the working tree on the tiny profile, its conf/ changed by
    ``edit(conf, conf_dir)`` (conf: conf/config.yaml parsed; the catalogue files may be
    edited in place) and params.yaml composed from it, committed, not yet reproduced;
    returns (repo, env, its tmp folder). conf/ is the source: `dvc exp run -S` recomposes
    params.yaml from it, so an edit of params.yaml alone would be undone by the first -S."""
    tmp = tmp_path_factory.mktemp(name)
    env = _env(tmp)
    dest = tmp / "repo"
    copy_worktree(dest, env)
    conf_path = dest / "conf/config.yaml"
    conf = yaml.safe_load(conf_path.read_text())
    conf["base"]["profile"] = "tiny"
    edit(conf, dest / "conf")
    conf_path.write_text(yaml.safe_dump(conf, sort_keys=False))
    run([str(BIN / "scorelab"), "params", "--params", str(dest / "params.yaml")], dest, env)
    prune_judge_pairs(dest)
    run(["git", "init", "-q", "-b", "main"], dest, env)
    run(["git", "add", "-A"], dest, env)
    run(["git", "commit", "-q", "-m", "tiny"], dest, env)
    return dest, env, tmp


def prune_judge_pairs(repo: Path) -> None:
    """Drop dvc.yaml's judge pairs whose variant or dataset the clone's params.yaml lacks.

    The pairs (the reference Transformer judged in each dataset of its family) are listed
    in dvc.yaml, not in params (dvc.yaml says why), so a conf that drops a Transformer or a
    dataset must drop its pairs too, as a user would; otherwise DVC fails on the missing
    samples folder before any judge runs."""
    path = repo / "dvc.yaml"
    params = yaml.safe_load((repo / "params.yaml").read_text())
    text = path.read_text()
    pairs = yaml.safe_load(text)["stages"]["judge"]["foreach"]
    lines = [f"      {d}: {{variant: {i['variant']}}}\n" for d, i in pairs.items()]
    block = "  judge:\n    foreach:\n" + "".join(lines)
    assert block in text, "dvc.yaml's judge pairs are no longer one inline line each"
    kept = [
        line
        for line, (d, i) in zip(lines, pairs.items(), strict=True)
        if d in (params.get("datasets") or {}) and i["variant"] in (params.get("variants") or {})
    ]
    text = text.replace(block, "  judge:\n    foreach:" + ("\n" + "".join(kept) if kept else " {}\n"))
    path.write_text(text)


def switch_on(conf: dict, *catalogues: str) -> None:
    """Make ``catalogues`` conf/'s default selection (the clone's `dvc exp run -S` keeps them)."""
    conf["defaults"] = ["_self_", {"catalogues": list(catalogues)}]


def drop_from_conf(conf: dict, suffixes: tuple[str, ...]) -> None:
    """Remove conf/config.yaml's datasets and variants whose names end with ``suffixes``."""
    for section in ("datasets", "variants"):
        conf[section] = {k: v for k, v in (conf.get(section) or {}).items() if not k.endswith(suffixes)}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A copy of the working tree (tracked + new files) as a fresh git repo, tiny profile, repro'd."""

    def edit(conf: dict, conf_dir: Path) -> None:
        conf["model"]["n_critic"] = 1  # so that `-S model.n_critic=2` below is a change
        # S3's 3- and 4-channel GANs are the 1-channel ones' code on another codec
        # setting (tests/test_variants.py runs them): left out here for time
        drop_from_conf(conf, ("_c3", "_c4"))

    dest, env, _ = tiny_clone(tmp_path_factory, "e2e", edit)
    first = run(["dvc", "repro"], dest, env)
    run(["git", "add", "-A"], dest, env)
    run(["git", "commit", "-q", "-m", "first run"], dest, env)
    return dest, env, first.stdout + first.stderr


# docs/evaluation.md: `dvc exp show --drop '.*' --keep "$GLANCE"` compares the variants' headline at a glance
GLANCE = r"^(Experiment|rev|(reports/metrics\.json:)?(s\d|transformer)_\w+)$"


def test_first_repro_writes_every_output(project):
    dest, _, output = project
    assert "corpus@jsb" in ran_stages(output)
    for rel in [
        "data/corpus/jsb/notes.parquet",
        "data/corpus/jsb/rejected.parquet",
        "data/corpus/essen_erk/pieces.parquet",
        "data/encoded/jsb_roll/train.npz",
        "data/encoded/jsb_roll/encoding.json",
        "data/encoded/erk_tokens/test.npz",
        "models/s0_wgan_gp_jsb/checkpoint.pt",
        "models/s4_lstm_erk/checkpoint.pt",
        "logs/s0_wgan_gp_jsb/train_log.tsv",
        "logs/s4_lstm_erk/valid_log.tsv",
        "samples/s0_wgan_gp_jsb/rolls.png",
        "samples/s0_wgan_gp_jsb/accompaniment.png",
        "samples/s0_wgan_gp_jsb/notes.parquet",
        "samples/s4_lstm_erk/samples.npz",
        "metrics/data/jsb_roll/train.json",
        "metrics/data/erk_tokens/test.json",
        "metrics/variants/s0_wgan_gp_jsb/samples.json",
        "metrics/variants/s0_wgan_gp_jsb/accompaniment.json",
        "metrics/variants/s4_lstm_erk/samples.json",
        "evaluation/data/jsb_roll/train.json",
        "evaluation/data/jsb_roll/train.pieces.parquet",
        "evaluation/variants/s0_wgan_gp_jsb/samples.compare.json",
        "evaluation/variants/s0_wgan_gp_jsb/accompaniment_texture.json",
        "metrics/data/jsb_roll/fidelity.json",
        "evaluation/data/erk_tokens/fidelity.json",
        "reports/plots/headline.json",
        "models/s0_wgan_gp_jsb/run_info.json",
        "reports/index.html",
        "reports/README.md",
    ]:
        assert (dest / rel).is_file(), rel
    assert list((dest / "samples/s0_wgan_gp_jsb/midi").glob("*.mid"))
    assert list((dest / "samples/s4_lstm_erk/midi").glob("*.mid"))
    # what the codecs lose: the tiny jsb corpus has chorales in 3/4, refused by the 4/4 roll
    lost = json.loads((dest / "evaluation/data/jsb_roll/fidelity.json").read_text())
    assert lost["filtered_by"].get("time_signature", 0) >= 1 and 0 < lost["dropped"] < 0.5
    # the CPU kernels and threads in force, as params.yaml's compute: pins them
    info = json.loads((dest / "models/s0_wgan_gp_jsb/run_info.json").read_text())["compute"]
    if info["env"]:  # x86-64: pinned to AVX2
        assert info["env"]["MKL_CBWR"] == "AVX2,STRICT" and info["torch_cpu_capability"] == "AVX2"
    assert info["threads"] == 2
    # two training steps logged, one row each
    rows = (dest / "logs/s0_wgan_gp_jsb/train_log.tsv").read_text().strip().splitlines()
    assert rows[0].split("\t")[0] == "step" and len(rows) == 3
    # the measured training time sits beside the model, not in it, and the summary shows it
    took = json.loads((dest / "timings/train/s0_wgan_gp_jsb.json").read_text())
    assert took["variant"] == "s0_wgan_gp_jsb" and took["seconds"] > 0 and took["device"] == "cpu"
    lock = yaml.safe_load((dest / "dvc.lock").read_text())["stages"]
    assert not [o["path"] for st in lock.values() for o in st.get("outs", []) if "timings" in o["path"]]
    summary = (dest / "reports/README.md").read_text()
    assert re.search(r"\(cpu, 2 threads\), \d+ (s|min)", summary), "no training time in the summary"
    # every stage's result is one line of words (issue 23), never a printed dict or list
    stage_line = re.compile(r"(corpus|encode|train|sample|evaluate|report)\b")
    results = [x for x in output.splitlines() if stage_line.match(x)]
    assert len(results) > 20
    assert not [x for x in results if re.search(r"[{}]|': |\['", x)], "a stage printed a raw dict or list"


def test_image_and_audio_systems_run_through_every_stage(project):
    """S2's and S3's variants: images decode to notes and get the shared metrics; the Hilbert
    autoencoder writes WAVs and gets MSE and SNR; the report shows each system's own pictures."""
    dest, _, _ = project
    for v in (
        "s2_vae_classical",
        "s2_dcgan_classical",
        "s3_wgan_gp_c1",
        "s3_lstm_weighted",
        "s3_seq2seq_100",
    ):
        assert list((dest / "samples" / v / "midi").glob("*.mid")), v
        assert "relative" in json.loads((dest / "metrics/variants" / v / "samples.json").read_text()), v
    assert (dest / "samples/s2_vae_classical/grid.npz").is_file()
    latent = (dest / "logs/s2_vae_classical/latent_log.tsv").read_text().splitlines()
    assert latent[0].split("\t") == ["step", "piece", "z1", "z2"] and len(latent) > 2
    assert "test_f1" in (dest / "logs/s3_lstm_ce3/valid_log.tsv").read_text().splitlines()[0]
    for name in ("samples_input", "samples_output", "transfer_input", "transfer_output"):
        assert (dest / "samples/s3_hilbert_ae/audio" / f"{name}.wav").stat().st_size > 44, name
    recon = json.loads((dest / "metrics/variants/s3_hilbert_ae/samples.json").read_text())
    assert set(recon) == {"mse", "snr_db"} and 0 <= recon["mse"] <= 1
    assert json.loads((dest / "metrics/data/classical_hilbert/test.json").read_text())["images"] > 0
    readme = (dest / "reports/README.md").read_text()
    for text in (
        "Audio autoencoders",
        "Latent space",
        "D accuracy on real and on fake",
        "Next-column models",
    ):
        assert text in readme, text


def test_second_repro_runs_nothing(project):
    dest, env, _ = project
    again = run(["dvc", "repro"], dest, env)
    assert ran_stages(again.stdout + again.stderr) == set()
    status = run(["dvc", "status", "--json"], dest, env)
    assert json.loads(status.stdout) == {}


def test_forced_rerun_gives_the_same_bytes(project):
    """Same params on the CPU, same bytes: forced reruns leave every recorded hash valid."""
    dest, env, _ = project
    for stage in ("corpus@essen_erk", "train@s0_wgan_gp_jsb", "sample@s4_lstm_erk"):
        run(["dvc", "repro", "-f", "-s", stage], dest, env)
    assert json.loads(run(["dvc", "status", "--json"], dest, env).stdout) == {}
    # in git, only the measured training time moved: it is no DVC output, for this reason
    changed = run(["git", "status", "--porcelain"], dest, env).stdout.splitlines()
    assert [line.split()[-1] for line in changed] == ["timings/train/s0_wgan_gp_jsb.json"], changed
    run(["git", "checkout", "--", "timings"], dest, env)


def test_exp_run_n_critic_reruns_only_adversarial_chain(project):
    dest, env, _ = project
    try:
        before = json.loads((dest / "metrics/variants/s0_wgan_gp_jsb/samples.json").read_text())
        exp = run(["dvc", "exp", "run", "-S", "model.n_critic=2"], dest, env)
        stages = ran_stages(exp.stdout + exp.stderr)
        assert {
            "train@s0_wgan_gp_jsb",
            "sample@s0_wgan_gp_jsb",
            "evaluate@s0_wgan_gp_jsb",
            "report",
        } == stages  # exactly the variants with `defaults: model`, and the report
        taking = {
            n
            for n, v in yaml.safe_load((dest / "params.yaml").read_text())["variants"].items()
            if v["defaults"] == "model"
        }
        assert taking == {"s0_wgan_gp_jsb"}
        after = json.loads((dest / "metrics/variants/s0_wgan_gp_jsb/samples.json").read_text())
        assert after != before
        diff = json.loads(run(["dvc", "metrics", "diff", "HEAD", "--json"], dest, env).stdout)
        changed = diff.get("reports/metrics.json", {})
        # one headline per variant; none but S0's may move (on the tiny profile its two pieces
        # leave the test split and noise overlapping, so its headline is null and may not move)
        assert set(changed) <= {"s0_wgan_gp_jsb"}, diff
        per_variant = ["--targets", "metrics/variants"]
        per_set = run(["dvc", "metrics", "diff", "HEAD", "--json", *per_variant], dest, env)
        moved = {p.split("/")[2] for p in json.loads(per_set.stdout)}
        assert moved == {"s0_wgan_gp_jsb"}, per_set.stdout  # its per-set metrics moved, no other's
        md = run(["dvc", "metrics", "diff", "HEAD", "--md", *per_variant], dest, env).stdout
        assert "s0_wgan_gp_jsb" in md
        # docs/evaluation.md's at-a-glance call: few columns, every variant's headline score
        shown = run(["dvc", "exp", "show", "--csv", "--drop", ".*", "--keep", GLANCE], dest, env).stdout
        header = shown.splitlines()[0].split(",")
        params = yaml.safe_load((dest / "params.yaml").read_text())
        headline = json.loads((dest / "reports/metrics.json").read_text())
        scored = set(headline)
        assert scored == set(params["variants"]) - {"s3_hilbert_ae"}  # it reports MSE and SNR instead
        columns = {h.rsplit(":", 1)[-1] for h in header}
        # DVC leaves out a column with no value in any row: a null headline (references that
        # overlap, as on the tiny profile) has none
        valued = {k for k, v in headline.items() if v is not None}
        assert valued <= columns <= {"Experiment", "rev"} | scored, header
        # a plain `dvc exp show`: measured, not bounded (DVC makes a column of every key of
        # params.yaml and of every dependency path; docs/evaluation.md says so and gives the call above)
        plain = run(["dvc", "exp", "show", "--csv"], dest, env).stdout.splitlines()[0].split(",")
        assert len(plain) > len(header)
        run(["dvc", "plots", "diff", "HEAD", "-o", str(dest.parent / "plots")], dest, env)
        assert (dest.parent / "plots" / "index.html").is_file()
        # params.yaml as DVC rewrote it: still plain, still conf/ with the one override
        check = run([str(BIN / "scorelab"), "params", "--check", "-S", "model.n_critic=2"], dest, env)
        assert check.returncode == 0
    finally:  # back to the committed state for the checks that follow, pass or fail
        run(["git", "checkout", "--", "."], dest, env)
        run(["dvc", "checkout", "-q"], dest, env, check=False)


def test_push_then_pull_into_fresh_clone_restores_outputs(project, tmp_path):
    dest, env, _ = project
    run(["dvc", "checkout", "-f"], dest, env, check=False)
    assert json.loads(run(["dvc", "status", "--json"], dest, env).stdout) == {}
    run(["dvc", "push"], dest, env)
    clone = dest.parent / "clone"
    run(["git", "clone", "-q", str(dest), str(clone)], dest.parent, env)
    run(["dvc", "pull"], clone, env)
    cached = ["data", "models", "samples"]
    assert tree_digest(clone, cached) == tree_digest(dest, cached)
    assert json.loads(run(["dvc", "status", "--json"], clone, env).stdout) == {}


def test_push_then_pull_through_s3_restores_outputs(project):
    """The same round trip through an S3 remote: a moto server on loopback, fake credentials."""
    import boto3  # test dependencies (pyproject [test]): a missing one fails, never skips
    import dvc_s3  # noqa: F401  (dvc needs it for s3:// remotes)
    from moto import server as moto_server

    dest, env, _ = project
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        creds = dict(
            AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
        )
        s3env = {**env, **creds}
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            **{k.lower(): v for k, v in creds.items() if k != "AWS_DEFAULT_REGION"},
            region_name="us-east-1",
        ).create_bucket(Bucket="scorelab")
        clone = dest.parent / "s3clone"
        run(["git", "clone", "-q", str(dest), str(clone)], dest.parent, env)
        for repo in (dest, clone):
            run(["dvc", "remote", "add", "--local", "s3store", "s3://scorelab/cache"], repo, s3env)
            run(["dvc", "remote", "modify", "--local", "s3store", "endpointurl", endpoint], repo, s3env)
        run(["dvc", "push", "-r", "s3store"], dest, s3env)
        run(["dvc", "pull", "-r", "s3store"], clone, s3env)
        cached = ["data", "models", "samples"]
        assert tree_digest(clone, cached) == tree_digest(dest, cached)
    finally:
        server.stop()


def test_code_edit_and_new_variant_are_seen(project):
    """A touched module makes exactly the stages that import it stale (issue 20: an edit
    of utils.py used to make every stage stale); the process-handling module, none."""
    dest, env, _ = project
    params = yaml.safe_load((dest / "params.yaml").read_text())
    likelihood = {f"train@{v}" for v, e in params["variants"].items() if e["trainer"] == "likelihood"}
    for rel, stale, trains in [
        ("src/scorelab/metrics/__init__.py", ("evaluate_data@",), set()),
        ("src/scorelab/io/hilbert.py", ("encode@", "sample@"), set()),
        ("src/scorelab/models/s4_lstm.py", ("sample@s4_lstm_erk",), {"train@s4_lstm_erk"}),
        ("src/scorelab/training/likelihood.py", (), likelihood),
    ]:
        target = dest / rel
        original = target.read_text()
        try:
            target.write_text(original + "\n# touched by the e2e test\n")
            assert set(json.loads(run(["dvc", "status", "--json"], dest, env).stdout)) == {"code"}
            run(["dvc", "repro", "-s", "code"], dest, env)  # the fingerprints: what the edit reaches
            status = json.loads(run(["dvc", "status", "--json"], dest, env).stdout)
            for prefix in stale:
                assert any(k.startswith(prefix) for k in status), (rel, status)
            assert {k for k in status if k.startswith("train@")} == trains, (rel, status)
            assert not any(k.startswith("corpus@") for k in status), (rel, status)
        finally:
            target.write_text(original)
            run(["dvc", "repro", "-s", "code"], dest, env)
    assert json.loads(run(["dvc", "status", "--json"], dest, env).stdout) == {}
    # how stages run as processes (dying with DVC, OpenMP waits): a real repro reruns
    # the fingerprinting and nothing else, no train stage above all
    target = dest / "src/scorelab/process.py"
    original = target.read_text()
    try:
        target.write_text(original + "\n# touched by the e2e test\n")
        assert ran_stages(run(["dvc", "repro"], dest, env).stdout) == {"code"}
    finally:
        target.write_text(original)
        run(["dvc", "repro", "-s", "code"], dest, env)
    params_path = dest / "params.yaml"
    original_params = params_path.read_text()
    try:
        params = yaml.safe_load(original_params)
        params["variants"]["s0_wide"] = dict(params["variants"]["s0_wgan_gp_jsb"])
        params_path.write_text(yaml.safe_dump(params, sort_keys=False))
        stages = run(["dvc", "stage", "list", "--name-only"], dest, env).stdout.split()
        assert {"train@s0_wide", "sample@s0_wide", "evaluate@s0_wide"} <= set(stages)
    finally:
        params_path.write_text(original_params)


def test_bad_params_fail_before_work(project):
    dest, env, _ = project
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["model"]["n_critc"] = 3
    bad = dest / "bad_params.yaml"
    bad.write_text(yaml.safe_dump(params))
    proc = run(
        [
            str(BIN / "python"),
            "stages/train.py",
            "s0_wgan_gp_jsb",
            "--data",
            "x",
            "--out",
            "y",
            "--logs",
            "z",
            "--params",
            str(bad),
        ],
        dest,
        env,
        check=False,
    )
    assert proc.returncode != 0
    assert "model.n_critc" in proc.stderr
    assert not (dest / "y").exists()


def test_every_training_log_is_a_plot_with_x_and_y(project):
    """`dvc plots show --json`: each kind of curve is drawn from every variant that logs it,
    with its declared x and y (a plot without y drew only a log's last column)."""
    dest, env, _ = project
    shown = json.loads(run(["dvc", "plots", "show", "--json"], dest, env).stdout)["data"]
    expect = {
        "reports/plots/losses": ("loss_g", "loss_d"),
        "reports/plots/d_accuracy": ("d_acc_real", "d_acc_fake"),
        "reports/plots/wasserstein_gp": ("wasserstein", "gradient_penalty"),
        "reports/plots/wasserstein": ("wasserstein",),
        "reports/plots/train_valid_loss": ("train_loss", "valid_loss"),
        "reports/plots/train_test_loss": ("train_loss", "test_loss"),
        "reports/plots/vae_terms": ("bce", "kl"),
        "reports/plots/density": ("density",),
        "reports/plots/quality": ("relative", "relative_lo", "relative_hi"),
    }
    for folder, ys in expect.items():
        files = sorted((dest / folder).glob("*.tsv"))
        assert files, folder
        for f in files:
            rel = str(f.relative_to(dest))
            assert rel in shown, (rel, list(shown)[:5])
            plot = shown[rel][0]
            props = plot["content"] if "content" in plot else plot
            text = json.dumps(props)
            for y in ys:
                assert f'"{y}"' in text, (rel, y)
            header = f.read_text().splitlines()[0].split("\t")
            assert header == ["step", *ys], (rel, header)
            assert len(f.read_text().splitlines()) > 1, rel
    assert {p.stem for p in (dest / "reports/plots/losses").glob("*.tsv")} >= {"s0_wgan_gp_jsb", "s4_gan_erk"}
    assert (dest / "reports/plots/train_valid_loss/s4_lstm_erk.tsv").is_file()
    # quality against steps: the snapshots' samples scored by evaluate, the final point last
    quality = (dest / "metrics/variants/s0_wgan_gp_jsb/quality_log.tsv").read_text().splitlines()
    steps = [int(line.split("\t")[0]) for line in quality[1:]]
    assert len(steps) >= 2 and steps == sorted(steps)
    head = json.loads((dest / "metrics/variants/s0_wgan_gp_jsb/samples.json").read_text())
    assert head["verdict"] in ("like the data", "between", "no better than naive", "references overlap")
    assert head["improving"] in ("yes", "flat", "falling", "too few points")


def test_dvc_lock_holds_only_stages_that_exist(project):
    """DVC keeps the lock entries of stages that left dvc.yaml (a renamed group, a catalogue
    switched off); `scorelab prune-lock` drops them, and the committed lock has none."""
    dest, env, _ = project
    for repo in (REPO, dest):
        stages = set(run(["dvc", "stage", "list", "--name-only"], repo, env).stdout.split())
        locked = set(yaml.safe_load((repo / "dvc.lock").read_text())["stages"])
        assert locked <= stages, sorted(locked - stages)
    lock = yaml.safe_load((dest / "dvc.lock").read_text())
    lock["stages"]["train@gone"] = lock["stages"]["train@s4_lstm_erk"]
    (dest / "dvc.lock").write_text(yaml.safe_dump(lock, sort_keys=False))
    out = run([str(BIN / "scorelab"), "prune-lock"], dest, env).stdout
    assert "train@gone" in out
    assert "train@gone" not in yaml.safe_load((dest / "dvc.lock").read_text())["stages"]
    assert json.loads(run(["dvc", "status", "--json"], dest, env).stdout) == {}
    run(["git", "checkout", "--", "dvc.lock"], dest, env)


def test_exp_run_switches_a_catalogue_on_by_name(project):
    """`-S 'catalogues=[...]'` composes the catalogue into params.yaml (DVC's Hydra
    composition): its variants get stages and train; params.yaml stays plain YAML, and a
    second -S run after it works (the old anchors broke the second run)."""
    dest, env, _ = project
    cat = dest / "conf/catalogues/mine.yaml"
    cat.write_text(
        "# @package _global_\ncatalogues: {mine: a user's own variant}\nvariants:\n"
        "  s4_lstm_small:\n"
        + "".join(
            f"    {k}: ${{variants.s4_lstm_erk.{k}}}\n"
            for k in ("trainer", "defaults", "dataset", "model", "train", "quick", "paper", "tiny", "sample")
        )
        + "    arch: {hidden: 8, dropout: 0.0}\n"
    )
    run(["git", "add", "-A"], dest, env)
    run(["git", "commit", "-q", "-m", "a catalogue of my own"], dest, env)
    try:
        exp = run(["dvc", "exp", "run", "-S", "catalogues=[mine]"], dest, env)
        stages = ran_stages(exp.stdout + exp.stderr)
        assert {"train@s4_lstm_small", "sample@s4_lstm_small", "evaluate@s4_lstm_small", "report"} <= stages
        assert not any(s.startswith(("corpus@", "encode@", "train@s0")) for s in stages), stages
        params = yaml.safe_load((dest / "params.yaml").read_text())
        assert set(params["catalogues"]) == {"mine"}
        assert params["variants"]["s4_lstm_small"]["arch"]["hidden"] == 8
        assert "s4_lstm_small" in json.loads((dest / "reports/metrics.json").read_text())
        # and a knob after it: the catalogues stay as conf/ selects them, n_critic moves
        again = run(["dvc", "exp", "run", "-S", "catalogues=[mine]", "-S", "model.n_critic=2"], dest, env)
        assert "train@s0_wgan_gp_jsb" in ran_stages(again.stdout + again.stderr)
        assert yaml.safe_load((dest / "params.yaml").read_text())["model"]["n_critic"] == 2
    finally:
        run(["git", "checkout", "--", "."], dest, env)
        run(["git", "reset", "-q", "--hard", "HEAD~1"], dest, env)
        run(["dvc", "checkout", "-q"], dest, env, check=False)
