"""A file the compiled pipeline looked for and did not find (each folder's params.yaml) is known
to be still missing, without a stat, while its folder's time is the one the walk saw; a file
added there moves the folder's time and is seen."""

from __future__ import annotations

import os
import time

UP_TO_DATE = "Data and pipelines are up to date.\n"
STAGE = "stages:\n  hello:\n    cmd: echo ${greeting} > out.txt\n    vars:\n      - greeting: hi\n    outs: [out.txt]\n"
COPY_STAGE = "stages:\n  copy:\n    cmd: cp in.txt out.txt\n    deps: [in.txt]\n    outs: [out.txt]\n"


def age_folders(project, *folders: str) -> None:
    """Folder times older than the walk's two seconds of doubt, as a folder left alone has."""
    past = time.time_ns() - 60 * 10**9
    for folder in folders:
        os.utime(project.path / folder, ns=(past, past))


def counting_stats(monkeypatch, name: str) -> list[str]:
    """The lstat calls on paths ending in name, from here on."""
    calls: list[str] = []
    lstat = os.lstat

    def counted(path, *args, **kwargs):
        if os.fspath(path).endswith(name):
            calls.append(os.fspath(path))
        return lstat(path, *args, **kwargs)

    monkeypatch.setattr(os, "lstat", counted)
    return calls


def test_a_missing_params_file_costs_no_stat_until_its_folder_changes(project, monkeypatch):
    project.write("pipeline.yaml", "stages:\n  root:\n    cmd: echo r > r.txt\n    outs: [r.txt]\n")
    project.write("sub/pipeline.yaml", STAGE)
    project.cli_ok("repro", "--all-pipelines")
    age_folders(project, ".", "sub")
    assert project.cli_ok("status").stdout == UP_TO_DATE  # compiled afresh? kept with sub's time
    stats = counting_stats(monkeypatch, "sub/params.yaml")
    assert project.cli_ok("status").stdout == UP_TO_DATE
    assert stats == []

    # Added: sub's time moves, the file is looked at and read, and its value is there.
    project.write("sub/params.yaml", "greeting: bye\n")
    failed = project.cli_fails("status")
    assert "var 'greeting' is defined twice" in failed.stderr
    assert stats

    # Gone again, in a folder whose time is old once more: the kept answer is a missing file.
    (project.path / "sub/params.yaml").unlink()
    age_folders(project, "sub")
    assert project.cli_ok("status").stdout == UP_TO_DATE
    stats.clear()
    assert project.cli_ok("status").stdout == UP_TO_DATE
    assert stats == []


def test_the_root_folder_vouches_for_its_own_missing_params_file(project, monkeypatch):
    project.write("pipeline.yaml", STAGE)
    (project.path / "params.yaml").unlink(missing_ok=True)
    project.cli_ok("repro")
    age_folders(project, ".")
    assert project.cli_ok("status").stdout == UP_TO_DATE
    stats = counting_stats(monkeypatch, "/params.yaml")
    assert project.cli_ok("status").stdout == UP_TO_DATE
    assert stats == []
    project.write("params.yaml", "greeting: bye\n")
    assert "var 'greeting' is defined twice" in project.cli_fails("status").stderr


def test_a_repro_writing_into_a_folder_does_not_rewrite_the_compiled_pipeline(project):
    """A stage that wrote its out moved its folder's time, within the walk's two seconds of doubt:
    the folder's params.yaml is looked for again (one stat) rather than the compiled stages of
    every pipeline file rewritten for a time the next command could not trust either."""
    project.write("pipeline.yaml", "stages:\n  root:\n    cmd: echo r > r.txt\n    outs: [r.txt]\n")
    project.write("sub/pipeline.yaml", COPY_STAGE)
    project.write("sub/in.txt", "one\n")
    project.cli_ok("repro", "--all-pipelines")
    age_folders(project, ".", "sub")
    assert project.cli_ok("status").stdout == UP_TO_DATE
    compiled = project.path / ".pipetool" / "spec.cache"
    before = compiled.stat()
    project.write("sub/in.txt", "two\n")
    project.cli_ok("repro", "sub/pipeline.yaml")
    assert project.read("sub/out.txt") == "two\n"
    assert project.cli_ok("status").stdout == UP_TO_DATE
    after = compiled.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
