"""Tracked data through the commands built around it: `add` two versions over two commits, then
`diff` names the files that changed, the Python API reads either version without a checkout,
`commit` records a hand-edited version and `remove` takes the data out of the project."""

from __future__ import annotations

import json
import os

import pytest

from pipetool import api


@pytest.fixture
def two_versions(project):
    project.cli_ok("init")
    for name, text in {"a.txt": "first a\n", "b.txt": "b\n", "c.txt": "c\n"}.items():
        project.write(f"data/images/{name}", text)
    project.cli_ok("add", "data/images")
    project.git("add", "-A")
    project.git("commit", "-qm", "first version")
    project.write("data/images/a.txt", "second a, longer\n")
    (project.path / "data/images/b.txt").unlink()
    project.write("data/images/d.txt", "d\n")
    assert "wrote data/images.pipetool" in project.cli_ok("add", "data/images").stdout
    project.git("add", "-A")
    project.git("commit", "-qm", "second version")
    return project


def test_diff_of_the_last_commit_names_each_changed_file_of_the_tracked_folder(two_versions):
    shown = two_versions.cli_ok("diff", "HEAD~1", "--json").stdout
    changes = json.loads(shown)
    assert [entry["path"] for entry in changes["added"]] == ["data/images/d.txt"]
    assert [entry["path"] for entry in changes["deleted"]] == ["data/images/b.txt"]
    assert "data/images/a.txt" in [entry["path"] for entry in changes["modified"]]
    assert changes["renamed"] == []
    # The workspace matches HEAD: nothing to show, nothing to restore.
    assert json.loads(two_versions.cli_ok("diff", "--json").stdout)["modified"] == []
    checked = two_versions.cli_ok("checkout").stdout
    assert checked == "Workspace outs already match pipeline.lock and the pointer files.\n"


def test_the_api_reads_both_versions_without_checking_anything_out(two_versions):
    root = str(two_versions.path)
    assert api.read("data/images/a.txt", repo=root) == "second a, longer\n"
    assert api.read("data/images/a.txt", repo=root, rev="HEAD~1") == "first a\n"
    with api.open("data/images/b.txt", repo=root, rev="HEAD~1", mode="rb") as handle:
        assert handle.read() == b"b\n"
    with pytest.raises(FileNotFoundError):
        api.read("data/images/b.txt", repo=root)  # gone in HEAD's version
    assert two_versions.read("data/images/a.txt") == "second a, longer\n"  # nothing was checked out


def test_commit_records_a_hand_edit_of_tracked_data_and_remove_takes_it_out(two_versions):
    two_versions.write("data/images/a.txt", "edited by hand\n")
    assert "data/images.pipetool" in two_versions.cli_ok("status").stdout
    two_versions.cli_ok("commit", "-f", "data/images.pipetool")
    assert two_versions.cli_ok("status").stdout == "Data and pipelines are up to date.\n"
    assert "data/images/a.txt" in [
        e["path"] for e in json.loads(two_versions.cli_ok("diff", "--json").stdout)["modified"]
    ]
    two_versions.cli_ok("remove", "data/images")
    assert not two_versions.exists("data/images.pipetool")
    ignored = two_versions.read("data/.gitignore") if two_versions.exists("data/.gitignore") else ""
    assert "/images" not in ignored.splitlines()
    assert os.path.isfile(two_versions.path / "data/images/a.txt")  # the data stays without --outs
