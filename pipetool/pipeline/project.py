"""Where a project lives: its root (the folder of pipeline.yaml) and its local state folder;
starting a new one."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from ..errors import ProjectError, SpecError
from .pipelines import PIPELINE_FILE
from .source import FileSource

STATE_DIR = ".pipetool"
LOGS_DIR = "logs"  # in STATE_DIR: each stage's last output (storage/logs.py)
# Everything in .pipetool/ is local state, except a committed config (when there is one).
_STATE_GITIGNORE = "/*\n!/.gitignore\n!/config\n"
PARAMS_FILE = "params.yaml"
# What `pipetool init` writes: YAML with no stages yet, and the format as a reminder.
NEW_PIPELINE = """\
# The pipeline's stages. Add one with `pipetool stage add`, or write it here, e.g.:
#
# stages:
#   prepare:
#     cmd: python prepare.py
#     deps: [prepare.py, data/raw.csv]
#     params: [prepare.split]
#     outs: [data/prepared]
"""
_NEW_PARAMS = """\
# Params the stages read, addressed as a.b.c in pipeline.yaml, e.g.:
#
# prepare:
#   split: 0.2
"""


@dataclass(frozen=True)
class Project:
    root: str

    @property
    def state_dir(self) -> str:
        return os.path.join(self.root, STATE_DIR)

    def ensure_state_dir(self) -> str:
        """Create .pipetool/ with its own .gitignore, so its contents never reach git; refuse a
        state folder that a committed symlink would move elsewhere."""
        path = self.state_dir
        check_state_links(self.root)
        os.makedirs(path, exist_ok=True)
        ignore = os.path.join(path, ".gitignore")
        if not os.path.exists(ignore):
            with open(ignore, "w", encoding="utf-8") as handle:
                handle.write(_STATE_GITIGNORE)
        return path


def check_state_links(root: str) -> None:
    """Refuse a symlink in .pipetool/ (the folder itself, an entry, or an entry of its folders:
    cache/ab, runs/runs.db...) that git tracks: a cloned repository could otherwise move
    pipetool's cache or state anywhere, and `gc` or a checkout would write or delete there. The
    entries of logs/ (a file per stage) are not listed: no log is opened through a link
    (storage/logs.py).

    Links git does not track are the user's or pipetool's own (an experiment's worktree shares
    the project's cache through one); outside git, where that cannot be told, none is followed.
    """
    links = _state_links(root)
    if not links:
        return
    tracked = _tracked(root, links)
    refused = [link for link in links if tracked is None or link in tracked]
    if not refused:
        return
    link = refused[0]
    target = os.readlink(os.path.join(root, link))
    why = "is a symlink git tracks" if tracked is not None else "is a symlink, outside any git repository"
    raise ProjectError(
        f"'{link}' {why} (to {target!r}): pipetool keeps its cache and state only in folders it made "
        "itself; nothing was read or written through it",
        hint=f"remove the link ('git rm --cached {link}', then delete it); pipetool makes what it needs",
    )


def _state_links(root: str) -> list[str]:
    """Project-relative '/'-paths of the symlinks among .pipetool and two levels below it."""
    state = os.path.join(root, STATE_DIR)
    if os.path.islink(state):
        return [STATE_DIR]
    if os.path.lexists(state) and not os.path.isdir(state):
        raise ProjectError(
            f"'{STATE_DIR}' is a file; pipetool keeps its state in a folder of that name",
            hint=f"move the file away, or remove it: rm {STATE_DIR}",
        )
    links: list[str] = []
    for entry in _entries(state):
        if entry.is_symlink():
            links.append(f"{STATE_DIR}/{entry.name}")
        elif entry.name == LOGS_DIR:
            continue  # a file per stage, each opened without following a link (storage/logs.py)
        elif entry.is_dir(follow_symlinks=False):
            links += [f"{STATE_DIR}/{entry.name}/{inner.name}" for inner in _entries(entry.path) if inner.is_symlink()]
    return links


def _entries(folder: str) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as found:
            return list(found)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _tracked(root: str, paths: list[str]) -> set[str] | None:
    """Which of these paths git tracks; None when the project is not in a git repository."""
    import subprocess  # only when there are links: most commands never start git

    try:
        done = subprocess.run(
            ["git", "--literal-pathspecs", "ls-files", "-z", "--", *paths], cwd=root, capture_output=True, check=False
        )
    except OSError:
        return None
    if done.returncode != 0:
        return None
    return {name.decode("utf-8", errors="replace") for name in done.stdout.split(b"\0") if name}


class ProjectFiles(FileSource):
    """The project's own files in the working tree (pipeline.yaml, params and vars files,
    metrics, plots), read only where they belong: one whose path or symlinks lead outside the
    project, into .git/ or into .pipetool/ (config.local holds credentials) is refused, never
    read. A cloned repository could otherwise have `status` or `metrics show` print any file of
    the machine a CI job runs on. Outs that cache.type symlink links into the cache are read."""

    def __init__(self, root: str) -> None:
        super().__init__(root)
        real = os.path.realpath(root)
        self._inside = real
        self._private = (os.path.join(real, ".git"), os.path.join(real, STATE_DIR))
        self._cache = os.path.join(real, STATE_DIR, "cache")

    def read_text(self, relpath: str) -> str | None:
        self.check(relpath)
        return super().read_text(relpath)

    def check(self, relpath: str) -> None:
        """SpecError naming relpath when it may not be read."""
        real = os.path.realpath(os.path.join(self.root, relpath))
        if not self._readable(real):
            raise SpecError(
                f"not read: it leads outside the project, or into its .git or .pipetool folder (to {real!r})",
                file=relpath,
            )
        try:
            mode = os.stat(real).st_mode
        except OSError:
            return  # missing: the reader says so
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise SpecError("not read: not a regular file (a pipe or device would be read for ever)", file=relpath)

    def _readable(self, real: str) -> bool:
        if _within(real, self._cache):
            return True
        return _within(real, self._inside) and not any(_within(real, private) for private in self._private)


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + os.sep)


def find(start: str | None = None) -> Project:
    """The project around start: the nearest folder at or above it holding .pipetool (made by
    `pipetool init` or the first run), within its git repository; where none does, the nearest
    holding pipeline.yaml."""
    here = os.path.abspath(start or os.getcwd())
    nearest_pipeline = None
    folder = here
    while True:
        if os.path.isdir(os.path.join(folder, STATE_DIR)):
            return Project(folder)
        if nearest_pipeline is None and os.path.isfile(os.path.join(folder, PIPELINE_FILE)):
            nearest_pipeline = folder
        parent = os.path.dirname(folder)
        if parent == folder or os.path.exists(os.path.join(folder, ".git")):
            break  # a project does not reach beyond its git repository
        folder = parent
    if nearest_pipeline is not None:
        return Project(nearest_pipeline)
    raise ProjectError(
        f"no {PIPELINE_FILE} in {here} or any folder above it",
        hint="run pipetool inside a project, or start one here with 'pipetool init'",
    )


def init(folder: str) -> list[str]:
    """Make folder a project: .pipetool/ (with its .gitignore), and an empty pipeline.yaml and
    params.yaml where they are absent. Returns the paths it created; refuses inside a project."""
    try:
        existing = find(folder)
    except ProjectError:
        existing = None
    if existing is not None:
        raise ProjectError(
            f"already a pipetool project: {os.path.join(existing.root, PIPELINE_FILE)} exists; nothing was changed",
            hint="add stages with 'pipetool stage add', or run 'pipetool status' to see where it stands",
        )
    project = Project(os.path.abspath(folder))
    created = [] if os.path.isdir(project.state_dir) else [STATE_DIR + "/"]
    project.ensure_state_dir()
    for name, text in ((PIPELINE_FILE, NEW_PIPELINE), (PARAMS_FILE, _NEW_PARAMS)):
        path = os.path.join(project.root, name)
        if not os.path.exists(path):
            with open(path, "x", encoding="utf-8") as handle:
                handle.write(text)
            created.append(name)
    return created
