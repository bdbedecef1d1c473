"""What a command reads and writes of .pipetool's kept copies: a repro of one folder's stage in a
monorepo does not rewrite the copies of every folder (the parsed locks, the kept walk), and a
status whose compiled pipeline is unchanged reads neither the compiler nor what only a recompile
reuses."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import CLI_ENV, ran_stages

UP_TO_DATE = "Data and pipelines are up to date.\n"
STAGE = "stages:\n  copy:\n    cmd: cp in.txt out.txt\n    deps: [in.txt]\n    outs: [out.txt]\n"
FOLDERS = [f"p{index:02d}" for index in range(18)]  # more than lock.py's _FEW_RESTAMPS


def monorepo(project) -> None:
    """Eighteen folders of one stage each, all up to date, with the kept copies of a status."""
    project.write("pipeline.yaml", STAGE)
    project.write("in.txt", "root\n")
    for folder in FOLDERS:
        project.write(f"{folder}/pipeline.yaml", STAGE)
        project.write(f"{folder}/in.txt", f"{folder}\n")
    assert len(ran_stages(project.cli_ok("repro", "--all-pipelines").stdout)) == len(FOLDERS) + 1
    assert project.cli_ok("status").stdout == UP_TO_DATE


def kept(project, name: str) -> bytes | None:
    path = project.path / ".pipetool" / name
    return path.read_bytes() if path.exists() else None


def counting_parses(monkeypatch) -> list[str]:
    """The locks parsed (YAML to entries) from here on, by name."""
    from pipetool.storage import lock

    parsed: list[str] = []
    parse = lock.parse

    def counted(text, display, *rest):
        parsed.append(display)
        return parse(text, display, *rest)

    monkeypatch.setattr(lock, "parse", counted)
    return parsed


def test_a_repro_of_one_folder_keeps_its_lock_parse_apart_until_many_changed(project, monkeypatch):
    monorepo(project)
    shelf = kept(project, "lock.cache")
    assert shelf is not None and kept(project, "lock.recent") is None

    project.write("p00/in.txt", "new\n")
    assert ran_stages(project.cli_ok("repro", "p00/pipeline.yaml").stdout) == ["p00/pipeline.yaml:copy"]

    # The new parse of p00's lock went to the small file; the copies of every lock are as they were.
    assert kept(project, "lock.cache") == shelf
    assert kept(project, "lock.recent") is not None
    parsed = counting_parses(monkeypatch)
    assert project.cli_ok("status").stdout == UP_TO_DATE
    assert parsed == []  # p00's lock from lock.recent, the others from lock.cache
    # A command on that folder alone reads the small file alone: lock.cache is not even opened.
    from pipetool.files import trusted_cache

    opened: list[str] = []
    shelf_class = trusted_cache.Shelf
    monkeypatch.setattr(trusted_cache, "Shelf", lambda path, *rest: opened.append(path) or shelf_class(path, *rest))
    assert project.cli_ok("status", "p00/pipeline.yaml").stdout == UP_TO_DATE
    assert parsed == [] and not any(path.endswith("lock.cache") for path in opened)
    project.write("p00/in.txt", "newer\n")
    assert project.cli_ok("status").stdout == "p00/pipeline.yaml:copy:\n    changed deps: modified p00/in.txt\n"

    # Every folder changed: too many for the small file, so the whole copy is written again.
    for folder in FOLDERS:
        project.write(f"{folder}/in.txt", f"{folder} again\n")
    assert len(ran_stages(project.cli_ok("repro", "--all-pipelines").stdout)) == len(FOLDERS)
    assert kept(project, "lock.cache") != shelf
    assert kept(project, "lock.recent") is None
    assert project.cli_ok("status").stdout == UP_TO_DATE
    assert parsed == []
    assert project.read("p17/out.txt") == "p17 again\n"


def test_a_kept_parse_of_older_bytes_is_never_used(project):
    """lock.recent is read first, but like lock.cache only for the lock's bytes it was made from."""
    monorepo(project)
    project.write("p00/in.txt", "new\n")
    project.cli_ok("repro", "p00/pipeline.yaml")
    assert kept(project, "lock.recent") is not None
    lock = project.read("p00/pipeline.lock")
    project.write("p00/pipeline.lock", lock.replace("path: out.txt", "path: out.txx"))
    assert project.cli_ok("status").stdout == (
        "p00/pipeline.yaml:copy:\n    changed outs: added p00/out.txt\n    changed outs: removed p00/out.txx\n"
    )
    project.write("p00/pipeline.lock", lock)
    assert project.cli_ok("status").stdout == UP_TO_DATE


def test_the_kept_walk_is_not_rewritten_when_only_a_folders_time_moved(project):
    monorepo(project)
    past = 1_600_000_000
    for folder in [project.path, *(p for p in project.path.rglob("*") if p.is_dir() and ".git" not in p.parts)]:
        os.utime(folder, (past, past))
    assert project.cli_ok("status").stdout == UP_TO_DATE  # walks every folder, and keeps the walk
    walk = kept(project, "pipelines.cache")
    assert walk is not None

    project.write("p03/in.txt", "new\n")
    project.cli_ok("repro", "p03/pipeline.yaml")  # its lock rewritten: p03's time moves
    assert project.cli_ok("status").stdout == UP_TO_DATE
    assert kept(project, "pipelines.cache") == walk

    # A pipeline file added where only times had moved is seen, and the walk is kept anew.
    project.write("p03/more/pipeline.yaml", "stages:\n  more:\n    cmd: echo x > x.txt\n    outs: [x.txt]\n")
    assert project.cli_ok("status").stdout == "p03/more/pipeline.yaml:more:\n    new stage\n"
    assert kept(project, "pipelines.cache") != walk


def test_a_big_folder_listed_again_is_kept_once_its_time_can_be_trusted(project, monkeypatch):
    """A tracked data folder of thousands of files, listed while it was new (its time not yet
    trusted), is listed again by the walk after; once its time is trusted, the walk is kept, and
    the next command lists it no more, though its listing did not change."""
    project.write("pipeline.yaml", STAGE)
    project.write("in.txt", "in\n")
    for index in range(600):
        project.write(f"data/{index:04d}.bin", f"{index}\n")
    project.cli_ok("repro")  # walks while data/ is new: its time is not trusted yet
    past = 1_600_000_000
    os.utime(project.path / "data", (past, past))  # as the folder is two seconds later
    os.utime(project.path, (past, past))
    assert project.cli_ok("status").stdout == UP_TO_DATE  # lists data/ again, and keeps the walk
    listed: list[str] = []
    scandir = os.scandir

    def counted(path="."):
        listed.append(os.fspath(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", counted)
    assert project.cli_ok("status").stdout == UP_TO_DATE
    assert not [path for path in listed if path.rstrip("/").endswith("data")]


def test_a_status_from_the_compiled_pipeline_needs_neither_the_compiler_nor_its_builds(project):
    project.write("params.yaml", "a: 1\nb: 2\n")
    project.write(
        "pipeline.yaml",
        "stages:\n  one:\n    cmd: echo ${a} > one.txt\n    outs: [one.txt]\n"
        "  two:\n    cmd: echo ${b} > two.txt\n    outs: [two.txt]\n",
    )
    project.cli_ok("repro")
    from pipetool.files import trusted_cache

    compiled = trusted_cache.load(str(project.path / ".pipetool" / "spec.cache"), "spec.cache")
    assert compiled is not None and "builds" not in compiled and set(compiled["graph"].index) == {"one", "two"}
    builds = trusted_cache.load(str(project.path / ".pipetool" / "spec.builds"), "spec.builds")
    assert builds is not None and builds["key"] == compiled["key"]

    code = (
        "import sys; from pipetool.cli import main\n"
        "try: main(['status'])\nexcept SystemExit: pass\n"
        "print('compiler loaded:', 'pipetool.pipeline.spec' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=project.path, env=CLI_ENV, capture_output=True, text=True)
    assert done.stdout == UP_TO_DATE + "compiler loaded: False\n", done.stderr


def test_a_recompile_takes_the_unchanged_stages_from_the_kept_builds(project, monkeypatch):
    project.write("params.yaml", "a: 1\nb: 2\n")
    project.write(
        "pipeline.yaml",
        "stages:\n  one:\n    cmd: echo ${a} > one.txt\n    outs: [one.txt]\n"
        "  two:\n    cmd: echo ${b} > two.txt\n    outs: [two.txt]\n",
    )
    project.cli_ok("repro")
    from pipetool.pipeline import spec

    taken: list[str] = []
    reusable = spec.Builds.reusable

    def counted(self, name, context):
        found = reusable(self, name, context)
        if found is not None:
            taken.append(name)
        return found

    monkeypatch.setattr(spec.Builds, "reusable", counted)
    project.write("params.yaml", "a: 1\nb: 3\n")
    assert ran_stages(project.cli_ok("repro").stdout) == ["two"]
    assert taken == ["one"]
    assert project.read("two.txt") == "3\n"

    # Without the kept builds (gone, or not this user's), every stage is built afresh, the same.
    (project.path / ".pipetool" / "spec.builds").write_bytes(b"not a tagged copy")
    project.write("params.yaml", "a: 1\nb: 4\n")
    taken.clear()
    assert ran_stages(project.cli_ok("repro").stdout) == ["two"]
    assert taken == []
    assert project.read("two.txt") == "4\n"


def test_a_params_file_that_appears_where_none_was_is_read(project):
    """Each folder's params.yaml is looked for when its pipeline file is compiled; the compiled
    pipeline keeps that it was missing, and one that appears later counts as a change."""
    project.write("p00/v.yaml", "msg: hello\n")
    say = "stages:\n  say:\n    cmd: echo ${msg} > said.txt\n    outs: [said.txt]\n"
    project.write("p00/pipeline.yaml", "vars: [v.yaml]\n" + say)
    project.write("pipeline.yaml", STAGE)
    project.write("in.txt", "root\n")
    project.cli_ok("repro", "--all-pipelines")
    assert project.cli_ok("status").stdout == UP_TO_DATE
    assert project.cli_ok("status").stdout == UP_TO_DATE  # the compiled pipeline, params.yaml still missing

    project.write("p00/params.yaml", "msg: bye\n")
    assert project.cli_fails("status").stderr == (
        "error: p00/pipeline.yaml:1: var 'msg' is defined twice: "
        "cannot redefine 'msg' from 'p00/v.yaml' as it already exists in 'params.yaml'\n"
    )


def test_the_stale_statuses_alone_are_the_stale_ones_of_all_in_the_same_order(project):
    """`status` asks for the stale stages alone (no record is made for each up-to-date one of
    10,000); they are those of the full list, in its order, with the same reasons."""
    from pipetool.engine.status import status
    from pipetool.engine.workspace import open_workspace
    from pipetool.pipeline.project import Project

    project.write("in.txt", "x\n")
    project.write(
        "pipeline.yaml",
        "stages:\n  copy:\n    foreach: [a, b, c, d]\n    do:\n      cmd: cp in.txt ${item}.txt\n"
        "      deps: [in.txt]\n      outs:\n        - ${item}.txt\n"
        "  last:\n    cmd: cat a.txt b.txt > last.txt\n    deps: [a.txt, b.txt]\n    outs: [last.txt]\n",
    )
    project.cli_ok("repro")
    (project.path / "b.txt").unlink()
    project.write("last.txt", "changed\n")
    ws = open_workspace(Project(str(project.path)))
    try:
        every = status(ws)
        stale = status(ws, stale_only=True)
    finally:
        ws.close()
    assert [s.name for s in every] == ["copy@a", "copy@b", "copy@c", "copy@d", "last"]
    assert stale == [s for s in every if s.stale]
    assert [(s.name, [str(r) for r in s.reasons]) for s in stale] == [
        ("copy@b", ["changed outs: deleted b.txt"]),
        ("last", ["changed deps: deleted b.txt", "changed outs: modified last.txt"]),
    ]
