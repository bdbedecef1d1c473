"""`pipetool commit`: stages recorded as they are now, without running them; the outs cached as
after a run; checks first, and a question (or -f) before a changed stage is written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from conftest import CLI_ENV, ran_stages, remade_stages

UP_TO_DATE = "Data and pipelines are up to date.\n"

# a -> b, and c on its own
PIPELINE = """
    stages:
      a:
        cmd: cat src.txt > a.txt
        deps: [src.txt]
        outs: [a.txt]
      b:
        cmd: cat a.txt > b.txt
        deps: [a.txt]
        outs: [b.txt]
      c:
        cmd: cat other.txt > c.txt
        deps: [other.txt]
        params: [lr]
        outs: [c.txt]
"""


def built(project):
    project.write("src.txt", "src\n")
    project.write("other.txt", "other\n")
    project.write("params.yaml", "lr: 0.1\n")
    project.write("pipeline.yaml", PIPELINE)
    assert ran_stages(project.cli_ok("repro").stdout) == ["a", "b", "c"]
    return project


def test_commit_records_a_stage_run_by_hand_and_caches_its_out(project):
    built(project)
    project.write("src.txt", "new src\n")
    project.write("a.txt", "made by hand\n")  # the user ran (their own version of) the command
    result = project.cli_ok("commit", "-f", "a")
    assert result.stdout == "Committed stage 'a': changed deps: modified src.txt; changed outs: modified a.txt\n"
    lock = project.lock()["stages"]["a"]
    assert "duration" not in lock  # pipetool did not time the command
    status = project.cli_ok("status").stdout
    assert "a:" not in status and "b:\n    changed deps: modified a.txt" in status
    # the out is in the cache: checkout brings the committed bytes back
    os.remove(project.path / "a.txt")
    project.cli_ok("checkout", "a.txt")
    assert project.read("a.txt") == "made by hand\n"
    # and in the run-cache: after another run, going back to those inputs restores it
    project.write("src.txt", "third\n")
    assert ran_stages(project.cli_ok("repro", "a").stdout) == ["a"]
    project.write("src.txt", "new src\n")
    assert remade_stages(project.cli_ok("repro", "a").stdout) == ["a"]
    assert project.read("a.txt") == "made by hand\n"
    assert project.lock()["stages"]["a"] == lock


def test_commit_without_targets_records_every_changed_stage_and_leaves_the_rest_byte_for_byte(project):
    built(project)
    before = project.lock()["stages"]["b"]
    project.write("other.txt", "other, reformatted\n")
    project.write("params.yaml", "lr: 0.2\n")
    result = project.cli_ok("commit", "-f")
    assert result.stdout == ("Committed stage 'c': changed deps: modified other.txt; changed params: lr 0.1 -> 0.2\n")
    assert project.cli_ok("status").stdout == UP_TO_DATE
    assert project.lock()["stages"]["b"] == before  # duration included
    assert project.lock()["stages"]["c"]["params"] == {"params.yaml": {"lr": 0.2}}
    assert project.cli_ok("commit").stdout == "Nothing to commit: pipeline.lock records the stages as they are.\n"
    assert ran_stages(project.cli_ok("repro").stdout) == []


def test_commit_of_a_new_stage_ignores_its_out_in_git_and_with_deps_takes_the_upstream(project):
    project.write("src.txt", "src\n")
    project.write("other.txt", "other\n")
    project.write("params.yaml", "lr: 0.1\n")
    project.write("pipeline.yaml", PIPELINE)
    for name, text in (("a.txt", "A\n"), ("b.txt", "B\n")):
        project.write(name, text)
    result = project.cli_ok("commit", "-f", "-d", "b")
    assert result.stdout == "Committed stage 'a': new stage\nCommitted stage 'b': new stage\n"
    assert sorted(project.lock()["stages"]) == ["a", "b"]
    assert project.read(".gitignore").splitlines() == ["/a.txt", "/b.txt"]
    assert "c:\n    new stage" in project.cli_ok("status").stdout
    assert ran_stages(project.cli_ok("repro").stdout) == ["c"]  # a and b are taken as recorded
    assert project.read("b.txt") == "B\n"


def test_missing_out_is_one_line_naming_stage_and_out_and_writes_nothing(project):
    built(project)
    project.write("src.txt", "changed\n")
    os.remove(project.path / "a.txt")
    lock = project.read("pipeline.lock")
    result = project.cli_fails("commit", "-f")
    assert result.stderr.splitlines() == [
        "error: stage 'a': out 'a.txt' does not exist, so it cannot be committed (run the stage's command first, "
        "or 'pipetool repro a'; pipeline.lock was not changed)"
    ]
    assert project.read("pipeline.lock") == lock
    assert not project.exists(".pipetool/lock.journal")
    result = project.cli_fails("commit", "-f", "nope")
    assert "unknown target 'nope'" in result.stderr
    # outs that cannot be stored in the cache: one line, and the stage keeps its old entry
    project.write("a.txt", "changed\n")
    shutil.rmtree(project.path / ".pipetool" / "cache")
    (project.path / ".pipetool" / "cache").write_text("not a folder\n")
    result = project.cli_fails("commit", "-f", "a")
    assert result.stderr.startswith("error: stage 'a': could not store its outs in the cache: ")
    assert len(result.stderr.splitlines()) == 1
    assert project.read("pipeline.lock") == lock


def test_without_a_terminal_commit_needs_force_and_writes_nothing(project):
    built(project)
    project.write("src.txt", "changed\n")
    project.write("a.txt", "changed\n")
    lock = project.read("pipeline.lock")
    result = project.cli_fails("commit", "a.txt")  # targets as repro takes them: an out path names its stage
    assert result.stderr == (
        "error: 1 stage(s) changed (a) and there is no terminal to confirm the commit on "
        "(run 'pipetool commit -f' to commit without being asked; pipeline.lock was not changed)\n"
    )
    assert project.read("pipeline.lock") == lock
    # -f on a named stage already recorded as it is: its outs go into the cache again, the entry stays
    assert project.cli_ok("commit", "-f", "a").stdout.startswith("Committed stage 'a'")
    lock = project.read("pipeline.lock")
    shutil.rmtree(project.path / ".pipetool" / "cache")
    result = project.cli_ok("commit", "-f", "a")
    assert result.stdout == "Committed stage 'a': already recorded as it is; its outs stored in the cache again\n"
    assert project.read("pipeline.lock") == lock
    os.remove(project.path / "a.txt")
    assert project.cli_ok("checkout", "a").stdout == "restored a.txt\n"
    assert project.read("a.txt") == "changed\n"


def test_on_a_terminal_commit_asks_per_changed_stage(project):
    """A real process on a pseudo-terminal: 'n' writes nothing, 'y' commits."""
    import pty

    built(project)
    project.write("src.txt", "changed\n")
    project.write("a.txt", "changed\n")
    lock = project.read("pipeline.lock")

    def answer(text: str) -> tuple[int, str]:
        main, terminal = pty.openpty()
        os.write(main, text.encode())
        done = subprocess.run(
            [sys.executable, "-m", "pipetool", "commit", "a"],
            cwd=project.path,
            env=CLI_ENV,
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=60,
        )
        os.close(main)
        os.close(terminal)
        return done.returncode, done.stdout + done.stderr

    code, output = answer("n\n")
    assert code == 1, output
    assert (
        "Stage 'a': changed deps: modified src.txt; changed outs: modified a.txt. "
        "Are you sure you want to commit it? [y/N]" in output
    )
    assert "error: not committed: stage 'a' was refused" in output
    assert project.read("pipeline.lock") == lock
    code, output = answer("y\n")
    assert code == 0, output
    assert "Committed stage 'a'" in output
    assert project.read("pipeline.lock") != lock
    assert "a:" not in project.cli_ok("status").stdout
