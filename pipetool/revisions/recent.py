"""The last commits of a first-parent history as a `git log` range, so that `metrics history`
reads only those (the browser UI's Metrics page shows a window of a long history)."""

from __future__ import annotations

from ..errors import RevisionError
from .git import GitRepo


def last_commits(root: str, rev: str, limit: int) -> str:
    """A range of at most `limit` commits: the newest ones of rev's first-parent line
    (`rev~limit..rev`), or rev itself when its line is no longer than that. A range the user
    wrote (`A..B`) is kept as it is."""
    if limit < 1:
        raise RevisionError(f"a limit of {limit} commits", hint="show 1 commit or more")
    if ".." in rev:
        return rev
    repo = GitRepo(root)
    tip = repo.revision(rev).sha  # a clear error for an unknown revision
    try:
        start = repo.revision(f"{tip}~{limit}").sha
    except RevisionError:
        return tip
    return f"{start}..{tip}"
