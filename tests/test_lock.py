"""pipeline.lock: deterministic, atomic, durable per stage, and clear about damage."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from conftest import Project, ran_stages

MIXED_ORDER = """
    stages:
      zeta:
        cmd: cat z_src.txt a_src.txt > z_out.txt && cp a_src.txt a_out.txt
        deps: [z_src.txt, a_src.txt]
        params: [zeta.b, zeta.a]
        outs: [z_out.txt, a_out.txt]
      alpha:
        cmd: mkdir -p folder && cp z_out.txt folder/one.txt && cp a_src.txt folder/two.txt
        deps: [z_out.txt, a_src.txt]
        outs: [folder]
      mid:
        cmd: ls folder > mid.txt
        deps: [folder]
        outs: [mid.txt]
"""


def mixed_order(project: Project) -> Project:
    project.write("z_src.txt", "zzz\n")
    project.write("a_src.txt", "aaa\n")
    project.write(
        "params.yaml",
        """
        zeta:
          b: 2
          a: 1
    """,
    )
    project.write("pipeline.yaml", MIXED_ORDER)
    return project


def new_project(path) -> Project:
    path.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True)
    return Project(path)


# --- deterministic -------------------------------------------------------------------------


def without_durations(text: bytes) -> bytes:
    """The lock with its `duration:` lines left out: how long a first run took is not deterministic."""
    lines = text.splitlines(keepends=True)
    assert sum(line.startswith(b"    duration: ") for line in lines) == 3, text
    return b"".join(line for line in lines if not line.startswith(b"    duration: "))


def test_lock_is_byte_identical_across_two_fresh_repos(tmp_path):
    first = mixed_order(new_project(tmp_path / "one"))
    second = mixed_order(new_project(tmp_path / "two"))
    first.cli_ok("repro")
    second.cli_ok("repro", "-j", "2")
    assert without_durations((first.path / "pipeline.lock").read_bytes()) == without_durations(
        (second.path / "pipeline.lock").read_bytes()
    )


def test_lock_has_version_and_sorts_stages_deps_and_outs(project):
    mixed_order(project)
    project.cli_ok("repro")
    assert project.read("pipeline.lock").startswith("version: 1\n")
    lock = project.lock()
    assert lock["version"] == 1
    assert list(lock["stages"]) == ["alpha", "mid", "zeta"]
    zeta = lock["stages"]["zeta"]
    assert [d["path"] for d in zeta["deps"]] == ["a_src.txt", "z_src.txt"]
    assert [o["path"] for o in zeta["outs"]] == ["a_out.txt", "z_out.txt"]
    assert [d["path"] for d in lock["stages"]["alpha"]["deps"]] == ["a_src.txt", "z_out.txt"]
    assert lock["stages"]["alpha"]["outs"][0]["nfiles"] == 2
    assert lock["stages"]["zeta"]["params"] == {"params.yaml": {"zeta.a": 1, "zeta.b": 2}}


def test_an_unchanged_repro_does_not_rewrite_the_lock(project):
    mixed_order(project)
    project.cli_ok("repro")
    before = os.stat(project.path / "pipeline.lock")
    project.cli_ok("repro")
    after = os.stat(project.path / "pipeline.lock")
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


# --- atomic --------------------------------------------------------------------------------


def test_lock_is_replaced_by_rename_and_leaves_no_temp_files(project):
    mixed_order(project)
    project.cli_ok("repro")
    inode = os.stat(project.path / "pipeline.lock").st_ino
    project.write("z_src.txt", "changed\n")
    project.cli_ok("repro")
    assert os.stat(project.path / "pipeline.lock").st_ino != inode  # a new file renamed over it
    leftovers = [name for name in os.listdir(project.path) if name.startswith("pipeline.lock")]
    assert leftovers == ["pipeline.lock"]
    state = os.listdir(project.path / ".pipetool")
    assert not [name for name in state if ".tmp" in name or name.endswith(".journal")], state


# --- per-stage durability ------------------------------------------------------------------

SLOW_SECOND = """
    stages:
      first:
        cmd: cp src.txt one.txt
        deps: [src.txt]
        outs: [one.txt]
      second:
        cmd: echo $$ > {pidfile} && sleep "$PIPETOOL_TEST_SLEEP" && cat one.txt > two.txt
        deps: [one.txt]
        outs: [two.txt]
"""


def kill_during_second_stage(project: Project, pidfile) -> None:
    """Start `pipetool repro`, and kill -9 it once the (long) second stage has started."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipetool", "repro"],
        cwd=project.path,
        env={**os.environ, "PIPETOOL_TEST_SLEEP": "60"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stage_pid = None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if pidfile.exists() and pidfile.read_text().strip():
                stage_pid = int(pidfile.read_text())
                break
            time.sleep(0.05)
        assert stage_pid is not None, "the second stage never started"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if stage_pid is not None:  # the stage runs in its own process group; stop it too
            try:
                os.killpg(stage_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_killed_repro_keeps_the_finished_stage(project, tmp_path):
    pidfile = tmp_path / "second.pid"
    project.write("src.txt", "one\n")
    project.write("pipeline.yaml", SLOW_SECOND.format(pidfile=pidfile))
    kill_during_second_stage(project, pidfile)
    assert project.read("one.txt") == "one\n"
    stale = json.loads(project.cli_ok("status", "--json").stdout)
    assert "first" not in stale
    assert "second" in stale
    # and a new repro continues where the killed one stopped
    result = project.cli_ok("repro", env={"PIPETOOL_TEST_SLEEP": "0"})
    assert ran_stages(result.stdout) == ["second"]
    assert set(project.lock()["stages"]) == {"first", "second"}


def test_killed_repro_over_an_existing_lock_keeps_the_finished_stage(project, tmp_path):
    pidfile = tmp_path / "second.pid"
    project.write("src.txt", "one\n")
    project.write("pipeline.yaml", SLOW_SECOND.format(pidfile=pidfile))
    project.cli_ok("repro", env={"PIPETOOL_TEST_SLEEP": "0"})
    old_lock = project.lock()["stages"]
    pidfile.unlink()
    project.write("src.txt", "changed\n")  # both stages are stale now
    kill_during_second_stage(project, pidfile)
    assert project.read("one.txt") == "changed\n"
    assert project.lock()["stages"]["second"] == old_lock["second"]  # nothing recorded was lost
    stale = json.loads(project.cli_ok("status", "--json").stdout)
    assert "first" not in stale
    assert "second" in stale
    # a new repro runs only the interrupted stage
    result = project.cli_ok("repro", env={"PIPETOOL_TEST_SLEEP": "0"})
    assert ran_stages(result.stdout) == ["second"]
    new_lock = project.lock()["stages"]
    assert new_lock["first"] != old_lock["first"]
    assert project.read("two.txt") == "changed\n"


def test_two_killed_repros_in_a_row_keep_what_each_finished(project, tmp_path):
    """The second run replaces the first's journal: it must first write the replayed stage down."""
    pidfile = tmp_path / "second.pid"
    project.write("src.txt", "one\n")
    project.write("pipeline.yaml", SLOW_SECOND.format(pidfile=pidfile))
    kill_during_second_stage(project, pidfile)  # run 1: 'first' finished, only in the journal
    pidfile.unlink()
    kill_during_second_stage(project, pidfile)  # run 2: replays it, then is killed too
    assert "first" in project.lock()["stages"]
    stale = json.loads(project.cli_ok("status", "--json").stdout)
    assert list(stale) == ["second"]


# --- damaged locks -------------------------------------------------------------------------


def pair(project: Project) -> Project:
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: echo hi > a.txt
            outs: [a.txt]
          b:
            cmd: cat a.txt > b.txt
            deps: [a.txt]
            outs: [b.txt]
    """,
    )
    return project


def test_garbage_lock_is_a_clear_error_with_its_line(project):
    pair(project)
    project.write("pipeline.lock", "version: 1\nstages:\n  a: oops: this is not yaml\n")
    for command in (("status",), ("repro",)):
        result = project.cli_fails(*command)
        assert "pipeline.lock:3" in result.stderr, result.stderr
    assert not project.exists("a.txt")
    assert project.read("pipeline.lock").startswith("version: 1\nstages:\n  a: oops")


def test_force_ignores_a_garbage_lock_and_rewrites_it(project):
    pair(project)
    project.write("pipeline.lock", "version: 1\nstages:\n  a: oops: this is not yaml\n")
    result = project.cli_ok("repro", "-f")
    assert ran_stages(result.stdout) == ["a", "b"]
    assert set(project.lock()["stages"]) == {"a", "b"}
    assert "Data and pipelines are up to date." in project.cli_ok("status").stdout


def test_wrong_type_in_lock_names_the_line_and_stage(project):
    pair(project)
    project.cli_ok("repro")
    lines = project.read("pipeline.lock").splitlines(keepends=True)
    b_at = lines.index("  b:\n")
    size_at = next(i for i in range(b_at, len(lines)) if lines[i].strip().startswith("size:"))
    lines[size_at] = lines[size_at].split("size:")[0] + 'size: "big"\n'
    project.write("pipeline.lock", "".join(lines))
    result = project.cli_fails("status")
    assert f"pipeline.lock:{size_at + 1}" in result.stderr, result.stderr
    assert "stage 'b'" in result.stderr
    assert "size" in result.stderr


def test_a_damaged_copy_of_the_parsed_lock_is_not_trusted(project):
    """.pipetool keeps the parsed lock for speed; a copy that cannot be read is parsed afresh."""
    pair(project)
    project.cli_ok("repro")
    copy = project.path / ".pipetool" / "lock.cache"
    assert copy.exists()
    for damage in (b"", b"not a pickle at all", copy.read_bytes()[:40]):
        copy.write_bytes(damage)
        result = project.cli_ok("status")
        assert result.stdout == "Data and pipelines are up to date.\n"
        assert result.stderr == ""


def test_removed_stage_is_dropped_from_the_lock_on_next_repro(project):
    pair(project)
    project.cli_ok("repro")
    assert set(project.lock()["stages"]) == {"a", "b"}
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: echo hi > a.txt
            outs: [a.txt]
    """,
    )
    result = project.cli_ok("repro")
    assert ran_stages(result.stdout) == []
    assert set(project.lock()["stages"]) == {"a"}


# --- local state stays out of git ----------------------------------------------------------


def test_pipetool_state_folder_is_ignored_by_git(project):
    pair(project)
    project.cli_ok("repro")
    assert project.exists(".pipetool/.gitignore")
    assert len(os.listdir(project.path / ".pipetool")) > 1  # there is state to hide
    listed = project.git("status", "--porcelain", "--untracked-files=all").splitlines()
    in_state = [line[3:] for line in listed if line[3:].startswith(".pipetool")]
    assert in_state == [".pipetool/.gitignore"]  # only the ignore file itself, to commit
    project.git("add", ".pipetool/.gitignore")
    listed = project.git("status", "--porcelain", "--untracked-files=all").splitlines()
    assert [line for line in listed if ".pipetool" in line] == ["A  .pipetool/.gitignore"]
