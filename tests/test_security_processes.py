"""No stage process outlives pipetool: kill -9 of a real pipetool while a stage (a shell with a
grandchild, appending to its out) runs, with and without its watchdog, and a record of groups
left by a dead pipetool whose ids now name other processes.

Synchronisation is on marker files the stages write, with bounded polling.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import test_robustness
from conftest import REPO_ROOT, Project, ran_stages
from test_robustness import PROMPTLY, Processes, alive, no_traceback, wait_gone, write_pipeline

from pipetool.system import procgroups
from pipetool.system.procgroups import WATCHDOG_NAME

procs = test_robustness.procs  # the fixture, for this module's tests too

LINES = 200
CLEAN = "".join(f"{i}\n" for i in range(LINES))  # what one whole run of the stage writes


def appending_stage(project: Project, markers: Path) -> None:
    """A stage writing LINES lines to out.txt: at once with $FAST, else one each 50 ms after
    starting a grandchild and writing the pids of its shell and grandchild to markers/append.pids."""
    m = str(markers)
    write_pipeline(
        project,
        {
            "append": {
                "cmd": (
                    'if [ -n "$FAST" ]; then pause=0; else pause=0.05\n'
                    "  sleep 60 & child=$!\n"
                    f'  echo $$ $child > "{m}/append.pids.tmp"; mv "{m}/append.pids.tmp" "{m}/append.pids"\n'
                    "fi\n"
                    f"i=0; while [ $i -lt {LINES} ]; do echo $i >> out.txt; i=$((i+1)); sleep $pause; done\n"
                ),
                "outs": ["out.txt"],
            }
        },
    )


def stage_pids(procs: Processes, run) -> list[int]:
    pids = [int(p) for p in procs.wait_for("append.pids", run).read_text().split()]
    assert len(pids) == 2 and all(alive(p) for p in pids), pids
    return pids


def watchdogs_of(pid: int) -> list[int]:
    """The children of pid that are pipetool's watchdog: forked and named so, or its program."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat, cmdline = (entry / "stat").read_text(), (entry / "cmdline").read_bytes()
        except OSError:  # not a process, or gone meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and (name == WATCHDOG_NAME or b"procgroups" in cmdline):
            found.append(int(entry.name))
    return found


def assert_converges(project: Project) -> None:
    """The next repro reruns the stage and records exactly a clean run's out; nothing is left."""
    again = project.ok("repro", env={"FAST": "1"}, timeout=PROMPTLY * 3)
    no_traceback(again.stdout, again.stderr)
    assert ran_stages(again.stdout) == ["append"]
    assert project.read("out.txt") == CLEAN
    assert "Data and pipelines are up to date." in project.cli_ok("status").stdout
    assert not list((project.path / ".pipetool").glob("running.*"))


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_kill_9_of_pipetool_ends_its_stage_and_the_stage_grandchild(project, procs):
    appending_stage(project, procs.markers)
    run = procs.start(project, "repro")
    pids = stage_pids(procs, run)

    os.kill(run.pid, signal.SIGKILL)
    assert run.finish() == -signal.SIGKILL
    assert wait_gone(pids) == []  # no next pipetool needed: the watchdog ended the group

    assert_converges(project)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_next_lock_holder_ends_the_stages_of_a_pipetool_killed_with_its_watchdog(project, procs):
    appending_stage(project, procs.markers)
    run = procs.start(project, "repro")
    pids = stage_pids(procs, run)
    watchdogs = watchdogs_of(run.pid)
    for pid in watchdogs:
        os.kill(pid, signal.SIGKILL)
    assert wait_gone(watchdogs) == []
    os.kill(run.pid, signal.SIGKILL)
    assert run.finish() == -signal.SIGKILL
    assert all(alive(p) for p in pids)  # orphans, still appending to out.txt

    assert_converges(project)  # its lock taken over, the orphans ended before anything is decided
    assert [p for p in pids if alive(p)] == []


def record_as_a_dead_pipetool(state_dir: Path, groups: list[tuple[int, int]]) -> Path:
    """A record of groups written by a real pipetool process that then died."""
    code = (
        "import sys; from pipetool.system.procgroups import Record\n"
        "r = Record(sys.argv[1])\n"
        "for pgid, start in zip(sys.argv[2::2], sys.argv[3::2]): r.add((int(pgid), int(start)))\n"
        "print(r.path)"
    )
    args = [str(state_dir)] + [str(n) for group in groups for n in group]
    written = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=REPO_ROOT, check=True, capture_output=True, text=True
    )
    return Path(written.stdout.strip())


def start_time(pid: int) -> int:
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[19])


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_a_recorded_group_whose_id_now_names_another_process_is_left_alone(project):
    write_pipeline(project, {"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]}})
    state = project.path / ".pipetool"
    state.mkdir()
    orphan = subprocess.Popen(["sh", "-c", "sleep 60 & wait"], start_new_session=True)
    unrelated = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        # the orphan as recorded; 'unrelated' has the pid of a recorded leader that started earlier
        record = record_as_a_dead_pipetool(
            state, [(orphan.pid, start_time(orphan.pid)), (unrelated.pid, start_time(unrelated.pid) - 1)]
        )
        project.cli_ok("repro")
        assert orphan.wait(timeout=PROMPTLY) == -signal.SIGKILL
        assert unrelated.poll() is None
        assert not record.exists()
    finally:
        for proc in (orphan, unrelated):
            proc.kill()
            proc.wait()


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
@pytest.mark.parametrize("damage", ["other boot", "garbage", "id alone"])
def test_a_record_from_another_boot_or_damaged_ends_nothing(project, damage):
    """Such a record may be left from before a reboot, or committed in a stranger's clone."""
    write_pipeline(project, {"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]}})
    state = project.path / ".pipetool"
    state.mkdir()
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        record = record_as_a_dead_pipetool(state, [(bystander.pid, start_time(bystander.pid))])
        text = record.read_text()
        if damage == "other boot":
            record.write_text(f"boot {uuid.uuid4()}\n" + text.split("\n", 1)[1])
        elif damage == "garbage":
            record.write_text(text + "\0\0 -1 x\n")
        else:  # only the watchdog, told by this run, reads a leader's start time itself
            record.write_text(text.split("\n", 1)[0] + f"\n+{bystander.pid}\n")
        result = project.cli_ok("checkout")
        no_traceback(result.stdout, result.stderr)
        assert bystander.poll() is None
        assert not record.exists()
    finally:
        bystander.kill()
        bystander.wait()


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_the_watchdog_told_a_group_by_its_id_alone_ends_it_when_pipetool_goes():
    """A stage's group is told to the watchdog by its id as soon as its shell exists, before
    pipetool reads the shell's start time (up to a millisecond while the shell starts, in which a
    kill -9 would otherwise leave the group unwatched); the watchdog reads the start time itself,
    and ends the group once its parent's end of the pipe closes."""
    group = subprocess.Popen(["sh", "-c", "sleep 60 & wait"], start_new_session=True)
    dog = subprocess.Popen(
        [sys.executable, "-m", "pipetool.system.procgroups", str(os.getpid())], stdin=subprocess.PIPE, cwd=REPO_ROOT
    )
    try:
        assert dog.stdin is not None
        dog.stdin.write(f"+{group.pid}\n".encode())
        dog.stdin.close()  # as when pipetool dies
        assert group.wait(timeout=PROMPTLY) in (-signal.SIGTERM, -signal.SIGKILL)
        assert dog.wait(timeout=PROMPTLY) == 0
    finally:
        for proc in (group, dog):
            proc.kill()
            proc.wait()


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_a_stage_group_is_told_by_its_id_at_once_then_with_its_start_time_before_it_is_reaped(monkeypatch):
    """The start time pipetool reads follows the id before the shell can be reaped (and its id
    used again), so a watchdog that read its own too late is corrected."""
    told: list[str] = []
    monkeypatch.setattr(procgroups._watchdog, "tell", told.append)
    shell = subprocess.Popen(["sh", "-c", "exit 0"], start_new_session=True)
    with procgroups.tracked(shell.pid):
        start = start_time(shell.pid)  # not reaped yet: still there, as a zombie at worst
        assert told == [f"+{shell.pid}\n", f"+{shell.pid} {start}\n"]
    shell.wait()
    assert told[-1] == f"-{shell.pid}\n"
