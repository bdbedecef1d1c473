"""Tracked data (`pipetool add`) through checkout, push, fetch, pull, gc and status --remote, with a
local-folder remote, in temporary git repositories and their clones."""

from __future__ import annotations

import json
import subprocess
import sys

import xxhash
from conftest import CLI_ENV
from test_remote import cache_objects, clone, commit, remote_dir, remote_objects


def track(project, version: str = "v1") -> None:
    """A project whose data/ holds one tracked file and one tracked folder, at a version."""
    if not project.exists(".pipetool"):
        project.cli_ok("init")
    project.write("data/raw.csv", f"id,{version}\n1,2\n")
    project.write("data/images/a.txt", f"a {version}\n")
    project.write("data/images/b.txt", "b\n")
    project.cli_ok("add", "data/raw.csv", "data/images")


def with_remote(project) -> None:
    track(project)
    project.cli_ok("remote", "add", "-d", "storage", str(remote_dir(project)))
    commit(project, "tracked data and a remote")


def raw_hash(version: str) -> str:
    return xxhash.xxh3_128_hexdigest(f"id,{version}\n1,2\n".encode())


def test_push_then_a_fresh_clone_pulls_the_tracked_data(project):
    with_remote(project)
    pushed = project.cli_ok("push").stdout
    assert pushed.startswith("Pushed 4 object(s)")  # the file, the folder's manifest and its 2 files
    assert raw_hash("v1") in remote_objects(project)
    other = clone(project)
    assert not other.exists("data/raw.csv") and other.read("data/.gitignore").splitlines() == [
        "/raw.csv",
        "/images",
    ]
    pulled = other.cli_ok("pull").stdout
    assert "restored data/raw.csv" in pulled and "restored data/images" in pulled
    assert other.read("data/raw.csv") == "id,v1\n1,2\n" and other.read("data/images/a.txt") == "a v1\n"
    assert other.cli_ok("status").stdout == "Data and pipelines are up to date.\n"


def test_fetch_fills_the_cache_and_checkout_puts_the_data_in_place(project):
    with_remote(project)
    project.cli_ok("push")
    other = clone(project)
    assert "missing data/raw.csv" in other.cli_fails("checkout").stdout
    assert other.cli_ok("fetch").stdout.startswith("Fetched 4 object(s)")
    assert raw_hash("v1") in cache_objects(other)
    assert not other.exists("data/raw.csv")  # fetch leaves the workspace alone
    assert "restored data/raw.csv" in other.cli_ok("checkout", "data/raw.csv.pipetool").stdout
    assert not other.exists("data/images")  # only the target
    assert other.read("data/raw.csv") == "id,v1\n1,2\n"


def test_status_remote_says_where_the_tracked_data_is(project):
    with_remote(project)
    local = json.loads(project.cli_ok("status", "--remote", "--json").stdout)["stages"]
    assert local == {
        "data/raw.csv.pipetool": {"data/raw.csv": "local only"},
        "data/images.pipetool": {"data/images": "local only"},
    }
    assert project.cli("status", "--remote", "--exit-code").returncode == 1
    project.cli_ok("push")
    assert "local and remote:  data/raw.csv" in project.cli_ok("status", "--remote", "--exit-code").stdout
    other = clone(project)
    assert json.loads(other.cli_ok("status", "--remote", "--json").stdout)["stages"]["data/raw.csv.pipetool"] == {
        "data/raw.csv": "remote only"
    }


def test_two_versions_round_trip_through_git_checkout_and_a_clone(project):
    with_remote(project)
    track(project, "v2")
    commit(project, "data v2")
    project.cli_ok("push", "-A")  # both versions
    project.git("checkout", "-q", "HEAD~1")
    assert "restored data/raw.csv" in project.cli_ok("checkout").stdout
    assert project.read("data/raw.csv") == "id,v1\n1,2\n" and project.read("data/images/a.txt") == "a v1\n"
    project.git("checkout", "-q", "main")
    project.cli_ok("checkout")
    assert project.read("data/raw.csv") == "id,v2\n1,2\n"
    other = clone(project)
    other.cli_ok("pull")
    assert other.read("data/images/a.txt") == "a v2\n"
    other.git("checkout", "-q", "HEAD~1")
    other.cli_ok("pull")
    assert other.read("data/raw.csv") == "id,v1\n1,2\n" and other.read("data/images/a.txt") == "a v1\n"


def test_gc_keeps_the_tracked_data_any_kept_revision_names(project):
    track(project)
    commit(project, "data v1")
    track(project, "v2")
    commit(project, "data v2")
    assert {raw_hash("v1"), raw_hash("v2")} <= set(cache_objects(project))
    project.cli_ok("gc", "-A")
    assert {raw_hash("v1"), raw_hash("v2")} <= set(cache_objects(project))  # HEAD~1 names v1
    project.cli_ok("gc")
    kept = set(cache_objects(project))
    assert raw_hash("v2") in kept and raw_hash("v1") not in kept
    assert project.cli_ok("status").stdout == "Data and pipelines are up to date.\n"


def test_push_leaves_out_tracked_data_whose_pointer_says_push_false(project):
    with_remote(project)
    project.write("data/raw.csv.pipetool", project.read("data/raw.csv.pipetool") + "  push: false\n")
    commit(project, "raw.csv stays here")
    assert project.cli_ok("push").stdout.startswith("Pushed 3 object(s)")  # the folder's manifest and files
    assert raw_hash("v1") not in remote_objects(project)
    assert project.read("data/raw.csv.pipetool").endswith("  push: false\n")  # kept as written
    # each revision by its own pointer file: the first commit's did not say push: false
    assert project.cli_ok("push", "-A").stdout.startswith("Pushed 1 object(s), 10 B")
    assert raw_hash("v1") in remote_objects(project)
    other = clone(project)
    other.cli_ok("fetch", "data/images.pipetool")
    assert "missing data/raw.csv" in other.cli_fails("checkout").stdout


def test_push_false_spelled_with_an_escape_is_still_read(project):
    """A pointer file is parsed for `push` only when its text could hold the key: the word
    itself, or an escape that could spell it."""
    with_remote(project)
    project.write("data/raw.csv.pipetool", project.read("data/raw.csv.pipetool") + '  "pu\\x73h": false\n')
    commit(project, "raw.csv stays here")
    assert project.cli_ok("push").stdout.startswith("Pushed 3 object(s)")
    assert raw_hash("v1") not in remote_objects(project)


NO_YAML = """
import sys
from pipetool.cli import main
code = main(["push"])
print(code, "yaml" in sys.modules)
"""


def test_a_no_op_push_of_tracked_data_reads_no_yaml(project, tmp_path):
    """Its entries come from the lock layer's kept parses (in a cache folder of the test's own,
    whatever this machine's user cache allows); importing YAML alone would take about a tenth
    of the command."""
    kept = {"XDG_CACHE_HOME": str(tmp_path / "user-cache")}
    with_remote(project)
    project.cli_ok("push", env=kept)
    result = subprocess.run(
        [sys.executable, "-c", NO_YAML],
        cwd=project.path,
        env={**CLI_ENV, **kept},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split("\n")[-2] == "0 False", result.stdout + result.stderr
