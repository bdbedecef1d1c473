"""Where revision commands find the git work tree: without starting git in the plain case, and
exactly where `git rev-parse --show-toplevel` would in every case."""

import os
import subprocess
from pathlib import Path

import pytest

from pipetool.errors import RevisionError
from pipetool.revisions.git import GitRepo


def git(cwd: Path, *args: str, env: dict | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout.strip()


def repo_with_commit(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q")
    (path / "sub").mkdir()
    (path / "sub" / "a.txt").write_text("one\n")
    git(path, "add", ".")
    git(path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    return path


def test_a_subfolder_of_a_plain_repository_finds_the_same_top_as_git(tmp_path):
    top = repo_with_commit(tmp_path / "repo")
    os.symlink(top, tmp_path / "link")  # a project reached through a symlink: git gives the real path
    for start in (top, top / "sub", tmp_path / "link" / "sub"):
        repo = GitRepo(str(start))
        assert repo.top == git(start, "rev-parse", "--show-toplevel")
        assert repo.prefix == ("" if start == top else "sub")
    assert GitRepo(str(top / "sub")).objects.get("HEAD:sub/a.txt")[2] == b"one\n"


def test_a_linked_worktree_and_a_git_dir_variable_are_left_to_git(tmp_path):
    top = repo_with_commit(tmp_path / "repo")
    git(top, "worktree", "add", "-q", str(tmp_path / "wt"))
    linked = GitRepo(str(tmp_path / "wt" / "sub"))  # its .git is a file naming the real one
    assert linked.top == git(tmp_path / "wt", "rev-parse", "--show-toplevel") == str((tmp_path / "wt").resolve())
    assert linked.objects.get("HEAD:sub/a.txt")[2] == b"one\n"

    elsewhere = tmp_path / "elsewhere"  # a folder git is pointed at from outside
    elsewhere.mkdir()
    env = {**os.environ, "GIT_DIR": str(top / ".git"), "GIT_WORK_TREE": str(elsewhere)}
    os.environ["GIT_DIR"], os.environ["GIT_WORK_TREE"] = env["GIT_DIR"], env["GIT_WORK_TREE"]
    try:
        assert GitRepo(str(elsewhere)).top == git(elsewhere, "rev-parse", "--show-toplevel", env=env)
        assert GitRepo(str(elsewhere)).top == str(elsewhere.resolve())
    finally:
        del os.environ["GIT_DIR"], os.environ["GIT_WORK_TREE"]


def test_a_dot_git_that_is_no_repository_is_not_taken_for_one(tmp_path):
    fake = tmp_path / "fake"
    (fake / ".git").mkdir(parents=True)  # no HEAD: git does not take it for a repository either
    with pytest.raises(RevisionError, match="not inside a git repository"):
        GitRepo(str(fake))
