"""Robustness of the real `pipetool` CLI: real signals, kill -9, torn local state, a second
pipetool at the same time, paths that lead outside the project, and stage commands that cannot
run. Every pipetool that is signalled, killed, or runs beside another pipetool is a separate process
started as a user would start it; the runs before and after it, there only for their results, run
in this process (no interpreter start-up).

Synchronisation is always on marker files that the stages write when they have started (bounded
polling with a timeout), never on fixed sleeps.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import Project, ran_stages

PROMPTLY = 10.0  # generous bound for "at once" / "within a few seconds"
STARTUP = 60.0  # bound for a background pipetool to reach a stage (slow CI machines)


# --- helpers: background pipetools, marker files, process liveness -------------------------


def alive(pid: int) -> bool:
    """Is the process there? A zombie (killed, not yet reaped by a non-reaping init) is not."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as handle:
            stat = handle.read()
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def wait_gone(pids: list[int], timeout: float = PROMPTLY) -> list[int]:
    """Poll until none of the pids is alive; returns those still alive at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        left = [pid for pid in pids if alive(pid)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


class Background:
    """A `pipetool ARGS` running in the background, its output going to files."""

    def __init__(self, project: Project, folder: Path, number: int, args: tuple[str, ...], env: dict | None) -> None:
        self.args = args
        self.out_path = folder / f"bg{number}.stdout"
        self.err_path = folder / f"bg{number}.stderr"
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pipetool", *args],
                cwd=project.path,
                env={**os.environ, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> tuple[str, str]:
        return self.out_path.read_text(errors="replace"), self.err_path.read_text(errors="replace")

    def describe(self) -> str:
        out, err = self.output()
        return (
            f"pipetool {' '.join(self.args)} (pid {self.pid}, exit {self.proc.poll()}):\n"
            f"--- stdout\n{out}\n--- stderr\n{err}"
        )

    def finish(self, timeout: float = PROMPTLY) -> int:
        """Its exit code; fails the test (showing its output) when it does not end in time."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"did not exit within {timeout:.0f}s of being told to: {self.describe()}")


class Processes:
    """Starts background pipetools and cleans up after them, and after their stages."""

    def __init__(self, tmp_path: Path) -> None:
        self.markers = tmp_path / "markers"
        self.markers.mkdir()
        self.logs = tmp_path / "logs"
        self.logs.mkdir()
        self.started: list[Background] = []

    def start(self, project: Project, *args: str, env: dict | None = None) -> Background:
        bg = Background(project, self.logs, len(self.started), args, env)
        self.started.append(bg)
        return bg

    def wait_for(self, name: str, *running: Background, timeout: float = STARTUP) -> Path:
        """Poll for the marker file NAME; fail early if a background pipetool ended meanwhile."""
        path = self.markers / name
        deadline = time.monotonic() + timeout
        while not path.exists():
            for bg in running:
                if bg.proc.poll() is not None:
                    pytest.fail(f"ended before marker {name} appeared: {bg.describe()}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"marker {name} did not appear within {timeout:.0f}s: " + "\n".join(bg.describe() for bg in running)
                )
            time.sleep(0.02)
        return path

    def stage_pids(self, tag: str, *running: Background) -> list[int]:
        """Pids a SLOW stage wrote: its shell (the group leader) and three sleeps."""
        pids = [int(p) for p in self.wait_for(f"{tag}.pids", *running).read_text().split()]
        assert len(pids) == 4, pids
        return pids

    def cleanup(self) -> None:
        (self.markers / "release").touch()  # lets a gate stage end by itself
        for bg in self.started:
            if bg.proc.poll() is None:
                bg.proc.kill()
                bg.proc.wait()
        for pids_file in self.markers.glob("*.pids"):
            for pid in (int(p) for p in pids_file.read_text().split()):
                # only what is still one of our stage's processes (guard against pid reuse)
                if alive(pid) and cmdline(pid).split(" ")[0].rsplit("/", 1)[-1] in ("sh", "sleep", "dash", "bash"):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass


@pytest.fixture
def procs(tmp_path: Path):
    processes = Processes(tmp_path)
    try:
        yield processes
    finally:
        processes.cleanup()


def slow_cmd(markers: Path, tag: str, then: str) -> str:
    """A long stage (unless $FAST is set): a process group of a shell, a nested shell and three
    sleeps; writes all their pids to markers/TAG.pids once they all run, then waits; then THEN."""
    m = str(markers)
    return (
        'if [ -z "$FAST" ]; then\n'
        f'  sh -c \'sleep 60 & echo $! > "{m}/{tag}.inner.tmp"; mv "{m}/{tag}.inner.tmp" "{m}/{tag}.inner";'
        " exec sleep 60' & S=$!\n"
        "  sleep 60 & B=$!\n"
        f'  while [ ! -f "{m}/{tag}.inner" ]; do sleep 0.02; done\n'
        f'  echo $$ $S $B $(cat "{m}/{tag}.inner") > "{m}/{tag}.pids.tmp"\n'
        f'  mv "{m}/{tag}.pids.tmp" "{m}/{tag}.pids"\n'
        "  wait\n"
        "fi\n"
        f"{then}\n"
    )


def gate_cmd(markers: Path, then: str) -> str:
    """A stage that says it started, then waits (at most 60 s) for markers/release."""
    m = str(markers)
    return (
        f'touch "{m}/gate.started"; i=0; '
        f'while [ ! -f "{m}/release" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; {then}'
    )


def write_pipeline(project: Project, stages: dict) -> None:
    (project.path / "pipeline.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))


def assert_lock_valid(project: Project) -> dict:
    """pipeline.lock parses as YAML with the lock's shape, and no temp file was left beside it."""
    data = yaml.safe_load(project.read("pipeline.lock"))
    assert isinstance(data, dict) and data.get("version") == 1 and isinstance(data.get("stages"), dict), data
    leftovers = [p.name for p in project.path.iterdir() if p.name.startswith("pipeline.lock.")]
    assert not leftovers, leftovers
    return data["stages"]


def no_traceback(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text, text


def stale_stages(project: Project) -> dict:
    """`pipetool status --json`: stale stage -> its reason messages."""
    result = project.cli_ok("status", "--json")
    no_traceback(result.stdout, result.stderr)
    return {name: [r["message"] for r in body["reasons"]] for name, body in json.loads(result.stdout).items()}


# --- 1. SIGINT / SIGTERM during repro ------------------------------------------------------


def interrupt_pipeline(project: Project, markers: Path, slow: list[str]) -> None:
    """pre (run beforehand) ; first -> each of SLOW (long) -> after."""
    project.write("src.txt", "source\n")
    stages = {
        "pre": {"cmd": "echo pre > pre.txt", "outs": ["pre.txt"]},
        "first": {"cmd": "cat src.txt > first.txt", "deps": ["src.txt"], "outs": ["first.txt"]},
    }
    for name in slow:
        stages[name] = {
            "cmd": slow_cmd(markers, name, f"cp first.txt {name}.txt"),
            "deps": ["first.txt"],
            "outs": [f"{name}.txt"],
        }
    stages["after"] = {
        "cmd": f"cat {' '.join(n + '.txt' for n in slow)} > after.txt",
        "deps": [f"{n}.txt" for n in slow],
        "outs": ["after.txt"],
    }
    write_pipeline(project, stages)


@pytest.mark.parametrize("jobs", [1, 2], ids=["j1", "j2"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_running_stage_groups_and_keeps_finished_stages(project, procs, sig, jobs):
    slow = ["slow"] if jobs == 1 else ["slow1", "slow2"]
    interrupt_pipeline(project, procs.markers, slow)
    project.cli_ok("repro", "pre")
    pre_entry = project.lock()["stages"]["pre"]

    run = procs.start(project, "repro", "-j", str(jobs))
    pids = {name: procs.stage_pids(name, run) for name in slow}  # both run at once with -j 2
    for name, group in pids.items():
        assert all(alive(pid) for pid in group), (name, group)

    os.kill(run.pid, sig)
    code = run.finish(PROMPTLY)
    out, err = run.output()
    assert code == 130, run.describe()
    assert "interrupted" in err, run.describe()
    no_traceback(out, err)
    for name, group in pids.items():
        assert wait_gone(group, timeout=5) == [], f"stage {name}: processes {group} survived the interrupt"

    stages = assert_lock_valid(project)
    assert stages["pre"] == pre_entry  # not touched
    assert "first" in stages  # finished before the interrupt: kept
    for name in slow + ["after"]:
        assert name not in stages  # interrupted / never started: not recorded
    assert not project.exists("after.txt")

    stale = stale_stages(project)
    assert set(stale) == set(slow) | {"after"}, stale
    for name in slow:
        assert stale[name] == ["new stage"], stale

    again = project.cli_ok("repro", "-j", str(jobs), env={"FAST": "1"})
    assert sorted(ran_stages(again.stdout)) == sorted(slow + ["after"])
    assert ran_stages(again.stdout)[-1] == "after"
    assert project.read("after.txt") == "source\n" * len(slow)
    assert set(assert_lock_valid(project)) == {"pre", "first", "after", *slow}


def test_interrupt_also_stops_a_stage_child_that_ignores_sigterm(project, procs):
    """Ctrl-C must end the whole stage, even a child that ignores SIGTERM (SIGKILL after a grace)."""
    m = procs.markers
    write_pipeline(
        project,
        {
            "stubborn": {
                "cmd": (
                    "(trap '' TERM; exec sleep 60) & C=$!; sleep 60 & B=$!; "
                    f'echo $$ $C $B $B > "{m}/stubborn.pids.tmp"; mv "{m}/stubborn.pids.tmp" "{m}/stubborn.pids"; '
                    "wait; echo done > out.txt"
                ),
                "outs": ["out.txt"],
            },
        },
    )
    run = procs.start(project, "repro")
    group = procs.stage_pids("stubborn", run)
    os.kill(run.pid, signal.SIGINT)
    code = run.finish(PROMPTLY)
    out, err = run.output()
    assert code == 130, run.describe()
    assert "interrupted" in err
    no_traceback(out, err)
    assert wait_gone(group, timeout=5) == [], f"processes {group} survived the interrupt"
    assert "stubborn" in stale_stages(project)


# --- 2. kill -9, torn journal, garbage state db --------------------------------------------


def kill_during_second_stage(project: Project, procs: Processes) -> str | None:
    """Run first -> slow -> after, kill -9 pipetool while slow runs; returns the lock text before."""
    interrupt_pipeline(project, procs.markers, ["slow"])
    project.cli_ok("repro", "pre")
    before = project.read("pipeline.lock")
    run = procs.start(project, "repro")
    group = procs.stage_pids("slow", run)
    os.kill(run.pid, signal.SIGKILL)
    assert run.finish(PROMPTLY) == -signal.SIGKILL
    # its stage lives on in its own session; end it as the user would have to
    for pid in group:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert wait_gone(group) == []
    return before


def test_kill_9_during_second_stage_keeps_the_first_and_recovers(project, procs):
    before = kill_during_second_stage(project, procs)
    assert project.read("pipeline.lock") == before  # the lock itself was never half-written

    status = project.cli_ok("status")
    no_traceback(status.stdout, status.stderr)
    stale = stale_stages(project)
    assert set(stale) == {"slow", "after"}, stale  # 'first' is up to date thanks to the journal
    assert stale["slow"] == ["new stage"]

    again = project.cli_ok("repro", env={"FAST": "1"})
    no_traceback(again.stdout, again.stderr)
    assert ran_stages(again.stdout) == ["slow", "after"]
    stages = assert_lock_valid(project)
    assert set(stages) == {"pre", "first", "slow", "after"}
    assert stages["pre"] == yaml.safe_load(before)["stages"]["pre"]
    assert "Data and pipelines are up to date." in project.cli_ok("status").stdout


@pytest.mark.parametrize("torn", ["half-record", "fields-missing", "binary"])
def test_torn_last_journal_line_is_ignored(project, procs, torn):
    kill_during_second_stage(project, procs)
    journal = project.path / ".pipetool" / "lock.journal"
    lines = journal.read_bytes().split(b"\n")
    record = next(line for line in lines[1:] if b'"first"' in line)
    if torn == "half-record":  # a kill in the middle of appending slow's record
        tail = record.replace(b'"first"', b'"slow"')[: len(record) // 2]
    elif torn == "fields-missing":
        tail = b'{"stage": "slow"}'
    else:
        tail = bytes(random.Random(7).getrandbits(8) for _ in range(64)).replace(b"\n", b"")
    with open(journal, "ab") as handle:
        if not journal.read_bytes().endswith(b"\n"):
            handle.write(b"\n")
        handle.write(tail)

    stale = stale_stages(project)
    assert set(stale) == {"slow", "after"}, stale
    assert stale["slow"] == ["new stage"]

    again = project.cli_ok("repro", env={"FAST": "1"})
    no_traceback(again.stdout, again.stderr)
    assert ran_stages(again.stdout) == ["slow", "after"]
    assert set(assert_lock_valid(project)) == {"pre", "first", "slow", "after"}


@pytest.mark.parametrize("garbage", ["random-bytes", "sqlite-header-then-garbage"])
def test_garbage_state_db_is_rebuilt_silently(project, garbage):
    project.write("src.txt", "one\n")
    write_pipeline(project, {"a": {"cmd": "cat src.txt > a.txt", "deps": ["src.txt"], "outs": ["a.txt"]}})
    project.cli_ok("repro")
    lock_before = project.read("pipeline.lock")
    db = project.path / ".pipetool" / "state.db"
    noise = random.Random(garbage).randbytes(16384)
    db.write_bytes(noise if garbage == "random-bytes" else b"SQLite format 3\x00" + noise)

    status = project.cli_ok("status")
    assert "Data and pipelines are up to date." in status.stdout
    assert status.stderr == ""
    again = project.cli_ok("repro")
    assert ran_stages(again.stdout) == [] and again.stderr == ""
    assert project.read("pipeline.lock") == lock_before

    with sqlite3.connect(db) as conn:  # rebuilt as a working db
        conn.execute("SELECT count(*) FROM state").fetchone()

    project.write("src.txt", "two\n")  # hashing still sees changes
    assert "a" in stale_stages(project)
    assert ran_stages(project.cli_ok("repro").stdout) == ["a"]
    assert project.read("a.txt") == "two\n"


# --- 3. concurrency -------------------------------------------------------------------------


def gated_pipeline(project: Project, markers: Path) -> None:
    """first (quick) -> gated (waits for markers/release)."""
    write_pipeline(
        project,
        {
            "first": {"cmd": "echo first > first.txt", "outs": ["first.txt"]},
            "gated": {
                "cmd": gate_cmd(markers, "cat first.txt > gated.txt"),
                "deps": ["first.txt"],
                "outs": ["gated.txt"],
            },
        },
    )


def test_second_repro_fails_at_once_naming_the_holder(project, procs):
    gated_pipeline(project, procs.markers)
    first = procs.start(project, "repro")
    procs.wait_for("gate.started", first)

    started = time.monotonic()
    second = project.fails("repro", timeout=PROMPTLY)
    assert time.monotonic() - started < PROMPTLY
    assert f"pid {first.pid}" in second.stderr, second.stderr
    assert ran_stages(second.stdout) == []
    # the loser must not disturb the holder's pid file
    assert (project.path / ".pipetool" / "repo.pid").read_text().strip() == str(first.pid)

    (procs.markers / "release").touch()
    assert first.finish(STARTUP) == 0, first.describe()
    assert set(assert_lock_valid(project)) == {"first", "gated"}


def test_repro_wait_queues_behind_the_running_repro(project, procs):
    gated_pipeline(project, procs.markers)
    first = procs.start(project, "repro")
    procs.wait_for("gate.started", first)

    waiter = procs.start(project, "repro", "--wait")
    with pytest.raises(subprocess.TimeoutExpired):  # it waits rather than failing
        waiter.proc.wait(timeout=2)
    assert first.proc.poll() is None

    (procs.markers / "release").touch()
    assert first.finish(STARTUP) == 0, first.describe()
    assert waiter.finish(STARTUP) == 0, waiter.describe()
    out, err = waiter.output()
    no_traceback(out, err)
    assert ran_stages(out) == []  # everything was done by the first
    assert "up to date" in out
    assert set(assert_lock_valid(project)) == {"first", "gated"}


def test_status_works_while_repro_runs(project, procs):
    gated_pipeline(project, procs.markers)
    first = procs.start(project, "repro")
    procs.wait_for("gate.started", first)

    started = time.monotonic()
    status = project.ok("status", timeout=PROMPTLY)
    assert time.monotonic() - started < PROMPTLY
    no_traceback(status.stdout, status.stderr)
    stale = stale_stages(project)
    assert set(stale) == {"gated"}, stale  # 'first' already finished (journal)
    assert first.proc.poll() is None  # and status did not disturb the run

    (procs.markers / "release").touch()
    assert first.finish(STARTUP) == 0, first.describe()
    assert "Data and pipelines are up to date." in project.cli_ok("status").stdout


@pytest.mark.parametrize("content", ["dead-pid", "garbage"])
def test_pid_file_left_by_a_killed_process_does_not_block(project, content):
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: echo a > a.txt
            outs: [a.txt]
    """,
    )
    if content == "dead-pid":
        dead = subprocess.Popen(["true"])
        dead.wait()
        text = f"{dead.pid}\n"
    else:
        text = "\0\0not a pid"
    state = project.path / ".pipetool"
    state.mkdir()
    (state / "repo.pid").write_text(text)
    (state / "repo.lock").write_text("")  # the lock file a killed holder leaves

    result = project.ok("repro", timeout=PROMPTLY * 3)
    no_traceback(result.stdout, result.stderr)
    assert ran_stages(result.stdout) == ["a"]
    assert not (state / "repo.pid").exists()
    assert set(assert_lock_valid(project)) == {"a"}


# --- 4. paths ---------------------------------------------------------------------------------


def recorded_project(project: Project) -> str:
    """A project with stage 'a' recorded, then made stale; returns the lock text."""
    project.write("src.txt", "one\n")
    write_pipeline(project, {"a": {"cmd": "cat src.txt > a.txt", "deps": ["src.txt"], "outs": ["a.txt"]}})
    project.cli_ok("repro")
    project.write("src.txt", "two\n")  # 'a' would run again if anything ran
    return project.read("pipeline.lock")


@pytest.mark.parametrize("where", ["dotdot", "absolute"])
def test_out_outside_the_project_is_refused_before_anything_runs(project, tmp_path, where):
    lock_before = recorded_project(project)
    target = tmp_path / "outside.txt"
    out = "../outside.txt" if where == "dotdot" else str(target)
    stages = yaml.safe_load(project.read("pipeline.yaml"))["stages"]
    stages["bad"] = {"cmd": f"echo x > {out}", "outs": [out]}
    write_pipeline(project, stages)

    result = project.cli_fails("repro")
    assert out in result.stderr and "outside the project" in result.stderr, result.stderr
    assert "pipeline.yaml" in result.stderr
    assert ran_stages(result.stdout) == []
    assert not target.exists()
    assert project.read("a.txt") == "one\n"  # 'a' did not run
    assert project.read("pipeline.lock") == lock_before


def test_out_through_a_symlinked_folder_outside_the_project_is_refused(project, tmp_path):
    lock_before = recorded_project(project)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project.path / "linked").symlink_to(elsewhere, target_is_directory=True)
    stages = yaml.safe_load(project.read("pipeline.yaml"))["stages"]
    stages["bad"] = {"cmd": "echo x > linked/x.txt", "outs": ["linked/x.txt"]}
    write_pipeline(project, stages)

    result = project.cli_fails("repro")
    assert "linked/x.txt" in result.stderr and "outside the project" in result.stderr, result.stderr
    assert "symlink" in result.stderr
    assert ran_stages(result.stdout) == []
    assert list(elsewhere.iterdir()) == []
    assert project.read("a.txt") == "one\n"
    assert project.read("pipeline.lock") == lock_before


@pytest.mark.parametrize("spelling", ["absolute", "dotdot"])
def test_dep_outside_the_project_is_allowed_and_tracked(project, tmp_path, spelling):
    ext = tmp_path / "ext.txt"
    ext.write_text("v1\n")
    dep = str(ext) if spelling == "absolute" else "../ext.txt"
    write_pipeline(project, {"use": {"cmd": f"cat {dep} > use.txt", "deps": [dep], "outs": ["use.txt"]}})

    first = project.cli_ok("repro")
    assert ran_stages(first.stdout) == ["use"]
    assert project.read("use.txt") == "v1\n"
    assert [d["path"] for d in assert_lock_valid(project)["use"]["deps"]] == [dep]
    assert stale_stages(project) == {}
    assert ran_stages(project.cli_ok("repro").stdout) == []

    ext.write_text("v1\n")  # same bytes: still up to date
    assert stale_stages(project) == {}
    ext.write_text("v2\n")
    stale = stale_stages(project)
    assert list(stale) == ["use"] and any(dep in m for m in stale["use"]), stale
    again = project.cli_ok("repro")
    assert ran_stages(again.stdout) == ["use"]
    assert project.read("use.txt") == "v2\n"


# --- 5. commands that cannot run, outs that cannot be made ------------------------------------


def test_command_not_found(project):
    lock_before = recorded_project(project)
    project.write("src.txt", "one\n")  # 'a' up to date again
    stages = yaml.safe_load(project.read("pipeline.yaml"))["stages"]
    stages["b"] = {"cmd": "no-such-command-for-pipetool-tests --flag", "deps": ["a.txt"], "outs": ["b.txt"]}
    write_pipeline(project, stages)

    result = project.cli_fails("repro")
    text = result.stdout + result.stderr
    assert "command not found" in text and "127" in text, text
    assert "no-such-command-for-pipetool-tests" in text
    assert ran_stages(result.stdout) == ["b"]
    stages = assert_lock_valid(project)
    assert "b" not in stages
    assert stages["a"] == yaml.safe_load(lock_before)["stages"]["a"]
    assert stale_stages(project) == {"b": ["new stage"]}


@pytest.mark.parametrize("out", ["blocker/out.txt", "blocker/deeper/out.txt"])
def test_out_whose_parent_is_a_regular_file_fails_clearly(project, out):
    lock_before = recorded_project(project)
    project.write("src.txt", "one\n")  # 'a' up to date again
    project.write("blocker", "a file, not a folder\n")
    stages = yaml.safe_load(project.read("pipeline.yaml"))["stages"]
    stages["make"] = {"cmd": f"echo x > {out}", "outs": [out]}
    write_pipeline(project, stages)

    result = project.cli_fails("repro")
    text = result.stdout + result.stderr
    assert "Stage 'make' failed" in text, text
    assert out in text, f"the message should name the out '{out}':\n{text}"
    assert project.read("blocker") == "a file, not a folder\n"  # the user's file is left alone
    stages = assert_lock_valid(project)
    assert "make" not in stages
    assert stages["a"] == yaml.safe_load(lock_before)["stages"]["a"]


# --- 6. outside any git repository --------------------------------------------------------------


def test_repro_and_status_work_outside_any_git_repository(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    env = {"GIT_CEILING_DIRECTORIES": str(tmp_path)}
    probe = subprocess.run(["git", "rev-parse", "--git-dir"], cwd=plain, capture_output=True, env={**os.environ, **env})
    assert probe.returncode != 0, "test setup: the temp folder is inside a git repository"

    project = Project(plain)
    project.write("src.txt", "one\n")
    write_pipeline(project, {"a": {"cmd": "cat src.txt > a.txt", "deps": ["src.txt"], "outs": ["a.txt"]}})

    status = project.cli_ok("status", env=env)
    no_traceback(status.stdout, status.stderr)
    assert "a:" in status.stdout and "new stage" in status.stdout
    result = project.cli_ok("repro", env=env)
    no_traceback(result.stdout, result.stderr)
    assert ran_stages(result.stdout) == ["a"]
    assert "Data and pipelines are up to date." in project.cli_ok("status", env=env).stdout
    project.write("src.txt", "two\n")
    assert "a:" in project.cli_ok("status", env=env).stdout
    assert ran_stages(project.cli_ok("repro", env=env).stdout) == ["a"]
    assert set(assert_lock_valid(project)) == {"a"}
    assert not (plain / ".git").exists()
