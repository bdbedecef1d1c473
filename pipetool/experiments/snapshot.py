"""A workspace saved as a git commit through plumbing: HEAD, the branch and the user's index stay
as they are (the commit is built in a temporary index)."""

from __future__ import annotations

import os
import shutil
import tempfile

from ..errors import ExperimentError
from ..revisions.git import GitRepo


def head(repo: GitRepo) -> str:
    """HEAD's sha: the baseline every experiment starts from."""
    from git.exc import GitCommandError

    try:
        return repo.repo.git.rev_parse("--verify", "--quiet", "HEAD^{commit}")
    except GitCommandError:  # no commit yet
        raise ExperimentError(
            "experiments start from a commit, and this repository has none yet",
            hint="commit your pipeline first: git add -A && git commit",
        ) from None


def uncommitted(repo: GitRepo) -> str | None:
    """A commit holding the tracked files as they are in the workspace (git stash create), or None
    when nothing differs from HEAD; the workspace, index and stash list are left alone."""
    from git.exc import GitCommandError

    try:
        sha = repo.repo.git.stash("create").strip()
    except GitCommandError as exc:
        if exc.status != 1 or (exc.stdout or "").strip(" \n'b"):
            raise
        return None  # a stale index (stat data) whose files turn out unchanged: nothing to keep
    return sha or None


def commit(repo: GitRepo, project_paths: list[str], parent: str, message: str) -> str:
    """Commit the workspace on top of parent: every tracked file as it is now, plus the named
    project files that git does not track yet (unless ignored). Returns the new commit's sha."""
    git = repo.repo.git
    top = repo.repo.working_tree_dir
    index = os.path.join(top, git.rev_parse("--git-path", "index"))
    paths = [_repo_path(repo, p) for p in project_paths]
    folder = tempfile.mkdtemp(prefix="pipetool-index-")
    try:
        env = {"GIT_INDEX_FILE": os.path.join(folder, "index"), **_identity(repo)}
        if os.path.exists(index):
            # With its time: git re-reads a file whose time is not older than the index's (a
            # write in the same tick as the index may keep size and time); a copy made now
            # would vouch for such a file, and a params edit could be left out of the commit.
            shutil.copy2(index, env["GIT_INDEX_FILE"])
        else:
            git.execute(["git", "read-tree", parent], env=env)
        git.execute(["git", "add", "-u", "--", ":/"], env=env)
        new = git.execute(["git", "ls-files", "-z", "--others", "--exclude-standard", "--", *paths], env=env)
        new_paths = [p for p in new.split("\0") if p]
        if new_paths:
            git.execute(["git", "add", "--", *new_paths], env=env)
        tree = git.execute(["git", "write-tree"], env=env)
        return git.execute(["git", "commit-tree", tree, "-p", parent, "-m", message], env=env)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _repo_path(repo: GitRepo, project_path: str) -> str:
    return f"{repo.prefix}/{project_path}" if repo.prefix else project_path


def _identity(repo: GitRepo) -> dict[str, str]:
    """Who made the commit: git's configured identity, else 'pipetool' (a commit needs one)."""
    from git.exc import GitCommandError

    try:
        repo.repo.git.var("GIT_COMMITTER_IDENT")
        repo.repo.git.var("GIT_AUTHOR_IDENT")
        return {}
    except GitCommandError:
        return {
            f"GIT_{who}_{what}": value
            for who in ("AUTHOR", "COMMITTER")
            for what, value in (("NAME", "pipetool"), ("EMAIL", "pipetool@localhost"))
        }
