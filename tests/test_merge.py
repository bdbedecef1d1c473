"""Merging pipeline.lock per stage: merge.merge on LockEntry data, the `merge-lock` git driver,
an end-to-end `git merge` of two branches that each ran repro, and `pipetool install`."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

from conftest import CLI_ENV, ran_stages

from pipetool.storage.lock import DROPPED_ENTRY, LockEntry, PathRecord, parse, render
from pipetool.storage.merge import merge

GIT_ENV = {**CLI_ENV, "PATH": os.path.dirname(sys.executable) + os.pathsep + CLI_ENV.get("PATH", "")}
PATH_ENV = {"PATH": GIT_ENV["PATH"]}
DROPPED_REASON = "lock entry dropped in merge (both branches changed it)"


def entry(out_hash: str, cmd: str = "make it", param: int = 1) -> LockEntry:
    return LockEntry(
        cmd=cmd, params={"params.yaml": {"p": param}}, outs=(PathRecord("out.txt", out_hash * 8, 3),)
    )  # 'aaaa' -> a hash's 32 hex digits


A, B, C = entry("aaaa"), entry("bbbb"), entry("cccc")


# --- merge.merge -----------------------------------------------------------------------------


def test_merge_keeps_a_stage_nobody_changed():
    assert merge({"s": A}, {"s": A}, {"s": A}) == {"s": A}


def test_merge_takes_their_change_when_ours_is_unchanged():
    assert merge({"s": A}, {"s": A}, {"s": B}) == {"s": B}


def test_merge_keeps_our_change_when_theirs_is_unchanged():
    assert merge({"s": A}, {"s": B}, {"s": A}) == {"s": B}


def test_merge_keeps_a_stage_both_sides_changed_the_same_way():
    assert merge({"s": A}, {"s": B}, {"s": B}) == {"s": B}


def test_merge_drops_a_stage_both_sides_changed_differently():
    merged = merge({"s": A}, {"s": B}, {"s": C})
    assert merged["s"].dropped_in_merge
    assert merged["s"] == DROPPED_ENTRY


def test_merge_handles_each_stage_on_its_own():
    merged = merge({"x": A, "y": A, "z": A}, {"x": B, "y": A, "z": B}, {"x": A, "y": C, "z": C})
    assert merged["x"] == B
    assert merged["y"] == C
    assert merged["z"].dropped_in_merge


def test_merge_removes_a_stage_they_deleted():
    assert merge({"s": A, "t": A}, {"s": A, "t": A}, {"t": A}) == {"t": A}


def test_merge_removes_a_stage_we_deleted():
    assert merge({"s": A, "t": A}, {"t": A}, {"s": A, "t": A}) == {"t": A}


def test_merge_removes_a_stage_both_sides_deleted():
    assert merge({"s": A}, {}, {}) == {}


def test_merge_adds_a_stage_they_added():
    assert merge({"t": A}, {"t": A}, {"t": A, "new": B}) == {"t": A, "new": B}


def test_merge_adds_a_stage_we_added():
    assert merge({"t": A}, {"t": A, "new": B}, {"t": A}) == {"t": A, "new": B}


def test_merge_drops_a_stage_both_sides_added_differently():
    assert merge({}, {"new": B}, {"new": C})["new"].dropped_in_merge


def test_merge_of_entries_differing_only_in_params_drops_them():
    merged = merge({"s": entry("aaaa", param=1)}, {"s": entry("aaaa", param=2)}, {"s": entry("aaaa", param=3)})
    assert merged["s"].dropped_in_merge


def test_dropped_entry_survives_render_and_parse():
    text = render(merge({"s": A, "t": A}, {"s": B, "t": A}, {"s": C, "t": A}))
    assert "<<<<<<<" not in text
    assert parse(text) == {"s": DROPPED_ENTRY, "t": A}


# --- the merge-lock driver on files ----------------------------------------------------------


def test_merge_lock_driver_writes_the_merged_lock_into_ours(project, tmp_path):
    base, ours, theirs = (tmp_path / name for name in ("base", "ours", "theirs"))
    base.write_text(render({"x": A, "y": A, "z": A}))
    ours.write_text(render({"x": B, "y": A, "z": B}))
    theirs.write_text(render({"x": A, "y": C, "z": C}))
    result = project.cli_ok("merge-lock", str(base), str(ours), str(theirs))
    assert parse(ours.read_text()) == {"x": B, "y": C, "z": DROPPED_ENTRY}
    assert "z" in result.stderr


def test_merge_lock_driver_with_an_empty_base(project, tmp_path):
    # git passes an empty ancestor when both branches added pipeline.lock
    base, ours, theirs = (tmp_path / name for name in ("base", "ours", "theirs"))
    base.write_text("")
    ours.write_text(render({"x": A, "y": B}))
    theirs.write_text(render({"x": A, "y": C}))
    project.cli_ok("merge-lock", str(base), str(ours), str(theirs))
    assert parse(ours.read_text()) == {"x": A, "y": DROPPED_ENTRY}


# --- git merge, end to end -------------------------------------------------------------------

# p1 and p2 several lines apart, so git merges params.yaml cleanly
PARAMS = "p1: 1\nfiller1: a\nfiller2: b\nfiller3: c\nfiller4: d\nfiller5: e\np2: 2\n"

# s1 (p1) and s2 (p2) feed combine
PIPELINE = """
    stages:
      s1:
        cmd: echo ${p1} > s1.txt
        params: [p1]
        outs: [s1.txt]
      s2:
        cmd: echo ${p2} > s2.txt
        params: [p2]
        outs: [s2.txt]
      combine:
        cmd: cat s1.txt s2.txt > combined.txt
        deps: [s1.txt, s2.txt]
        outs: [combined.txt]
"""


def git(project, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """git in the project, with pipetool on PATH for the hooks and the merge driver."""
    result = subprocess.run(["git", *args], cwd=project.path, env=GIT_ENV, capture_output=True, text=True)
    if check:
        assert result.returncode == 0, f"git {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def branch_with_param(project, branch: str, old: str, new: str) -> None:
    git(project, "checkout", "-q", "-b", branch, "main")
    project.write("params.yaml", project.read("params.yaml").replace(old, new))
    assert ran_stages(project.cli_ok("repro").stdout) == [new.split(":")[0].replace("p", "s"), "combine"]
    git(project, "commit", "-q", "-am", f"{branch}: {new}")


def merged(project) -> subprocess.CompletedProcess:
    """main runs the pipeline; branch a changes p1, branch b p2, each reruns; b merges a."""
    project.write("params.yaml", PARAMS)
    project.write("pipeline.yaml", PIPELINE)
    project.cli_ok("install", env=PATH_ENV)
    project.cli_ok("repro")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "base")
    branch_with_param(project, "a", "p1: 1\n", "p1: 10\n")
    branch_with_param(project, "b", "p2: 2\n", "p2: 20\n")
    assert project.read("s1.txt") == "1\n"  # post-checkout restored main's s1.txt on b
    return git(project, "merge", "--no-edit", "a", check=False)


def test_git_merge_of_two_repro_branches_has_no_conflict(project):
    result = merged(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert git(project, "diff", "--name-only", "--diff-filter=U").stdout == ""
    assert "<<<<<<<" not in project.read("pipeline.lock")
    assert "p1: 10" in project.read("params.yaml") and "p2: 20" in project.read("params.yaml")


def test_git_merge_lock_is_valid_and_merged_per_stage(project):
    merged(project)
    stages = project.lock()["stages"]
    assert stages["s1"]["params"] == {"params.yaml": {"p1": 10}}
    assert stages["s2"]["params"] == {"params.yaml": {"p2": 20}}
    assert stages["combine"] == {"dropped_in_merge": True}
    project.cli_ok("status")  # pipetool reads the merged lock without complaint


def test_git_merge_is_committed_with_the_merged_lock(project):
    merged(project)
    assert git(project, "status", "--porcelain").stdout == ""
    committed = git(project, "show", "HEAD:pipeline.lock").stdout
    assert committed == project.read("pipeline.lock")


def test_post_merge_hook_checks_out_the_outs_of_the_merged_lock(project):
    merged(project)
    assert project.read("s1.txt") == "10\n"  # a's result, from the cache
    assert project.read("s2.txt") == "20\n"


def test_status_after_merge_names_only_the_stage_changed_on_both_sides(project):
    merged(project)
    result = project.cli_ok("status", "--json")
    assert json.loads(result.stdout) == {
        "combine": {"frozen": False, "reasons": [{"kind": "dropped", "message": DROPPED_REASON}]}
    }


def test_status_text_after_merge_gives_the_dropped_reason(project):
    merged(project)
    result = project.cli_fails("status", "--exit-code")
    assert result.stdout == f"combine:\n    {DROPPED_REASON}\n"


def test_repro_after_merge_reruns_only_the_dropped_stage(project):
    merged(project)
    assert ran_stages(project.cli_ok("repro").stdout) == ["combine"]
    assert project.read("combined.txt") == "10\n20\n"
    project.cli_ok("status", "--exit-code")
    assert "dropped_in_merge" not in project.read("pipeline.lock")


def test_git_merge_without_install_would_conflict_in_the_lock(project):
    # the control: the same history with no merge driver does conflict, so the driver matters
    merged(project)
    git(project, "reset", "-q", "--hard", "HEAD~1")
    git(project, "config", "--unset", "merge.pipetool-lock.driver")
    result = git(project, "-c", "core.hooksPath=/dev/null", "merge", "--no-edit", "a", check=False)
    assert result.returncode != 0 or "<<<<<<<" in project.read("pipeline.lock")


# --- pipetool install ------------------------------------------------------------------------


def hook(project, name: str):
    return project.path / ".git" / "hooks" / name


def minimal(project) -> None:
    project.write("pipeline.yaml", "stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n")


def test_install_registers_hooks_attribute_and_driver(project):
    minimal(project)
    project.cli_ok("install")
    for name in ("post-checkout", "post-merge"):
        assert "pipetool checkout" in hook(project, name).read_text()
        assert hook(project, name).stat().st_mode & stat.S_IXUSR
    assert "pipeline.lock merge=pipetool-lock" in project.read(".gitattributes").splitlines()
    assert project.git("config", "merge.pipetool-lock.driver").strip() == "pipetool merge-lock %O %A %B"


def test_install_twice_is_idempotent(project):
    minimal(project)
    project.cli_ok("install")
    first = {name: hook(project, name).read_text() for name in ("post-checkout", "post-merge")}
    project.cli_ok("install")
    assert project.read(".gitattributes").splitlines().count("pipeline.lock merge=pipetool-lock") == 1
    assert project.git("config", "--get-all", "merge.pipetool-lock.driver").splitlines() == [
        "pipetool merge-lock %O %A %B"
    ]
    assert {name: hook(project, name).read_text() for name in first} == first


def test_install_keeps_existing_gitattributes_lines(project):
    minimal(project)
    project.write(".gitattributes", "*.csv text eol=lf\n")
    project.cli_ok("install")
    assert project.read(".gitattributes").splitlines() == ["*.csv text eol=lf", "pipeline.lock merge=pipetool-lock"]


def test_install_refuses_to_overwrite_a_foreign_post_checkout_hook(project):
    minimal(project)
    foreign = "#!/bin/sh\necho 'my own hook'\n"
    hook(project, "post-checkout").write_text(foreign)
    result = project.cli_fails("install")
    assert "post-checkout" in result.stderr
    assert hook(project, "post-checkout").read_text() == foreign


def test_installed_post_checkout_hook_works_for_a_project_in_a_subfolder_of_the_repo(project):
    # git runs hooks at the top of the work tree; the project is in sub/
    sub = project.path / "sub"
    sub.mkdir()
    project.write("sub/pipeline.yaml", "stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n")
    project.cli_ok("install", cwd=sub, env=PATH_ENV)
    project.cli_ok("repro", cwd=sub)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "sub project")
    git(project, "branch", "other")
    result = git(project, "checkout", "-q", "other", check=False)
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr
