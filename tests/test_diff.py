"""`pipetool diff`: tracked data added, deleted, modified, renamed and not in cache between two
revisions or a revision and the workspace, file by file inside tracked folders, through the CLI
in temporary git repositories (and the library's workspace side, for what it hashes)."""

from __future__ import annotations

import json
import os
import shutil

# `make` copies src/ into the tracked folder data/ and model.src into model.bin; `score` writes a
# cached metrics file and one kept in git, which is not tracked data.
PIPELINE = """
    stages:
      make:
        cmd: rm -rf data && cp -r src data && cp model.src model.bin
        deps: [src, model.src]
        outs: [data, model.bin]
      score:
        cmd: cp model.bin scores.json && cp model.src plain.json
        deps: [model.bin]
        metrics:
          - scores.json
          - plain.json: {cache: false}
"""


def commit(project, message: str) -> None:
    project.git("add", "-A")
    project.git("commit", "-q", "-m", message)


def built(project):
    """The pipeline with data/ of a.txt, b.txt, sub/c.txt, reproduced and committed."""
    project.write("src/a.txt", "alpha\n")
    project.write("src/b.txt", "bravo\n")
    project.write("src/sub/c.txt", "charlie\n")
    project.write("model.src", '{"model": 1}\n')
    project.write("pipeline.yaml", PIPELINE)
    project.cli_ok("repro")
    commit(project, "first data")
    return project


def edit_workspace(project) -> None:
    """One file modified, one renamed, one added inside data/, and model.bin modified."""
    project.write("data/a.txt", "alpha, longer now\n")
    os.rename(project.path / "data/b.txt", project.path / "data/b2.txt")
    project.write("data/new.txt", "new\n")
    project.write("model.bin", '{"model": 22}\n')


def test_head_against_workspace_lists_each_file_in_sections_with_sizes(project):
    built(project)
    assert project.cli_ok("diff").stdout == "No tracked data changed between HEAD and workspace.\n"
    edit_workspace(project)
    result = project.cli_ok("diff")
    assert result.stdout == (
        "Added:\n"
        "    data/new.txt  4 B\n"
        "\n"
        "Renamed:\n"
        "    data/b.txt -> data/b2.txt  6 B\n"
        "\n"
        "Modified:\n"
        "    data/       20 B in 3 files -> 36 B in 4 files\n"
        "    data/a.txt  6 B -> 18 B\n"
        "    model.bin   13 B -> 14 B\n"
        "\n"
        "files summary: 1 added, 0 deleted, 1 renamed, 2 modified, 0 not in cache\n"
    )
    assert result.stderr == ""


def test_two_revisions_as_json_with_hashes_sizes_and_the_cached_metric(project):
    built(project)
    project.write("src/sub/c.txt", "charlie two\n")
    os.remove(project.path / "src/a.txt")
    project.write("model.src", '{"model": 2}\n')
    project.cli_ok("repro")
    commit(project, "second data")
    lock_hashes = {out["path"]: out["xxh3"] for out in project.lock()["stages"]["make"]["outs"]}
    data = json.loads(project.cli_ok("diff", "HEAD~1", "HEAD", "--json").stdout)
    assert set(data) == {"added", "deleted", "renamed", "modified"}  # not in cache: workspace only
    assert data["added"] == [] and data["renamed"] == []
    assert [entry["path"] for entry in data["deleted"]] == ["data/a.txt"]
    assert data["deleted"][0]["size"] == 6 and len(data["deleted"][0]["hash"]) == 32
    modified = {entry["path"]: entry for entry in data["modified"]}
    assert sorted(modified) == ["data/", "data/sub/c.txt", "model.bin", "scores.json"]  # not plain.json
    assert modified["data/"]["hash"]["new"] == lock_hashes["data"]
    assert modified["data/"]["nfiles"] == {"old": 3, "new": 2}
    assert modified["data/sub/c.txt"]["size"] == {"old": 8, "new": 12}
    assert modified["model.bin"]["hash"]["new"] == lock_hashes["model.bin"]


def test_markdown_table_with_hashes(project):
    built(project)
    project.write("model.bin", '{"model": 22}\n')
    lines = project.cli_ok("diff", "--md", "--show-hash").stdout.splitlines()
    assert [cell.strip() for cell in lines[0].split("|")] == ["", "Status", "Path", "Size", "Hash", ""]
    assert lines[1].startswith("|---")
    cells = [cell.strip() for cell in lines[2].split("|")[1:-1]]
    assert cells[:3] == ["modified", "model.bin", "13 B -> 14 B"]
    old, new = cells[3].split("..")
    assert len(old) == len(new) == 8 and old != new
    assert len(lines) == 3


def test_targets_keep_the_named_paths_and_refuse_untracked_ones(project):
    built(project)
    edit_workspace(project)
    result = project.cli_ok("diff", "--targets", "data/a.txt")
    assert "data/a.txt  6 B -> 18 B" in result.stdout
    assert "model.bin" not in result.stdout and "new.txt" not in result.stdout
    assert "files summary: 0 added, 0 deleted, 0 renamed, 1 modified" in result.stdout
    # from a subfolder, paths are relative to it
    inside = project.cli_ok("diff", "--targets", "a.txt", cwd=project.path / "data")
    assert inside.stdout == result.stdout
    result = project.cli_fails("diff", "--targets", "src/a.txt")
    assert "'src/a.txt' is no tracked data at HEAD or workspace" in result.stderr


def test_renamed_needs_the_same_bytes(project):
    built(project)
    os.rename(project.path / "data/b.txt", project.path / "data/b2.txt")
    project.write("data/b2.txt", "bravo, edited\n")
    result = project.cli_ok("diff")
    assert "Added:\n    data/b2.txt  14 B\n" in result.stdout
    assert "Deleted:\n    data/b.txt  6 B\n" in result.stdout
    assert "Renamed" not in result.stdout


def test_data_missing_from_workspace_and_cache_is_not_in_cache_and_can_be_hidden(project):
    built(project)
    shutil.rmtree(project.path / "data")
    os.remove(project.path / "model.bin")
    shutil.rmtree(project.path / ".pipetool" / "cache")  # a fresh clone that never pulled
    result = project.cli_ok("diff")
    assert result.stdout == (
        "Not in cache:\n"
        "    data/      20 B in 3 files\n"
        "    model.bin  13 B\n"
        "\n"
        "files summary: 0 added, 0 deleted, 0 renamed, 0 modified, 1 not in cache\n"
    )  # scores.json is still in the workspace, as HEAD has it
    assert result.stderr == ""  # no manifest is asked for: nothing to compare it with
    assert project.cli_ok("diff", "--hide-missing").stdout == ("No tracked data changed between HEAD and workspace.\n")
    assert "not in cache" not in json.loads(project.cli_ok("diff", "--json", "--hide-missing").stdout)


def test_deleted_data_that_the_cache_keeps_is_deleted(project):
    built(project)
    os.remove(project.path / "model.bin")
    result = project.cli_ok("diff")
    assert result.stdout.startswith("Deleted:\n    model.bin  13 B\n")


def test_a_manifest_the_cache_lacks_is_named_not_guessed(project):
    built(project)
    old_dir = project.lock()["stages"]["make"]["outs"][0]["xxh3"]
    project.write("src/b.txt", "bravo two\n")
    project.cli_ok("repro")
    commit(project, "second data")
    manifest = project.path / ".pipetool" / "cache" / old_dir[:2] / old_dir[2:]
    os.remove(manifest)
    result = project.cli_ok("diff", "HEAD~1", "HEAD")
    assert result.stdout.startswith("Modified:\n    data/  20 B in 3 files -> 24 B in 3 files\n")
    assert "data/b.txt" not in result.stdout  # the files of the old side are unknown
    assert f"warning: data/ at HEAD~1: its files are not compared: the cache lacks its manifest {old_dir}" in (
        result.stderr
    )
    assert "pipetool fetch" in result.stderr


def test_the_workspace_side_rereads_no_file_the_state_db_knows(project):
    from pipetool.engine.workspace import open_workspace
    from pipetool.pipeline.project import find
    from pipetool.revisions.datadiff import workspace_side

    built(project)
    past = os.stat(project.path / "model.bin").st_mtime - 10  # out of the state db's racy second
    for folder, _, names in os.walk(project.path / "data"):
        for name in names:
            os.utime(os.path.join(folder, name), (past, past))
    os.utime(project.path / "model.bin", (past, past))
    os.utime(project.path / "scores.json", (past, past))
    tallies = []
    for _ in range(2):
        ws = open_workspace(find(str(project.path)))
        try:
            side = workspace_side("workspace", ws.graph.stages, ws.locks.read(), ws.hasher, ws.cache)
        finally:
            ws.close()
        tallies.append(ws.hasher.tally.files)
        assert sorted(side.outs) == ["data", "model.bin", "scores.json"]
        assert side.outs["data"].nfiles == 3
    assert tallies[1] == 0  # the second diff read nothing: every hash came from the state db


def test_a_control_character_in_a_file_name_is_shown_escaped(project):
    built(project)
    project.write("data/bad\x1b[2Jname.txt", "x\n")
    result = project.cli_ok("diff")
    assert "\x1b" not in result.stdout
    assert "    data/bad\\x1b[2Jname.txt  2 B\n" in result.stdout
    assert json.loads(project.cli_ok("diff", "--json").stdout)["added"][0]["path"] == "data/bad\x1b[2Jname.txt"


def test_targets_before_the_revisions_end_with_a_double_dash(project):
    built(project)
    project.write("src/a.txt", "alpha two\n")
    project.write("model.src", "other model\n")
    project.cli_ok("repro")
    commit(project, "second data")
    result = project.cli_ok("diff", "--targets", "model.bin", "--", "HEAD~1", "HEAD")
    assert result.stdout.startswith("Modified:\n    model.bin  13 B -> 12 B\n")
    assert "data/" not in result.stdout


def test_a_revision_from_before_the_pipeline_has_no_tracked_data(project):
    project.write("README", "nothing tracked yet\n")
    commit(project, "start")
    built(project)
    result = project.cli_ok("diff", "HEAD~1")
    assert result.stdout == (
        "Added:\n"
        "    data/           20 B in 3 files\n"
        "    data/a.txt      6 B\n"
        "    data/b.txt      6 B\n"
        "    data/sub/c.txt  8 B\n"
        "    model.bin       13 B\n"
        "    scores.json     13 B\n"
        "\n"
        "files summary: 5 added, 0 deleted, 0 renamed, 0 modified, 0 not in cache\n"
    )
