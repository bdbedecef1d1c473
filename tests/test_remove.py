"""`pipetool remove` and `pipetool stage list`: stages leave their pipeline file (the rest of it as
the user wrote it), their lock entries and .gitignore lines; pointer files of tracked data go
with their .gitignore line; the workspace files stay unless --outs."""

from __future__ import annotations

import json
import os

from conftest import ran_stages

PIPELINE = """\
# Our pipeline. Keep this comment!
stages:
  prepare:                        # makes the split
    desc: Split the raw data
    cmd: cat raw.txt > prepared.txt
    deps: [raw.txt]
    outs:
      - prepared.txt

  # training comes next
  train:
    cmd: cat prepared.txt > model.txt && echo {} > scores.json   # keys in the user's order
    deps: [prepared.txt]
    outs: [model.txt]
    metrics:
      - scores.json: {cache: false}

  # one per model
  grid:
    foreach: [a, b]
    do:
      cmd: echo ${item} > grid-${item}.txt
      outs:
        - grid-${item}.txt

# the end
"""


def built(project):
    project.write("raw.txt", "raw\n")
    project.write("pipeline.yaml", PIPELINE)
    assert ran_stages(project.cli_ok("repro").stdout) == ["prepare", "train", "grid@a", "grid@b"]
    return project


def test_remove_stage_keeps_the_rest_of_the_file_and_its_outs_unless_asked(project):
    built(project)
    before = project.read("pipeline.yaml")
    result = project.cli_ok("remove", "train")
    assert result.stdout == (
        "Removed stage 'train' from pipeline.yaml\n"
        "Kept in the workspace: model.txt, scores.json (use --outs to delete)\n"
    )
    start = before.index("  # training comes next")
    assert project.read("pipeline.yaml") == before[:start] + before[before.index("  # one per model") :]
    assert "train" not in project.lock()["stages"]
    assert sorted(project.lock()["stages"]) == ["grid@a", "grid@b", "prepare"]
    assert "/model.txt" not in project.read(".gitignore").splitlines()
    assert "/prepared.txt" in project.read(".gitignore").splitlines()
    assert project.read("model.txt") == "raw\n"
    assert project.cli_ok("status").stdout == "Data and pipelines are up to date.\n"
    # --outs deletes them; a group goes as a whole
    result = project.cli_ok("remove", "--outs", "grid", "prepare")
    assert result.stdout == (
        "Removed 'grid' from pipeline.yaml: the 2 stage(s) it generates (grid@a, grid@b)\n"
        "Removed stage 'prepare' from pipeline.yaml\n"
        "Deleted grid-a.txt\nDeleted grid-b.txt\nDeleted prepared.txt\n"
    )
    assert project.read("pipeline.yaml") == "# Our pipeline. Keep this comment!\nstages: {}\n# the end\n"
    assert project.lock()["stages"] == {}
    assert not project.exists(".gitignore")  # emptied, so removed
    assert not project.exists("prepared.txt") and not project.exists("grid-a.txt")
    assert project.exists("raw.txt")


def test_a_foreach_member_is_refused_and_unknown_targets_get_a_suggestion(project):
    built(project)
    before, lock = project.read("pipeline.yaml"), project.read("pipeline.lock")
    result = project.cli_fails("remove", "grid@a")
    assert result.stderr == (
        "error: 'grid@a' is one of the 2 stages the foreach/matrix 'grid' generates; a member cannot be removed "
        "alone (remove the whole group with 'pipetool remove grid', or change its foreach/matrix values in "
        "pipeline.yaml)\n"
    )
    result = project.cli_fails("remove", "prepare", "trian")  # nothing is written when one target is wrong
    assert result.stderr == (
        "error: unknown target 'trian': no stage, group or tracked data of that name (did you mean 'train'?)\n"
    )
    assert project.read("pipeline.yaml") == before
    assert project.read("pipeline.lock") == lock


def test_remove_a_pointer_file_or_its_tracked_path(project):
    built(project)
    project.write("data/images/1.png", "png\n")
    pointer = "outs:\n- path: images\n  xxh3: 0f1e2d3c4b5a69788796a5b4c3d2e1f0.dir\n  size: 4\n  nfiles: 1\n"
    project.write("data/images.pipetool", pointer)
    project.write("data/.gitignore", "/images\n/other\n")
    result = project.cli_ok("remove", "data/images")
    assert result.stdout == (
        "Removed data/images.pipetool: data/images is no longer tracked\n"
        "Kept in the workspace: data/images (use --outs to delete)\n"
    )
    assert not project.exists("data/images.pipetool")
    assert project.read("data/.gitignore") == "/other\n"
    assert project.read("data/images/1.png") == "png\n"
    # by the pointer file's own path, from a subfolder, with --outs
    project.write("data/images.pipetool", pointer)
    assert project.cli_ok("remove", "--outs", "images.pipetool", cwd=project.path / "data").stdout == (
        "Removed data/images.pipetool: data/images is no longer tracked\nDeleted data/images\n"
    )
    assert not project.exists("data/images")
    # a pointer file is untrusted: one leading out of the project is refused, nothing deleted
    project.write("evil.pipetool", "outs:\n- path: ../outside\n  xxh3: 0f1e2d3c4b5a69788796a5b4c3d2e1f0\n  size: 1\n")
    result = project.cli_fails("remove", "--outs", "evil.pipetool")
    assert "evil.pipetool:2: the tracked path" in result.stderr and "inside the project" in result.stderr
    assert project.exists("evil.pipetool")


def test_remove_a_tracked_file_by_its_own_path(project):
    """A tracked file's path names the pointer file beside it; the file itself is data, never
    read as a pointer file."""
    built(project)
    project.write("data/notes.txt", "hi\n")
    project.cli_ok("add", "data/notes.txt")
    result = project.cli_ok("remove", "data/notes.txt")
    assert result.stdout == (
        "Removed data/notes.txt.pipetool: data/notes.txt is no longer tracked\n"
        "Kept in the workspace: data/notes.txt (use --outs to delete)\n"
    )
    assert not project.exists("data/notes.txt.pipetool")
    assert project.read("data/notes.txt") == "hi\n"
    assert not project.exists("data/.gitignore")  # its only line went with the pointer file


def test_remove_a_stage_of_another_folders_pipeline_file(project):
    built(project)
    project.write("sub/in.txt", "in\n")
    project.write(
        "sub/pipeline.yaml", "stages:\n  one:\n    cmd: cat in.txt > one.txt\n    deps: [in.txt]\n    outs: [one.txt]\n"
    )
    project.cli_ok("repro", "sub/pipeline.yaml:one")
    assert project.read("sub/.gitignore") == "/one.txt\n"
    assert project.cli_ok("remove", "one", cwd=project.path / "sub").stdout.startswith(
        "Removed stage 'sub/pipeline.yaml:one' from sub/pipeline.yaml\n"
    )
    assert project.read("sub/pipeline.yaml") == "stages: {}\n"
    assert project.read("sub/pipeline.lock") == "version: 1\nstages: {}\n"
    assert not project.exists("sub/.gitignore")
    assert sorted(project.lock()["stages"]) == ["grid@a", "grid@b", "prepare", "train"]


def test_stage_list_names_deps_outs_and_desc(project):
    built(project)
    result = project.cli_ok("stage", "list")
    assert result.stdout == (
        "prepare  raw.txt -> prepared.txt  Split the raw data\n"
        "train    prepared.txt -> model.txt, scores.json\n"
        "grid@a   - -> grid-a.txt\n"
        "grid@b   - -> grid-b.txt\n"
    )
    assert project.cli_ok("stage", "list", "--name-only", "grid").stdout == "grid@a\ngrid@b\n"
    listed = json.loads(project.cli_ok("stage", "list", "--json", "train").stdout)
    assert listed == [
        {
            "name": "train",
            "file": "pipeline.yaml",
            "line": 11,
            "desc": None,
            "cmd": ["cat prepared.txt > model.txt && echo {} > scores.json"],
            "deps": ["prepared.txt"],
            "params": [],
            "outs": ["model.txt", "scores.json"],
            "frozen": False,
        }
    ]
    assert "unknown target 'trian'" in project.cli_fails("stage", "list", "trian").stderr
    os.remove(project.path / "pipeline.lock")  # listing reads the pipeline only
    assert project.cli_ok("stage", "list", "--name-only").stdout.splitlines()[0] == "prepare"


def test_a_stage_whose_yaml_anchor_another_stage_uses_is_refused(project):
    text = "stages:\n  a:\n    cmd: &greet echo hi\n  b:\n    cmd: *greet\n"
    project.write("pipeline.yaml", text)
    result = project.cli_fails("remove", "a")
    assert result.stderr.startswith("error: pipeline.yaml: cannot remove 'a' from 'stages' line by line")
    assert "a YAML anchor there may be used elsewhere" in result.stderr
    assert project.read("pipeline.yaml") == text
    project.cli_ok("remove", "b")
    assert project.read("pipeline.yaml") == "stages:\n  a:\n    cmd: &greet echo hi\n"
