"""The run-state file a repro keeps current (.pipetool/run-state.json): what a watcher sees during a
run, after it, after a failure, after Ctrl-C, and from a run whose process is gone."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time

from conftest import CLI_ENV

from pipetool.engine import runstate
from pipetool.engine.runstate import RunStateReporter
from pipetool.terminal.report import ConsoleReporter

# a waits until the test creates `release` (at most 30 s); b runs after it
WAIT_SH = "touch started; i=0; while [ ! -e release ] && [ $i -lt 3000 ]; do sleep 0.01; i=$((i+1)); done\n"
WAITING = """
    stages:
      a:
        cmd: sh wait.sh && echo made > a.txt
        outs: [a.txt]
      b:
        cmd: cat a.txt > b.txt
        deps: [a.txt]
        outs: [b.txt]
"""


def state_dir(project) -> str:
    return str(project.path / ".pipetool")


def wait_for(condition, what: str, timeout: float = 30.0):
    """Poll condition() until it returns something true (a file's content is the handshake)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_watcher_sees_the_running_stage_then_the_finished_run(project):
    project.write("pipeline.yaml", WAITING)
    project.write("wait.sh", WAIT_SH)
    seen = {}

    def watch() -> None:
        try:

            def a_running():
                state = runstate.read(state_dir(project))
                return state if state and state.stages.get("a") == "running" else None

            seen["during"] = wait_for(a_running, "stage a running in the run-state file")
        finally:
            (project.path / "release").write_text("")

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        project.cli_ok("repro")
    finally:
        watcher.join()
    during = seen["during"]
    assert during.live and during.finished is None
    assert during.stages == {"a": "running", "b": "queued"}
    assert during.total == 2 and during.done == 0
    assert set(during.running) == {"a"} and during.running["a"] <= time.time()
    after = runstate.read(state_dir(project))
    assert not after.live and after.finished == "succeeded"
    assert after.stages == {"a": "done", "b": "done"} and after.done == 2 and after.running == {}
    # A second run: both up to date; a dry run writes nothing.
    project.cli_ok("repro")
    assert runstate.read(state_dir(project)).stages == {"a": "up to date", "b": "up to date"}
    stamp = runstate.stamp(state_dir(project))
    project.cli_ok("repro", "-n")
    assert runstate.stamp(state_dir(project)) == stamp


def test_a_failed_run_names_the_failure_and_the_skipped(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: exit 3
            outs: [a.txt]
          b:
            cmd: cat a.txt > b.txt
            deps: [a.txt]
            outs: [b.txt]
        """,
    )
    project.cli_fails("repro")
    state = runstate.read(state_dir(project))
    assert not state.live and state.finished == "failed"
    assert state.stages == {"a": "failed", "b": "skipped"}
    assert "exited with code 3" in state.failed["a"]
    assert state.done == 2


def test_a_file_whose_process_is_gone_is_no_run(project):
    project.write("pipeline.yaml", WAITING)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (project.path / ".pipetool").mkdir()
    path = project.path / ".pipetool" / runstate.RUN_STATE_FILE
    base = {
        "version": runstate.VERSION,
        "boot": "",
        "started": 1.0,
        "updated": 2.0,
        "finished": None,
        "total": 2,
        "done": 0,
        "running": {"a": 1.5},
        "failed": {},
        "stages": ["a", "b"],
        "states": "rq",
    }
    path.write_text(json.dumps({**base, "pid": dead.pid, "pid_start": 12345}))
    state = runstate.read(state_dir(project))
    assert not state.live and state.finished == "interrupted"
    assert state.stages == {"a": "interrupted", "b": "queued"} and state.running == {}
    # A living pid that another process now holds (its start time differs) is no run either.
    path.write_text(json.dumps({**base, "pid": os.getpid(), "pid_start": -1}))
    assert not runstate.read(state_dir(project)).live
    # A file that is not one (torn, another version) is none.
    path.write_text('{"version": 1, "pid"')
    assert runstate.read(state_dir(project)) is None
    path.write_text(json.dumps({**base, "version": 99}))
    assert runstate.read(state_dir(project)) is None


def test_writes_are_throttled_and_ctrl_c_marks_the_run_interrupted(tmp_path):
    names = [f"s@{i}" for i in range(5000)]
    out = io.StringIO()
    reporter = RunStateReporter(ConsoleReporter(out=out), str(tmp_path), names, interval=30.0)
    reporter.begin(len(names))
    first = runstate.read(str(tmp_path))
    assert first.live and first.done == 0 and len(first.stages) == 5000
    for name in names[:-1]:
        reporter.up_to_date(name)
    reporter.running(names[-1], [])
    # Within the interval the file is not rewritten, whatever the number of events.
    assert runstate.read(str(tmp_path)).updated == first.updated
    reporter.end()  # no summary: the run was interrupted (repro calls end() in a finally)
    last = runstate.read(str(tmp_path))
    assert last.finished == "interrupted" and last.done == 5000
    assert last.stages[names[0]] == "up to date" and last.stages[names[-1]] == "interrupted"
    assert "Running stage 's@4999'" in out.getvalue()  # the terminal's reporter heard every event


def test_exp_run_keeps_the_run_state_too(project):
    project.write("params.yaml", "x: 1\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: echo ${x} > a.txt
            params: [x]
            outs: [a.txt]
        """,
    )
    project.cli_ok("repro")
    project.git("add", "-A")
    project.git("commit", "-qm", "base")
    project.cli_ok("exp", "run", "-S", "x=2")
    state = runstate.read(state_dir(project))
    assert state.finished == "succeeded" and state.stages == {"a": "done"} and state.total == 1


def test_ctrl_c_leaves_the_run_marked_interrupted(project):
    """A real repro process stopped with SIGINT while its stage runs (the stage's `started` file is
    the handshake): the file says interrupted, with the stage it stopped."""
    project.write("pipeline.yaml", WAITING)
    project.write("wait.sh", WAIT_SH)
    repro = subprocess.Popen(
        [sys.executable, "-m", "pipetool", "repro"],
        cwd=project.path,
        env=CLI_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(lambda: (project.path / "started").exists(), "stage a to start")
        repro.send_signal(signal.SIGINT)
        output, _ = repro.communicate(timeout=30)
    finally:
        (project.path / "release").write_text("")
        if repro.poll() is None:
            repro.kill()
            repro.wait()
    assert repro.returncode == 130, output
    state = runstate.read(state_dir(project))
    assert not state.live and state.finished == "interrupted"
    assert state.stages == {"a": "interrupted", "b": "queued"}
