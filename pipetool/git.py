"""A project as it was at a git revision, read from git objects; the working tree is never touched.

gitpython keeps one `git cat-file --batch` process per repository, so reading files across many
revisions costs one process, not one per file.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass

from .errors import PipetoolError, RevisionError, SpecError

WORKSPACE = "workspace"


@dataclass(frozen=True)
class Revision:
    name: str  # as the user wrote it, e.g. HEAD~1
    sha: str
    summary: str = ""
    timestamp: int = 0


class GitRepo:
    def __init__(self, project_root: str) -> None:
        import git

        try:
            self.repo = git.Repo(project_root, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise RevisionError(
                "not inside a git repository", hint="revision commands need git; 'git init' and commit first"
            ) from None
        top = self.repo.working_tree_dir or project_root
        prefix = os.path.relpath(os.path.realpath(project_root), os.path.realpath(top))
        self.prefix = "" if prefix == "." else prefix.replace(os.sep, "/")
        self.root = project_root

    def revision(self, rev: str) -> Revision:
        """Resolve anything git accepts as a commit; refuse what could be taken as an option."""
        from git.exc import BadName, BadObject

        if not rev or rev.startswith("-"):
            raise RevisionError(f"'{rev}' is not a revision", hint="name a commit, branch or tag, e.g. HEAD~1")
        try:
            commit = self.repo.commit(rev)
        except (BadName, BadObject, ValueError):
            raise RevisionError(f"unknown revision '{rev}'",
                                hint="use a commit sha, branch, tag or HEAD~N that git knows") from None
        return Revision(rev, commit.hexsha, commit.summary, commit.committed_date)

    def first_parent_history(self, rev_range: str | None = None) -> list[Revision]:
        """Commits along the first-parent line, oldest first (rev_range as in `git log`)."""
        target = rev_range or "HEAD"
        for part in target.replace("...", "..").split(".."):
            if part:
                self.revision(part)  # a clear error for a bad end, before git sees it
        commits = list(self.repo.iter_commits(target, first_parent=True))
        commits.reverse()
        return [Revision(c.hexsha[:7], c.hexsha, c.summary, c.committed_date) for c in commits]

    def names(self, all_branches: bool, all_tags: bool, all_commits: bool) -> list[str]:
        if all_commits:
            return [c.hexsha for c in self.repo.iter_commits("--all")]
        names: list[str] = []
        if all_branches:
            names += [head.name for head in self.repo.heads]
        if all_tags:
            names += [tag.name for tag in self.repo.tags]
        return names

    def source(self, revision: Revision) -> GitSource:
        return GitSource(self, self.repo.commit(revision.sha))


class GitSource:
    """Project files at one commit, for spec and params loading (see source.py)."""

    is_revision = True

    def __init__(self, repo: GitRepo, commit) -> None:
        self.root = repo.root
        self._prefix = repo.prefix
        self._tree = commit.tree

    def _object(self, relpath: str):
        path = posixpath.normpath(posixpath.join(self._prefix, relpath)) if self._prefix else relpath
        try:
            return self._tree / path
        except KeyError:
            return None

    def blob_id(self, relpath: str) -> str | None:
        """The git object id of a file: equal ids, equal contents."""
        blob = self._object(relpath)
        return blob.hexsha if blob is not None else None

    def read_bytes(self, relpath: str) -> bytes | None:
        blob = self._object(relpath)
        if blob is None or blob.type != "blob":
            return None
        return blob.data_stream.read()

    def read_text(self, relpath: str) -> str | None:
        data = self.read_bytes(relpath)
        if data is None:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise SpecError("not a UTF-8 text file", file=relpath) from None

    def exists(self, relpath: str) -> bool:
        return self._object(relpath) is not None


class Revisions:
    """Turns the user's revision names into sources: 'workspace' (or none) is the working tree."""

    def __init__(self, project_root: str) -> None:
        self.root = project_root
        self._git: GitRepo | None = None

    @property
    def git(self) -> GitRepo:
        if self._git is None:
            self._git = GitRepo(self.root)
        return self._git

    @property
    def cache(self):
        """The project's cache, for outs that git does not keep (read-only use)."""
        from .cache import Cache
        from .hashing import Hasher
        from .project import STATE_DIR

        return Cache(os.path.join(self.root, STATE_DIR), hasher=Hasher(self.root, None))

    def source(self, rev: str | None):
        """(label, source) for a revision name; None or 'workspace' means the working tree."""
        from .source import FileSource

        if rev is None or rev == WORKSPACE:
            return WORKSPACE, FileSource(self.root)
        revision = self.git.revision(rev)
        return rev, self.git.source(revision)

    def load(self, rev: str | None):
        """(label, source, stages); a revision from before pipeline.yaml existed has no stages."""
        from .spec import PIPELINE_FILE, load

        label, source = self.source(rev)
        if label != WORKSPACE and not source.exists(PIPELINE_FILE):
            return label, source, []
        try:
            return label, source, load(source)
        except PipetoolError as error:
            if label != WORKSPACE:
                error.message = f"{error.message} (in the revision {label})"
                error.args = (error.render(),)
            raise
