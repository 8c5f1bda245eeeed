"""The process-level helpers every stage leans on: atomic writes that a killed writer
cannot half-finish (and whose leftovers the next write clears), and a stage that dies
with the DVC that launched it, whichever shell DVC put between them."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from scorelab.process import _is_shell_wrapper, _ppid, one_line
from scorelab.utils import atomic_dir, atomic_path, write_json


def _dead_pid() -> int:
    """A pid that belonged to a process which has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_killed_writers_temporaries_are_cleared_by_the_next_write(tmp_path):
    out = tmp_path / "data"
    dead = _dead_pid()
    (tmp_path / f".data.tmp{dead}").mkdir()  # a killed atomic_dir's half-written folder
    (tmp_path / f".data.tmp{dead}" / "half.bin").write_bytes(b"x")
    (tmp_path / f".data.old{dead}").mkdir()  # killed between its two renames
    (tmp_path / f".data.json.tmp{dead}").write_text("{")  # a killed atomic_path's file
    with atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("a")
    write_json(tmp_path / "data.json", {"a": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "data.json"]
    assert (out / "a.txt").read_text() == "a"


def test_a_live_writers_temporary_and_other_names_are_left_alone(tmp_path):
    live = tmp_path / f".data.tmp{os.getppid()}"  # a running process: pytest's parent
    live.mkdir()
    for name in (".data.tmpx", ".database.tmp1", ".data.tmp", "data.tmp1"):
        (tmp_path / name).write_text("")
    with atomic_path(tmp_path / "data") as tmp:
        tmp.write_text("done")
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {live.name, ".data.tmpx", ".database.tmp1", ".data.tmp", "data.tmp1", "data"}


def test_a_failed_write_keeps_the_previous_output(tmp_path):
    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        (tmp / "v1").write_text("1")
    with pytest.raises(RuntimeError), atomic_dir(out) as tmp:
        (tmp / "v2").write_text("2")
        raise RuntimeError("killed")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert [p.name for p in out.iterdir()] == ["v1"]


# the stage: asks to die with its launcher, says its pid, then waits to be killed
STAGE = (
    "from scorelab.process import die_with_dvc; import os, sys, time; die_with_dvc(0.05); "
    "open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(120)"
)
# DVC's part: run the command as `$SHELL -c cmd` (dvc/stage/run.py), then wait
LAUNCHER = "import subprocess, sys, time; subprocess.Popen(sys.argv[1:]); time.sleep(120)"


BASH = ["/bin/bash", "--noprofile", "--norc", "-c"]


@pytest.mark.parametrize(
    "shell,template",
    [
        (None, "{cmd}"),  # the stage is DVC's child: PR_SET_PDEATHSIG alone
        (BASH, "{cmd}"),  # bash execs a lone command: the same
        (["/bin/sh", "-c"], "{cmd}"),  # dash forks and waits: what CI hit (SHELL unset, /bin/sh)
        (BASH, "{cmd}; exit $?"),  # a bash that must wait
        (["/bin/sh", "-c"], "/bin/sh -c {quoted}"),  # a chain of two shells
    ],
    ids=["direct", "bash", "dash", "bash-waits", "two-shells"],
)
def test_a_stage_dies_with_its_launcher_through_any_shell(tmp_path, shell, template):
    if shell and not Path(shell[0]).exists():
        pytest.skip(f"{shell[0]} is not installed")
    pidfile = tmp_path / "stage.pid"
    cmd = [sys.executable, "-c", STAGE, str(pidfile)]
    line = shlex.join(cmd)
    argv = cmd if shell is None else [*shell, template.format(cmd=line, quoted=shlex.quote(line))]
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER, *argv])
    t0 = time.monotonic()
    while not pidfile.exists() or not pidfile.read_text():
        assert launcher.poll() is None and time.monotonic() - t0 < 60, "the stage did not start"
        time.sleep(0.02)
    stage = psutil.Process(int(pidfile.read_text()))
    if shell is not None and (shell[0] == "/bin/sh" or template != "{cmd}"):
        assert _is_shell_wrapper(stage.ppid()), "expected a shell to stay between"
    else:
        assert stage.ppid() == launcher.pid
    launcher.send_signal(signal.SIGKILL)
    launcher.wait()
    t0 = time.monotonic()
    while stage.is_running() and stage.status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() - t0 < 10, f"the stage outlived its launcher (parent now {_ppid(stage.pid)})"
        time.sleep(0.02)


def test_shell_wrapper_detection_reads_proc():
    sleeper = subprocess.Popen(["/bin/sh", "-c", "sleep 30; true"])
    try:
        time.sleep(0.2)
        assert _is_shell_wrapper(sleeper.pid)
        assert not _is_shell_wrapper(os.getpid())
        assert _ppid(sleeper.pid) == os.getpid()
        assert _ppid(_dead_pid()) is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_one_line_reads_as_words_not_a_dict() -> None:
    """Stages print their results with one_line (issue 23): words, not a Python dict."""
    line = one_line({"pieces_kept": 3, "splits": {"train": 2, "test": 1}, "files": ["a", "b"]})
    assert line == "pieces kept 3, splits (train 2, test 1), files a, b"
    assert "{" not in line and "'" not in line
