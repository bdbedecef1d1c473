"""Files a clone commits beside its pipelines and tracked data (pipeline.env.json, pointer files,
.dvc files), met as an attacker would craft them: each is bounded, never read through a link or
from a pipe, and ends in a one-line error or is ignored, never in a traceback or a hang."""

from __future__ import annotations

import json
import os

import pytest
from conftest import PYTHON_ENV

from pipetool.files import safepath
from pipetool.files.equivalence import TOLERANCE, Equivalence, compare
from pipetool.revisions import datadiff
from pipetool.storage import environments
from pipetool.system import environment

FINGERPRINT = {"python": "3.11", "packages": {}}


def test_a_deeply_nested_pipeline_env_json_is_ignored_not_a_traceback(tmp_path):
    (tmp_path / "pipeline.lock").write_text("version: 1\nstages: {}\n")
    (tmp_path / "pipeline.env.json").write_text("[" * 100_000)
    assert environments.parse("[" * 100_000) == {"stages": {}, "environments": {}}
    environments.record(str(tmp_path), ["train"], fingerprint=lambda: FINGERPRINT)
    data = json.loads((tmp_path / "pipeline.env.json").read_text())
    assert data["environments"][data["stages"]["train"]] == FINGERPRINT


def test_a_pipeline_env_json_that_is_a_pipe_or_a_link_to_a_device_is_not_read(tmp_path):
    (tmp_path / "pipeline.lock").write_text("version: 1\nstages: {}\n")
    env = tmp_path / "pipeline.env.json"
    for make in (lambda: os.mkfifo(env), lambda: env.symlink_to("/dev/zero")):
        make()  # a pipe blocks a reader for ever; /dev/zero never ends
        environments.record(str(tmp_path), ["train"], fingerprint=lambda: FINGERPRINT)
        assert not env.is_symlink() and env.is_file()  # replaced by the new file, not read
        assert json.loads(env.read_text())["stages"] == {"train": environment.digest(FINGERPRINT)}
        env.unlink()


def test_update_runs_no_command_a_clone_wrote_beside_a_url_dep(project, tmp_path):
    # A stranger's pipeline.yaml: a stage that looks like an import (a URL dep) but whose cmd is
    # the attacker's. `update data.csv` is a download to whoever runs it, never a repro.
    source = tmp_path / "source.csv"
    source.write_text("a,b\n")
    pwned = tmp_path / "pwned"
    project.cli_ok("init")
    project.write(
        "pipeline.yaml",
        f"""
        stages:
          import-data.csv:
            cmd: touch {pwned}; cp {source} data.csv
            deps: [file://{source}]
            outs: [data.csv]
          fake:
            cmd: pipetool get-url file://{source} data.csv; touch {pwned}
            deps: [file://{source}]
            outs: [other.csv]
        """,
    )
    for target in ("data.csv", "import-data.csv", "fake"):
        refused = project.cli_fails("update", target)
        assert "'update' does not run it" in refused.stderr and "Traceback" not in refused.stderr
    assert not pwned.exists()


def test_update_still_downloads_what_import_url_wrote(project, tmp_path):
    source = tmp_path / "source.csv"
    source.write_text("a,b\n")
    project.cli_ok("init")
    project.cli_ok("import-url", str(source), "data.csv", env=PYTHON_ENV)
    source.write_text("a,b\n1,2\n")
    project.cli_ok("update", "data.csv", env=PYTHON_ENV)
    assert project.read("data.csv") == "a,b\n1,2\n"


def test_a_path_from_data_never_reaches_git_or_pipetools_own_folder(tmp_path):
    (tmp_path / ".git" / "hooks").mkdir(parents=True)
    (tmp_path / ".pipetool").mkdir()
    (tmp_path / "hooks").symlink_to(".git/hooks")  # a committed link into .git
    (tmp_path / "hook").symlink_to(".git/hooks/post-checkout")
    tree = safepath.Tree(str(tmp_path))
    for path in (".git/hooks/post-checkout", ".GIT/hooks/x", "sub/.git/config", ".Pipetool/config", "hooks/x", "hook"):
        with pytest.raises(safepath.UnsafePath):
            tree.target(path)
    assert tree.target("data/.gitignore") == str(tmp_path / "data/.gitignore")
    assert tree.target(".github/x") == str(tmp_path / ".github/x")


def test_checkout_writes_no_git_hook_that_a_clones_lock_names(project):
    # A stage out in .git/hooks (or reached through a committed link to it): checkout would write
    # a hook that git then runs.
    project.cli_ok("init")
    project.write("data.txt", "#!/bin/sh\ntouch pwned\n")
    project.cli_ok("add", "data.txt")
    record = "\n".join("    " + line for line in project.read("data.txt.pipetool").splitlines()[2:])  # xxh3, size
    (project.path / "hooks").symlink_to(".git/hooks")
    for out in (".git/hooks/post-checkout", "hooks/post-checkout"):
        project.write("pipeline.yaml", f"stages:\n  s:\n    cmd: echo\n    outs: [{out}]\n")
        project.write(
            "pipeline.lock", f"version: 1\nstages:\n  s:\n    cmd: echo\n    outs:\n    - path: {out}\n{record}\n"
        )
        refused = project.cli_fails("checkout")
        assert f"refused '{out}'" in refused.stdout and "Traceback" not in refused.stderr
        assert not (project.path / ".git/hooks/post-checkout").exists()


def test_verify_compares_a_csv_with_a_field_over_csvs_limit_by_its_bytes():
    # csv stops at a field over 128 KiB: an out (or a locked object) with one was a traceback.
    old, new = b"a\n" + b"x" * 200_000 + b"1\n", b"a\n" + b"x" * 200_000 + b"2\n"
    found = compare("metrics.csv", old, new, Equivalence(TOLERANCE))
    assert found.verdict == "differs" and "cannot be read as a table" in found.note


def test_a_crafted_recorded_environment_is_read_in_its_own_form():
    # verify compares HEAD's pipeline.env.json with this environment: a list as a stage's key, or
    # text where `packages` is a mapping, were tracebacks (unhashable list, str has no .get).
    now = {"python": "3.11", "packages": {"numpy": "2.0"}}
    for text in (
        '{"stages": {"s": ["k"]}, "environments": {}}',
        '{"stages": {"s": "k"}, "environments": {"k": {"python": "3.10", "packages": "abc"}}}',
        '{"stages": {"s": "k"}, "environments": {"k": {"python": {"x": 1}, "packages": {"numpy": [1]}}}}',
    ):
        recorded = environments.of_stage(lambda _: text, "s")  # noqa: B023 - called at once
        assert recorded is None or environment.differences(recorded, now)


def test_a_dvc_file_or_pointer_naming_git_in_any_case_is_refused_in_one_line(project):
    project.cli_ok("init")
    (project.path / ".dvc").mkdir()
    (project.path / ".dvc" / "config").write_text("")
    project.write(".GIT/y", "y\n")
    project.write(".GIT/y.dvc", "outs:\n- md5: 009520053b00386d1173f3988c55d192\n  size: 2\n  path: y\n")
    imported = project.cli_ok("import-dvc")
    assert "pipetool does not track '.GIT/y'" in imported.stdout and "Traceback" not in imported.stderr
    project.write("hooks.pipetool", f"outs:\n- path: .Git/hooks/post-checkout\n  xxh3: {'a' * 32}\n  size: 2\n")
    refused = project.cli_fails("status")
    assert "pipetool does not track '.Git/hooks/post-checkout'" in refused.stderr
    (project.path / "hooks.pipetool").unlink()
    assert "cannot be tracked" in project.cli_fails("add", ".GIT/y").stderr


def test_remove_refuses_before_it_writes_when_a_gitignore_lies_behind_a_link(project, tmp_path):
    # The pointer file tracks lnk/x, lnk a committed link outside: remove took the pointer file
    # away, then failed on lnk/.gitignore, leaving half its work done.
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x").write_text("keep\n")
    project.cli_ok("init")
    (project.path / "lnk").symlink_to(outside)
    project.write("e.pipetool", f"outs:\n- path: lnk/x\n  xxh3: {'a' * 32}\n  size: 5\n")
    refused = project.cli_fails("remove", "--outs", "e.pipetool")
    assert "lnk/.gitignore" in refused.stderr and "Traceback" not in refused.stderr
    assert project.exists("e.pipetool") and (outside / "x").read_text() == "keep\n"
    assert not (outside / ".gitignore").exists()


def test_diff_pairs_renames_of_many_equal_files_each_once_in_order():
    # Manifests of many files with one hash (empty files), all renamed: each old path pairs with one
    # new path, in order. Pairing them took time quadratic in their count (13 s for 400,000, hours
    # for a 1 GiB manifest of them); its speed is the bench's to measure, not a timed test's.
    count, digest = 20_000, "a" * 32
    before = {f"d/a{i:07d}": datadiff.Entry(f"d/a{i:07d}", digest, 0) for i in range(count)}
    after = {f"d/b{i:07d}": datadiff.Entry(f"d/b{i:07d}", digest, 0) for i in range(count)}
    side = datadiff.Side("HEAD", {}, None)
    changes = datadiff._changes(before, after, side, side)
    assert len(changes) == count and {c.status for c in changes} == {datadiff.RENAMED}
    assert [(c.old.path, c.new.path) for c in changes[:2]] == [
        ("d/a0000000", "d/b0000000"),
        ("d/a0000001", "d/b0000001"),
    ]
    assert len({c.old.path for c in changes}) == len({c.new.path for c in changes}) == count


@pytest.mark.skipif(not os.path.exists("/proc/self/pagemap"), reason="Linux's /proc")
def test_a_committed_link_to_a_file_no_read_succeeds_on_is_a_one_line_error(project):
    # /proc/self/pagemap is a regular file that refuses a read of one byte: hashing it through a
    # pointer file's (or a folder's) link was an OSError traceback in status, diff and checkout.
    project.cli_ok("init")
    (project.path / "k").symlink_to("/proc/self/pagemap")
    (project.path / "d").mkdir()
    (project.path / "d" / "k").symlink_to("/proc/self/pagemap")
    project.write("k.pipetool", f"outs:\n- path: k\n  xxh3: {'a' * 32}\n  size: 1\n")
    project.write("d.pipetool", f"outs:\n- path: d\n  xxh3: {'a' * 32}.dir\n  size: 1\n  nfiles: 1\n")
    for command in ("status", "checkout"):
        failed = project.cli_fails(command)
        assert "Traceback" not in failed.stderr and "to hash it: Invalid argument" in failed.stderr
