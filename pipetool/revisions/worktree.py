"""Temporary git worktrees: a commit checked out apart from the user's workspace, always removed.

verify reruns HEAD in one; experiments run each point of a grid in their own.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import PipetoolError
from .git import GitRepo


def add(repo: GitRepo, path: str, rev: str, label: str | None = None) -> str:
    """Check rev out at path (detached); returns the project root inside it.

    No hooks run: a post-checkout hook (pipetool install's) has no cache to check out from there.
    """
    from git.exc import GitCommandError

    try:
        repo.repo.git.execute(["git", "-c", "core.hooksPath=/dev/null", "worktree", "add", "--detach", path, rev])
    except GitCommandError as exc:
        detail = " ".join(str(exc.stderr or exc).split())
        raise PipetoolError(f"could not make a temporary worktree of {label or rev}: {detail}") from None
    return os.path.join(path, repo.prefix) if repo.prefix else path


def remove(repo: GitRepo, path: str) -> None:
    """Unregister and delete a worktree made by add; quiet when it is already gone."""
    from git.exc import GitCommandError

    try:
        if os.path.exists(path):
            repo.repo.git.worktree("remove", "--force", path)
    except GitCommandError:
        shutil.rmtree(path, ignore_errors=True)
    repo.repo.git.worktree("prune")


@contextmanager
def temporary(repo: GitRepo, rev: str = "HEAD", purpose: str = "worktree") -> Iterator[str]:
    """A worktree of rev in a new temporary folder for the block; yields the project root in it."""
    folder = tempfile.mkdtemp(prefix=f"pipetool-{purpose}-")
    path = os.path.join(folder, "tree")
    try:
        yield add(repo, path, rev, label=rev)
    finally:
        remove(repo, path)
        shutil.rmtree(folder, ignore_errors=True)
