"""The pipeline files of a project, and the names that tie a stage to its file.

A project (the folder holding .pipetool) may keep a pipeline.yaml in any folder, each with its
pipeline.lock beside it, as DVC keeps a dvc.yaml and a dvc.lock per folder; the stages of all of
them form one graph. A stage of the project's own pipeline.yaml is named as written (`train`); a
stage of `a/b/pipeline.yaml` is `a/b/pipeline.yaml:train`, its address, which is also how a
target names it.

Finding the files is a walk of the project that does not enter folders no pipeline lives in:
hidden ones (.git, .venv, .pipetool, .dvc...), __pycache__ and node_modules, virtual
environments (a folder with pyvenv.cfg), symlinked folders, and a folder holding its own
.pipetool (a project of its own).
"""

from __future__ import annotations

import os
import posixpath
import time
from collections.abc import Iterable
from typing import Any

PIPELINE_FILE = "pipeline.yaml"
LOCK_FILE = "pipeline.lock"
_SKIPPED = frozenset({"__pycache__", "node_modules"})
DISCOVERY_CACHE = "pipelines.cache"


def address(file: str, name: str) -> str:
    """A stage's name in the project: as written in the root's pipeline file, else file:name."""
    return name if "/" not in file else f"{file}:{name}"


def split(stage_name: str) -> tuple[str, str]:
    """(pipeline file, name as written in it) of a stage's address."""
    head, colon, tail = stage_name.partition(":")
    if colon and (head.endswith("/" + PIPELINE_FILE)):
        return head, tail
    return PIPELINE_FILE, stage_name


def file_of(stage_name: str) -> str:
    return split(stage_name)[0]


def folder_of(file: str) -> str:
    """The folder a pipeline file's paths are relative to ('.' for the root's)."""
    return posixpath.dirname(file) or "."


def lock_of(file: str) -> str:
    """The lock file beside a pipeline file."""
    return posixpath.join(posixpath.dirname(file), LOCK_FILE)


def discover(root: str, state_dir: str | None = None) -> list[str]:
    """Every pipeline file of the project in the working tree, project-relative, the root's
    first, then in path order.

    With state_dir, the walk is kept there with the modification time of every folder it
    listed: while none changed, the next call stats those folders instead of listing them (a
    file added or removed changes its folder's time). A folder changed in the two seconds
    before a walk is not trusted to show a later change (its time may not move), so the next
    call walks again.
    """
    if state_dir is None:
        return _walk(root, {})
    from . import trusted_cache

    path = os.path.join(state_dir, DISCOVERY_CACHE)
    kept = trusted_cache.load(path, DISCOVERY_CACHE)
    if isinstance(kept, dict) and kept.get("root") == os.path.abspath(root) and _unchanged(root, kept["folders"]):
        return list(kept["files"])
    started = time.time_ns()
    folders: dict[str, int] = {}
    files = _walk(root, folders)
    if all(mtime < started - 2_000_000_000 for mtime in folders.values()):
        trusted_cache.save(path, DISCOVERY_CACHE, {"root": os.path.abspath(root), "folders": folders, "files": files})
    return files


def _unchanged(root: str, folders: dict[str, int]) -> bool:
    for rel, mtime in folders.items():
        try:
            if os.lstat(os.path.join(root, rel) if rel else root).st_mtime_ns != mtime:
                return False
        except OSError:
            return False
    return True


def _walk(root: str, folders: dict[str, int]) -> list[str]:
    """The walk of discover(); folders gets each listed folder's modification time."""
    found: list[str] = []
    pending = [""]
    while pending:
        rel = pending.pop()
        folder = os.path.join(root, rel) if rel else root
        try:
            folders[rel] = os.lstat(folder).st_mtime_ns
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError:
            continue  # unreadable or gone meanwhile: no pipeline to find there
        names = {entry.name for entry in entries}
        if rel and (".pipetool" in names or "pyvenv.cfg" in names):
            continue
        for entry in entries:
            if entry.name == PIPELINE_FILE and not entry.is_dir():
                found.append(rel + PIPELINE_FILE)
            elif not _skipped(entry.name) and entry.is_dir(follow_symlinks=False):
                pending.append(f"{rel}{entry.name}/")
    return ordered(found)


def files_of(source: Any) -> list[str]:
    """The pipeline files of a source: a git revision's tree, or the working tree."""
    listed = getattr(source, "paths", None)
    return in_tree(listed()) if listed is not None else discover(source.root)


def in_tree(paths: Iterable[str]) -> list[str]:
    """The pipeline files among a commit's paths, by the same rules as discover()."""
    paths = list(paths)
    excluded = set()  # folders of virtual environments and of projects of their own
    for path in paths:
        parts = path.split("/")
        if parts[-1] == "pyvenv.cfg":
            excluded.add("/".join(parts[:-1]))
        elif ".pipetool" in parts[1:-1]:
            excluded.add("/".join(parts[:parts.index(".pipetool")]))
    found = []
    for path in paths:
        parts = path.split("/")[:-1]
        if path.rsplit("/", 1)[-1] != PIPELINE_FILE or any(_skipped(part) for part in parts):
            continue
        if not any("/".join(parts[:depth]) in excluded for depth in range(1, len(parts) + 1)):
            found.append(path)
    return ordered(found)


def ordered(files: Iterable[str]) -> list[str]:
    return sorted(set(files), key=lambda f: (f != PIPELINE_FILE, f))


def _skipped(name: str) -> bool:
    return name.startswith(".") or name in _SKIPPED


def under(files: list[str], folder: str) -> list[str]:
    """The pipeline files in folder or below it ('.' for all)."""
    if folder in ("", "."):
        return list(files)
    prefix = folder.rstrip("/") + "/"
    return [file for file in files if file.startswith(prefix)]
