"""A project as it was at a git revision, read from git objects; the working tree is never touched.

Reads go through one `git cat-file --batch` process per repository, so reading files across many
revisions costs one process, not one per file; history is one `git log`. GitPython (~50 ms to
import) is loaded only for what plain reads do not cover: refs, commits and worktrees.
"""

from __future__ import annotations

import os
import posixpath
import stat
import subprocess
import threading
import weakref
from dataclasses import dataclass

from ..errors import PipetoolError, RevisionError, SpecError

WORKSPACE = "workspace"
SHORT_SHA = 7  # characters of a commit SHA shown wherever a revision is shown by its SHA


@dataclass(frozen=True)
class Revision:
    name: str  # as the user wrote it, e.g. HEAD~1 (a full SHA shortened)
    sha: str
    summary: str = ""
    timestamp: int = 0


# Variables that change where git looks for the repository: with any of them set, git is asked.
_DISCOVERY_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
)


def _plain_top(project_root: str) -> str | None:
    """The work tree's top folder as `git rev-parse --show-toplevel` finds it, without starting git,
    in the plain case: no variable that changes git's search, and the first `.git` up from the
    project, on the same file system, is a folder with a HEAD, it and its work tree owned by this
    user (git refuses others' repositories). Anything else (a worktree's `.git` file, a
    mount point on the way): None, and git itself is asked."""
    if any(name in os.environ for name in _DISCOVERY_ENV):
        return None
    folder = os.path.realpath(project_root)
    try:
        device = os.stat(folder).st_dev
        while True:
            try:
                found = os.lstat(os.path.join(folder, ".git"))
            except FileNotFoundError:
                parent = os.path.dirname(folder)
                if parent == folder or os.stat(parent).st_dev != device:
                    return None
                folder = parent
                continue
            uid = os.geteuid()
            plain = (
                stat.S_ISDIR(found.st_mode)
                and found.st_uid == uid
                and os.stat(folder).st_uid == uid
                and os.path.isfile(os.path.join(folder, ".git", "HEAD"))
            )
            return folder if plain else None
    except OSError:
        return None


def _asked_top(project_root: str) -> str:
    """The work tree's top folder from `git rev-parse --show-toplevel`."""
    try:
        found = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], cwd=project_root, capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise RevisionError(
            f"cannot run git: {exc.strerror or exc}", hint="revision commands need git on the PATH"
        ) from None
    if found.returncode != 0:
        raise RevisionError(
            "not inside a git repository", hint="revision commands need git; 'git init' and commit first"
        )
    return found.stdout.rstrip("\n")


class GitRepo:
    def __init__(self, project_root: str) -> None:
        self.top = _plain_top(project_root) or _asked_top(project_root)
        prefix = os.path.relpath(os.path.realpath(project_root), os.path.realpath(self.top))
        self.prefix = "" if prefix == "." else prefix.replace(os.sep, "/")
        self.root = project_root
        self._repo = None
        self._objects: _Objects | None = None
        self._trees: dict[str, tuple[str, ...]] = {}  # tree id -> its files (tree_files)

    @property
    def repo(self):
        """The GitPython repository, for refs, commits and worktrees."""
        if self._repo is None:
            import git

            self._repo = git.Repo(self.top)
        return self._repo

    @property
    def objects(self) -> _Objects:
        if self._objects is None:
            self._objects = _Objects(self.top)
        return self._objects

    def revision(self, rev: str) -> Revision:
        """Resolve anything git accepts as a commit; refuse what could be taken as an option."""
        if not rev or rev.startswith("-") or "\n" in rev:
            raise RevisionError(f"'{rev}' is not a revision", hint="name a commit, branch or tag, e.g. HEAD~1")
        found = self.objects.get(f"{rev}^{{commit}}")
        if found is None:
            raise RevisionError(
                f"unknown revision '{rev}'", hint="use a commit sha, branch, tag or HEAD~N that git knows"
            )
        sha, _, data = found
        # a revision named by its full SHA (as -A lists them) is shown as `metrics history` shows one
        name = sha[:SHORT_SHA] if rev.lower() == sha else rev
        return Revision(name, sha, *_summary_and_time(data))

    def first_parent_history(self, rev_range: str | None = None) -> list[Revision]:
        """Commits along the first-parent line, oldest first (rev_range as in `git log`)."""
        target = rev_range or "HEAD"
        for part in target.replace("...", "..").split(".."):
            if part:
                self.revision(part)  # a clear error for a bad end, before git sees it
        log = self._git("log", "--first-parent", "--format=%H%x00%ct%x00%s", target, "--")
        commits = [line.split("\0", 2) for line in log.splitlines() if line]
        return [Revision(sha[:SHORT_SHA], sha, summary, int(time)) for sha, time, summary in reversed(commits)]

    def names(self, all_branches: bool, all_tags: bool, all_commits: bool) -> list[str]:
        if all_commits:
            return self._git("rev-list", "--all").split()
        names: list[str] = []
        if all_branches:
            names += self._git("for-each-ref", "--format=%(refname:short)", "refs/heads/").split()
        if all_tags:
            names += self._git("for-each-ref", "--format=%(refname:short)", "refs/tags/").split()
        return names

    def source(self, revision: Revision) -> GitSource:
        return GitSource(self, revision.sha)

    def tree_files(self, tree: str, data: bytes | None = None) -> tuple[str, ...]:
        """The files of a tree object and its subtrees, in `git ls-tree -r` order, read through the
        cat-file process. Each tree is listed once per command: experiments and nearby commits
        share most of their subtrees, so a table of 200 of them costs no process each."""
        listed = self._trees.get(tree)
        if listed is None:
            if data is None:
                found = self.objects.get(tree)
                data = found[2] if found and found[1] == "tree" else b""
            width, files, at = len(tree) // 2, [], 0  # a SHA-1 id is 20 bytes, a SHA-256 one 32
            while at < len(data):  # entries: "<mode> <name>\0<id>"
                space = data.index(b" ", at)
                end = data.index(b"\0", space)
                name = data[space + 1 : end].decode("utf-8", errors="replace")
                if data[at:space] == b"40000":
                    files += [f"{name}/{path}" for path in self.tree_files(data[end + 1 : end + 1 + width].hex())]
                else:
                    files.append(name)
                at = end + 1 + width
            listed = self._trees[tree] = tuple(files)
        return listed

    def _git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=self.top, capture_output=True, text=True, errors="replace", check=False
        )
        if done.returncode != 0:
            raise RevisionError(f"git {args[0]} failed: {done.stderr.strip() or done.returncode}")
        return done.stdout


def tracks(root: str, path: str) -> bool:
    """Whether git tracks the path or a file under it, the path taken literally (no glob); no
    git, or not a repository: False."""
    try:
        listed = subprocess.run(
            ["git", "--literal-pathspecs", "ls-files", "-z", "--", path],
            cwd=root,
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return listed.returncode == 0 and bool(listed.stdout)


def _summary_and_time(commit: bytes) -> tuple[str, int]:
    """A raw commit object's first message line and committer time."""
    headers, _, message = commit.partition(b"\n\n")
    timestamp = 0
    for line in headers.split(b"\n"):
        if line.startswith(b"committer "):
            timestamp = int(line.rsplit(b" ", 2)[1])
    return message.decode("utf-8", errors="replace").split("\n", 1)[0], timestamp


class _Objects:
    """One `git cat-file --batch` process: objects by any name git understands (sha:path too).

    Symlinks in a revision are followed as the working tree would follow them, inside the
    revision only (`--follow-symlinks`); one that leads outside it is never read (see OUTSIDE).
    """

    def __init__(self, top: str) -> None:
        try:
            self._proc = subprocess.Popen(
                ["git", "cat-file", "--batch", "--follow-symlinks"],
                cwd=top,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        except OSError as exc:
            raise RevisionError(
                f"cannot run git: {exc.strerror or exc}", hint="revision commands need git on the PATH"
            ) from None
        self._lock = threading.Lock()
        weakref.finalize(self, _end, self._proc)

    def get(self, name: str) -> tuple[str, str, bytes] | None:
        """(object id, type, contents), or None when git has no such object; a symlink that
        leads outside the revision is ('', OUTSIDE, its target)."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        with self._lock:
            try:
                self._proc.stdin.write(name.encode() + b"\n")
                self._proc.stdin.flush()
                line = self._proc.stdout.readline().rstrip(b"\n")
                if line.endswith((b" missing", b" ambiguous")):  # the name may hold spaces
                    return None
                header = line.split()
                if len(header) == 2 and header[0] in _NOT_FOUND + (b"symlink",):
                    data = self._proc.stdout.read(int(header[1]) + 1)[:-1]  # the name or link git stopped at
                    return ("", OUTSIDE, data) if header[0] == b"symlink" else None
                if len(header) != 3:
                    return None
                data = self._proc.stdout.read(int(header[2]) + 1)[:-1]
            except (OSError, ValueError):
                raise RevisionError("git cat-file stopped answering", hint="run the command again") from None
        return header[0].decode(), header[1].decode(), data


OUTSIDE = "outside"  # the type _Objects gives a symlink leading out of the revision
_NOT_FOUND = (b"dangling", b"loop", b"notdir")  # what --follow-symlinks says of links it cannot end


def _end(proc: subprocess.Popen) -> None:
    """Let the batch process go: it ends when its input does."""
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            stream.close()
    proc.wait()


class GitSource:
    """Project files at one commit, for spec and params loading (see source.py)."""

    is_revision = True

    def __init__(self, repo: GitRepo, sha: str) -> None:
        self.root = repo.root
        self._prefix = repo.prefix
        self._sha = sha
        self._objects = repo.objects
        self._read: dict[str, tuple[str, str, bytes] | None] = {}  # exists() then read: one request
        self._repo = repo
        self._paths: list[str] | None = None

    def _object(self, relpath: str) -> tuple[str, str, bytes] | None:
        if relpath not in self._read:
            path = posixpath.normpath(posixpath.join(self._prefix, relpath)) if self._prefix else relpath
            bad = "\n" in path or path.startswith(("../", "/")) or path == ".."  # git reads only its tree
            self._read[relpath] = None if bad else self._objects.get(f"{self._sha}:{path}")
        return self._read[relpath]

    def blob_id(self, relpath: str) -> str | None:
        """The git object id of a file: equal ids, equal contents."""
        found = self._object(relpath)
        return found[0] or None if found is not None else None

    def read_bytes(self, relpath: str) -> bytes | None:
        found = self._object(relpath)
        if found is not None and found[1] == OUTSIDE:
            target = found[2].decode("utf-8", errors="replace")
            raise SpecError(f"not read: a symlink leading outside the repository (to {target!r})", file=relpath)
        if found is None or found[1] != "blob":
            return None
        return found[2]

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

    def paths(self) -> list[str]:
        """Every file of the project at this commit, project-relative (as `git ls-tree -r`)."""
        if self._paths is None:
            found = self._objects.get(f"{self._sha}:{self._prefix}" if self._prefix else f"{self._sha}^{{tree}}")
            self._paths = list(self._repo.tree_files(found[0], found[2])) if found and found[1] == "tree" else []
        return self._paths


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
        from ..pipeline.project import STATE_DIR, check_state_links
        from ..storage.cache import Cache

        check_state_links(self.root)
        return Cache(os.path.join(self.root, STATE_DIR))

    def source(self, rev: str | None):
        """(label, source) for a revision name; None or 'workspace' means the working tree."""
        from ..pipeline.project import ProjectFiles

        if rev is None or rev == WORKSPACE:
            return WORKSPACE, ProjectFiles(self.root)
        revision = self.git.revision(rev)
        return revision.name, self.git.source(revision)

    def load(self, rev: str | None):
        """(label, source, stages, tracked data's data stages among them); a revision from before any
        pipeline file existed has no stages."""
        from ..pipeline.pipelines import files_of
        from ..pipeline.spec import load_all
        from ..storage.pointer import stages_at

        label, source = self.source(rev)
        try:  # the pipeline files' stages, and tracked data's (a pointer file's data stage)
            return label, source, load_all(source) + stages_at(source, files_of(source))
        except PipetoolError as error:
            if label != WORKSPACE:
                error.message = f"{error.message} (in the revision {label})"
                error.args = (error.render(),)
            raise
