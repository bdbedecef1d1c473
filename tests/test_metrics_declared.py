"""The metrics files each revision declares, kept in .pipetool/declared.cache between commands
(revisions/declared.py): an answer is reused only for the same reads, and a cache file this
user's pipetool did not write, or of another form, is never believed."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

from conftest import CLI_ENV, Project

from pipetool.files import trusted_cache

PIPELINE = """
    stages:
      train:
        cmd: python -c pass
        metrics:
          - ${file}
"""
CACHE = ".pipetool/declared.cache"


def interpolated(project: Project) -> Project:
    """A stage whose metrics file params.yaml names: a.json at HEAD, b.json in the workspace."""
    project.write("pipeline.yaml", PIPELINE)
    project.write("params.yaml", "file: a.json\n")
    project.write("a.json", '{"acc": 1}')
    project.write("b.json", '{"acc": 2}')
    (project.path / ".pipetool").mkdir()
    project.write(".pipetool/.gitignore", "*\n!.gitignore\n")
    project.git("add", "-A")
    project.git("commit", "-q", "-m", "a")
    project.write("params.yaml", "file: b.json\n")
    return project


def diff_json(project: Project) -> dict:
    return json.loads(project.cli_ok("metrics", "diff", "HEAD", "--json").stdout)


EXPECTED = {"a.json": {"acc": {"old": 1, "new": None}}, "b.json": {"acc": {"old": None, "new": 2}}}


def test_each_answer_is_kept_for_the_reads_it_came_from(project):
    interpolated(project)
    assert diff_json(project) == EXPECTED
    assert project.exists(CACHE)
    assert diff_json(project) == EXPECTED  # from the kept answers
    project.write("params.yaml", "file: a.json\n")  # same pipeline.yaml, another params.yaml
    assert project.cli_ok("metrics", "diff", "HEAD").stdout == "No metric changed between HEAD and workspace.\n"
    project.write("params.yaml", "file: b.json\n")
    assert diff_json(project) == EXPECTED
    shown = json.loads(project.cli_ok("metrics", "show", "HEAD", "--json").stdout)
    assert shown == {"HEAD": {"a.json": {"acc": 1}}}


def test_a_damaged_cache_is_ignored_and_written_afresh(project):
    interpolated(project)
    project.write(CACHE, "not a cache at all")
    assert diff_json(project) == EXPECTED
    assert (project.path / CACHE).read_bytes() != b"not a cache at all"
    (project.path / CACHE).write_bytes((project.path / CACHE).read_bytes()[:-7])  # cut short
    assert diff_json(project) == EXPECTED


def test_a_forged_cache_is_never_believed_nor_unpickled(project, tmp_path):
    """A clone can commit .pipetool/declared.cache (git add -f): its answers name other files,
    and its pickle may run code when loaded. Without this user's tag it is not read."""
    interpolated(project)
    assert diff_json(project) == EXPECTED
    genuine = (project.path / CACHE).read_bytes()
    assert genuine.count(b"a.json") == 1
    (project.path / CACHE).write_bytes(genuine.replace(b"a.json", b"x.json"))  # same length, tag kept
    assert diff_json(project) == EXPECTED

    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    header = genuine.split(b"\n", 1)[0] + b"\n"
    (project.path / CACHE).write_bytes(genuine[: len(header) + 32] + pickle.dumps([Payload()]))
    assert diff_json(project) == EXPECTED
    assert not marker.exists()


def test_a_cache_of_another_form_is_ignored(project):
    """Tagged by this user's pipetool, but not the form this pipetool writes (an older one's)."""
    interpolated(project)
    path = str(project.path / CACHE)
    for value in (
        {"a.json": ["x.json"]},
        [("entry",)],
        [((("declared", 1),), ("x.json",))],
        [(((1, str(project.path), ("pipeline.yaml",)), ("read_text", "pipeline.yaml", 7)), ("x.json",))],
    ):
        trusted_cache.save(path, "declared.cache", value)
        assert diff_json(project) == EXPECTED, value


def test_an_answer_taken_from_the_cache_parses_no_yaml(project):
    """What makes `metrics diff` fast: with every answer kept, neither the YAML parser nor the
    pipeline loader is imported (a real process: the import list is the process's own)."""
    interpolated(project)
    project.cli_ok("metrics", "diff", "HEAD")
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pipetool", "metrics", "diff", "HEAD"],
        cwd=project.path,
        env=CLI_ENV,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "a.json" in run.stdout and "b.json" in run.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if "|" in line}
    assert "pipetool.revisions.declared" in imported
    assert not imported & {"yaml", "pipetool.pipeline.spec", "pipetool.revisions.toplevel"}
    assert "csv" not in imported  # imported where CSV is read or written
