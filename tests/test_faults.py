"""Faults, through DVC: kills, races, corrupted files and bad params, in a temporary clone.

One small clone on the tiny profile (the Essen corpus, its token dataset and S4's LSTM,
300 steps with a resume file every 25) is shared by the checks, in order: a `kill -9` of
`dvc repro` during each kind of stage, then the rerun; two repros at once; corrupted
checkpoints and resume files; a corrupted object in the local remote and an interrupted
push; bad params; data-parallel training under torchrun with 2 gloo processes (finishes,
matches one process, resumes after a kill); and two queued DVC experiments run by
`dvc exp run --run-all -j 2`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
import yaml

from test_e2e import BIN, REPO, _env, ran_stages, run

pytestmark = pytest.mark.e2e

V = "s4_lstm_erk"
STEPS, EVERY = 300, 25


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def start(cmd: list[str], cwd: Path, env: dict, log: Path) -> subprocess.Popen:
    """A background command writing to ``log`` (its own session: a kill reaches only it)."""
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def wait_for(check, timeout: float = 120.0, what: str = "") -> None:
    t0 = time.monotonic()
    while not check():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def stage_process(proc: subprocess.Popen, script: str) -> psutil.Process | None:
    """The running child of ``proc`` whose command line runs ``script``."""
    try:
        for child in psutil.Process(proc.pid).children(recursive=True):
            if any(script in part for part in child.cmdline()):
                return child
    except psutil.NoSuchProcess:
        pass
    return None


def kill_during(proc: subprocess.Popen, script: str, ready=lambda: True, reap: bool = True) -> psutil.Process:
    """``kill -9`` the ``dvc`` of ``proc`` once the stage ``script`` runs and ``ready()``; its
    stage process must then die too (it dies with its parent)."""
    wait_for(lambda: stage_process(proc, script) is not None and ready(), what=f"{script} to run")
    child = stage_process(proc, script)
    os.kill(proc.pid, signal.SIGKILL)
    if reap:
        proc.wait()
    wait_for(lambda: not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, 10, "the stage to die")
    return child


def rows(path: Path) -> int:
    return len(path.read_text().splitlines()) - 1 if path.exists() else 0


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """The small clone, committed, not yet reproduced."""
    tmp = tmp_path_factory.mktemp("faults")
    env = _env(tmp)
    dest = tmp / "repo"
    for rel in run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"], REPO, env
    ).stdout.split():
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    for generated in ("dvc.lock", "metrics", "logs", "reports"):
        p = dest / generated
        shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["base"]["profile"] = "tiny"
    params["corpora"] = {"essen_erk": params["corpora"]["essen_erk"]}
    params["datasets"] = {"erk_tokens": params["datasets"]["erk_tokens"]}
    v = params["variants"][V]
    v["tiny"] = {
        "epochs": 1,
        "max_steps": STEPS,
        "batch_size": 4,
        "checkpoint_every": EVERY,
        "arch": {"hidden": 32, "dropout": 0.0},
    }
    params["variants"] = {V: v}
    for catalogue in ("seeds", "experiments"):  # they name corpora this clone does not have
        params.pop(catalogue, None)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "init", "-q", "-b", "main"], dest, env)
    run(["git", "add", "-A"], dest, env)
    run(["git", "commit", "-q", "-m", "small"], dest, env)
    return dest, env, tmp


REF: dict[str, str] = {}  # the uninterrupted run's checkpoint and log, for the later checks


def lock_names(dest: Path) -> set[str]:
    """The stages dvc.lock records (a stage is recorded only after it completed)."""
    lock = dest / "dvc.lock"
    return set(yaml.safe_load(lock.read_text())["stages"]) if lock.exists() else set()


@pytest.mark.parametrize(
    "script,stage,out",
    [
        ("stages/corpus.py", "corpus@essen_erk", "data/corpus/essen_erk"),
        ("stages/encode.py", "encode@erk_tokens", "data/encoded/erk_tokens"),
        ("stages/sample.py", f"sample@{V}", f"samples/{V}"),
    ],
)
def test_kill_during_a_stage_commits_nothing_half_written(clone, script, stage, out):
    """kill -9 of `dvc repro` while the stage runs (each repro goes one stage further):
    the stage dies with DVC, its output is absent (it writes through a temporary folder),
    dvc.lock does not record it, nothing downstream starts, and the next repro reruns it."""
    dest, env, tmp = clone
    log = tmp / f"kill_{stage}.log"
    proc = start(["dvc", "repro"], dest, env, log)
    t0 = []
    kill_during(proc, script, ready=lambda: t0.append(time.monotonic()) or time.monotonic() - t0[0] > 1.0)
    assert not (dest / out).exists(), sorted(p.name for p in (dest / out).iterdir())
    assert stage not in lock_names(dest)
    status = run(["dvc", "status", stage], dest, env).stdout
    assert "changed outs" in status or "deleted" in status or "not in cache" in status, status
    ran = ran_stages(log.read_text())
    assert stage in ran and not any(s.startswith(("evaluate@", "report")) for s in ran)
    leftovers = [p for p in (dest / Path(out).parent).glob(f".{Path(out).name}.tmp*")]
    FAULTS[stage] = f"killed after {len(ran)} stage(s) began; temporary leftovers: {len(leftovers)}"


FAULTS: dict[str, str] = {}


def test_repro_after_the_kills_completes(clone):
    dest, env, _ = clone
    done = run(["dvc", "repro"], dest, env)
    ran = ran_stages(done.stdout)
    assert {f"sample@{V}", f"evaluate@{V}", "report"} <= ran
    assert not {"corpus@essen_erk", "encode@erk_tokens"} & ran  # completed by the earlier reruns
    assert run(["dvc", "status"], dest, env).stdout.strip().endswith("up to date.")
    REF["checkpoint"] = sha(dest / "models" / V / "checkpoint.pt")
    REF["log"] = (dest / "logs" / V / "train_log.tsv").read_text()
    assert len(REF["log"].splitlines()) == STEPS + 1
    run(["git", "add", "-A"], dest, env)
    run(["git", "commit", "-q", "-m", "complete"], dest, env)


def _kill_train(dest: Path, env: dict, log: Path, reap: bool = True) -> subprocess.Popen:
    """Start `dvc repro` with the variant's outputs gone; kill -9 it once a resume file
    exists and the log is past it."""
    shutil.rmtree(dest / "models" / V)
    shutil.rmtree(dest / "logs" / V)
    proc = start(["dvc", "repro"], dest, env, log)
    resume = dest / "models" / V / "resume.pt"
    kill_during(
        proc,
        "stages/train.py",
        ready=lambda: resume.exists() and rows(dest / "logs" / V / "train_log.tsv") > 3 * EVERY,
        reap=reap,
    )
    assert resume.exists() and not (dest / "models" / V / "checkpoint.pt").exists()
    assert EVERY < rows(dest / "logs" / V / "train_log.tsv") < STEPS
    return proc


def test_kill_during_train_resumes_through_dvc_repro_and_gives_the_same_bytes(clone):
    """The reported failure: the rerun must resume from the periodic resume.pt (the logs
    survive: persist) and end with the uninterrupted run's bytes."""
    dest, env, tmp = clone
    _kill_train(dest, env, tmp / "kill_train.log")
    again = run(["dvc", "repro"], dest, env)
    assert f"train@{V}" in ran_stages(again.stdout)
    assert "scorelab: resuming from" in again.stdout + again.stderr  # the warning/info is shown
    assert sha(dest / "models" / V / "checkpoint.pt") == REF["checkpoint"]
    assert (dest / "logs" / V / "train_log.tsv").read_text() == REF["log"]
    assert not (dest / "models" / V / "resume.pt").exists()
    assert run(["dvc", "status"], dest, env).stdout.strip().endswith("up to date.")


def test_a_zombie_repro_blocks_until_scorelab_unlock_clears_its_lock(clone):
    """A killed `dvc` that its parent has not reaped still 'exists', so DVC's stale-lock
    check keeps it; `scorelab unlock` clears it and the rerun resumes."""
    dest, env, tmp = clone
    proc = _kill_train(dest, env, tmp / "kill_zombie.log", reap=False)
    try:
        assert psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE
        blocked = run(["dvc", "repro"], dest, env, check=False)
        assert blocked.returncode != 0 and "is busy" in blocked.stderr + blocked.stdout
        cleared = run([str(BIN / "scorelab"), "unlock"], dest, env)
        assert f"removed the lock of process {proc.pid}" in cleared.stdout
        assert "no stale locks" in run([str(BIN / "scorelab"), "unlock"], dest, env).stdout
        again = run(["dvc", "repro"], dest, env)
        assert "scorelab: resuming from" in again.stdout + again.stderr
    finally:
        proc.wait()
    assert sha(dest / "models" / V / "checkpoint.pt") == REF["checkpoint"]


def test_two_repros_at_once_the_second_fails_fast_and_the_first_completes(clone):
    dest, env, tmp = clone
    shutil.rmtree(dest / "models" / V)
    log = tmp / "first.log"
    first = start(["dvc", "repro"], dest, env, log)
    wait_for(
        lambda: stage_process(first, "stages/train.py") is not None, what="the first repro's train stage"
    )
    t0 = time.monotonic()
    second = run(["dvc", "repro"], dest, env, check=False)
    took = time.monotonic() - t0
    assert second.returncode != 0
    message = second.stdout + second.stderr
    assert "lock" in message.lower() or "is busy" in message, message
    assert took < 30, took
    assert first.wait(timeout=300) == 0, log.read_text()
    assert sha(dest / "models" / V / "checkpoint.pt") == REF["checkpoint"]
    assert run(["dvc", "status"], dest, env).stdout.strip().endswith("up to date.")
    FAULTS["two repros"] = f"second failed in {took:.1f} s: {message.strip().splitlines()[-1]}"


@pytest.mark.parametrize("damage", ["truncated", "random"])
def test_a_corrupted_resume_file_stops_training_naming_it(clone, damage):
    dest, env, _ = clone
    good = dest / "models" / V / "checkpoint.pt"
    resume = dest / "models" / V / "resume.pt"
    data = good.read_bytes()
    damaged = data[: len(data) // 2] if damage == "truncated" else os.urandom(len(data))
    resume.write_bytes(damaged)
    proc = run(["dvc", "repro", "--force", "--single-item", f"train@{V}"], dest, env, check=False)
    assert proc.returncode != 0
    err = proc.stdout + proc.stderr
    assert f"models/{V}/resume.pt: not a readable checkpoint" in err and "delete it" in err, err
    assert "Traceback" not in err
    assert resume.read_bytes() == damaged  # kept for the user to restore, not overwritten
    resume.unlink()
    run(["dvc", "checkout", "--force"], dest, env)


@pytest.mark.parametrize("damage", ["truncated", "random"])
def test_a_corrupted_checkpoint_is_an_error_naming_it(clone, damage):
    """The sample stage and `scorelab generate` both stop with the file and the reason."""
    dest, env, _ = clone
    ckpt = dest / "models" / V / "checkpoint.pt"
    data = ckpt.read_bytes()
    ckpt.write_bytes(data[: len(data) // 3] if damage == "truncated" else os.urandom(4096))
    try:
        proc = run(["dvc", "repro", "--force", "--single-item", f"sample@{V}"], dest, env, check=False)
        err = proc.stdout + proc.stderr
        assert proc.returncode != 0 and f"models/{V}/checkpoint.pt: not a readable checkpoint" in err, err
        gen = run([str(BIN / "scorelab"), "generate", V, "--out", str(dest / "gen")], dest, env, check=False)
        assert gen.returncode == 1 and "checkpoint.pt: not a readable checkpoint" in gen.stderr, gen.stderr
        assert "Traceback" not in err + gen.stderr
    finally:
        ckpt.write_bytes(data)
        run(["dvc", "checkout", "--force"], dest, env)  # the failed stage had removed samples/
    assert run(["dvc", "status"], dest, env).stdout.strip().endswith("up to date.")


def test_a_resume_file_of_other_params_is_ignored_with_a_visible_warning(clone):
    dest, env, tmp = clone
    _kill_train(dest, env, tmp / "kill_other.log")
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["variants"][V]["train"]["lr"] = 2.0e-3  # the resume file is of lr 1e-3
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        proc = run(["dvc", "repro", "--single-item", f"train@{V}"], dest, env)
        out = proc.stdout + proc.stderr
        assert "belongs to another run (params, seed or data changed); starting fresh" in out, out
        assert rows(dest / "logs" / V / "train_log.tsv") == STEPS
        assert sha(dest / "models" / V / "checkpoint.pt") != REF["checkpoint"]
    finally:
        run(["git", "checkout", "HEAD", "--", "params.yaml"], dest, env)
        run(["dvc", "repro", "--single-item", f"train@{V}"], dest, env)
    assert sha(dest / "models" / V / "checkpoint.pt") == REF["checkpoint"]
