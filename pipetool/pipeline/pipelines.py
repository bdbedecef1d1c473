"""The pipeline files of a project, and the names that tie a stage to its file.

A project (the folder holding .pipetool) may keep a pipeline.yaml in any folder, each with its
pipeline.lock beside it, as DVC keeps a dvc.yaml and a dvc.lock per folder; the stages of all of
them form one graph. A stage of the project's own pipeline.yaml is named as written (`train`); a
stage of `a/b/pipeline.yaml` is `a/b/pipeline.yaml:train`, its address, which is also how a
target names it.

Finding the files is a walk of the project that does not enter folders no pipeline lives in:
hidden ones (.git, .venv, .pipetool, .dvc...), __pycache__ and node_modules, virtual
environments (a folder with pyvenv.cfg), symlinked folders, a folder holding its own .pipetool
(a project of its own), and the folders `.pipetoolignore` at the project's root names (as
`.dvcignore` does for DVC: examples, test data).

The same walk finds pointer files (`data/images.pipetool`, DVC's `data/images.dvc`): each
records one path that `pipetool add` tracks and no stage makes. Inside pipetool a pointer file is
a data stage addressed by its own path, and it is its own lock (see storage/pointer.py). A
folder beside a pointer file of its name (`images/` beside `images.pipetool`) is tracked data:
the walk does not enter it, as DVC does not look inside outs, so a dataset of many folders costs
no stat per folder and a restored one is not listed again.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import time
from collections.abc import Iterable
from typing import Any

from ..files.fsutil import read_regular

PIPELINE_FILE = "pipeline.yaml"
LOCK_FILE = "pipeline.lock"
_SKIPPED = frozenset({"__pycache__", "node_modules"})
DISCOVERY_CACHE = "pipelines.cache"
_DISCOVERY_VERSION = 6
POINTER_SUFFIX = ".pipetool"
IGNORE_FILE = ".pipetoolignore"
MAX_IGNORE_BYTES = 64 * 1024


def is_pointer(path: str) -> bool:
    """Whether a project path (or a stage's address) is a pointer file's: `images.pipetool`."""
    return path.endswith(POINTER_SUFFIX) and len(path.rpartition("/")[2]) > len(POINTER_SUFFIX)


def pipeline_files(files: Iterable[str]) -> list[str]:
    """The pipeline files among discover()'s or files_of()'s, pointer files left out."""
    return [file for file in files if not is_pointer(file)]


def pointer_files(files: Iterable[str]) -> list[str]:
    return [file for file in files if is_pointer(file)]


def address(file: str, name: str) -> str:
    """A stage's name in the project: as written in the root's pipeline file, else file:name; a
    pointer file's data stage is the pointer file's path."""
    if is_pointer(file):
        return file
    return name if "/" not in file else f"{file}:{name}"


def split(stage_name: str) -> tuple[str, str]:
    """(pipeline file, name as written in it) of a stage's address (a pointer file: itself twice)."""
    if is_pointer(stage_name):
        return stage_name, stage_name
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
    """The lock file beside a pipeline file (called for each of thousands of files: no posixpath);
    a pointer file is its own lock."""
    if file.endswith(POINTER_SUFFIX) and is_pointer(file):
        return file
    folder = file.rpartition("/")[0]
    return f"{folder}/{LOCK_FILE}" if folder else LOCK_FILE


def discover(root: str, state_dir: str | None = None) -> list[str]:
    """Every pipeline file of the project in the working tree, project-relative, the root's
    first, then in path order; then the pointer files, in path order.

    With state_dir, what the walk saw of each folder is kept there with the folder's
    modification time: a folder whose time is the same is not listed again (a file or folder
    added, removed or renamed in it changes its time), so the next walk of a big project costs
    a stat per folder. A folder changed in the two seconds before it was listed is listed again
    next time, since its time may not move for a change made in the same tick.
    """
    return walked(root, state_dir)[0]


def walked(root: str, state_dir: str | None = None) -> tuple[list[str], dict[str, int]]:
    """discover()'s files, and the modification time of each folder the walk went through
    (project-relative, '' for the root, else ending in '/') that changed over two seconds before
    the walk: while a folder's time stays the same, nothing was added to it, removed or renamed
    (spec_cache relies on it to know that a file it looked for is still missing)."""
    ignored = ignore_patterns(_read_ignore(root))
    if state_dir is None:
        files, folders, _ = _walk(root, {}, ignored)
        return files, _times(folders)
    from ..files import trusted_cache

    path = os.path.join(state_dir, DISCOVERY_CACHE)
    kept = trusted_cache.load(path, DISCOVERY_CACHE)
    here = os.path.abspath(root)
    usable = isinstance(kept, dict) and (kept.get("version"), kept.get("root"), kept.get("ignored")) == (
        _DISCOVERY_VERSION,
        here,
        ignored,
    )
    known = kept["folders"] if usable else {}
    files, folders, relisted = _walk(root, known, ignored)
    if folders != known and _worth_keeping(folders, known, relisted):
        trusted_cache.save(
            path, DISCOVERY_CACHE, {"version": _DISCOVERY_VERSION, "root": here, "ignored": ignored, "folders": folders}
        )
    return files, _times(folders)


def _times(folders: dict) -> dict[str, int]:
    """The trusted times of _walk's folders (a time seen within two seconds is None there)."""
    return {rel: seen[0] for rel, seen in folders.items() if seen[0] is not None}


# While listing again the folders whose listing was the kept one (only their time moved: a lock
# or an out rewritten there) costs less than this, the walk is not kept anew: keeping it rewrites
# what was seen of every folder (thousands in a monorepo), and those are listed again next time
# instead. The cost counts entries listed, a folder's own opening as 20 of them: sixteen small
# folders, or one of 500 files (a tracked data folder).
_FEW_RELISTED = 500
_LISTING_COST = 20


def _worth_keeping(folders: dict, known: dict, relisted: int) -> bool:
    """Whether a walk saw more than the kept one did: a folder added or gone, a listing changed,
    or folders whose time alone moved that cost more to list again (relisted: _walk's count)."""
    if folders.keys() != known.keys():
        return True
    for rel, seen in folders.items():
        kept = known[rel]
        if seen != kept and seen[1:] != kept[1:]:
            return True
    return relisted > _FEW_RELISTED


def _read_ignore(root: str) -> str:
    """The project's .pipetoolignore: a regular file inside it (not a link, pipe or device), or ''."""
    try:
        data = read_regular(os.path.join(root, IGNORE_FILE), MAX_IGNORE_BYTES)
    except OSError:
        return ""
    return (data or b"").decode("utf-8", errors="replace")


def ignore_patterns(text: str) -> tuple[str, ...]:
    """The folder patterns of a .pipetoolignore: one per line, `#` comments and blank lines
    skipped, a trailing '/' dropped. A pattern with a '/' inside matches a folder's path from the
    project's root (`examples/*`, `tests/data`); one without matches a folder's name anywhere."""
    patterns = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            patterns.append(line.strip("/") if "/" in line.rstrip("/") else line.rstrip("/"))
    return tuple(p for p in patterns if p)


def is_ignored(rel: str, patterns: tuple[str, ...]) -> bool:
    """Whether a folder (project-relative, no trailing '/') is one .pipetoolignore names."""
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(rel if "/" in pattern else name, pattern) for pattern in patterns)


def _walk(root: str, known: dict, ignored: tuple[str, ...] = ()) -> tuple[list[str], dict, int]:
    """(pipeline and pointer files, what was seen per folder: (its time or None, has a pipeline
    file, the subfolders to enter as project-relative paths ending in '/', its pointer files),
    the cost of the listings that a kept walk would spare next time: entries, and _LISTING_COST
    per folder); a folder of `known` whose time is unchanged is not listed again.

    The loop runs once per folder of the project (thousands in a monorepo, for every command):
    a stat and a few lookups, nothing made that the folder does not need."""
    trusted_before = time.time_ns() - 2_000_000_000
    found: list[str] = []
    folders: dict[str, tuple[int | None, bool, tuple[str, ...], tuple[str, ...]]] = {}
    pending = [""]
    base = os.path.join(root, "")
    lstat, kept, pop = os.lstat, known.get, pending.pop
    relisted = 0
    while pending:
        rel = pop()
        try:
            mtime = lstat(base + rel if rel else root).st_mtime_ns
            seen = kept(rel)
            if seen is None or seen[0] != mtime:
                has, subfolders, pointers, entries = _listed(base + rel, bool(rel))
                subfolders = tuple(f"{rel}{name}/" for name in subfolders)
                seen = (mtime if mtime < trusted_before else None, has, subfolders, pointers)
                if seen[0] is not None:  # an untrusted time is listed again next time either way
                    relisted += entries + _LISTING_COST
        except OSError:
            continue  # unreadable or gone meanwhile: no pipeline to find there
        folders[rel] = seen
        if seen[1]:
            found.append(rel + PIPELINE_FILE)
        if seen[3]:
            found += [rel + name for name in seen[3]]
        if ignored:
            pending += [sub for sub in seen[2] if not is_ignored(sub[:-1], ignored)]
        else:
            pending += seen[2]
    return ordered(found), folders, relisted


def _listed(folder: str, nested: bool) -> tuple[bool, tuple[str, ...], tuple[str, ...], int]:
    """(holds a pipeline file, the subfolders to enter, its pointer files, how many entries it
    has) of one folder."""
    with os.scandir(folder) as listing:
        entries = list(listing)
    names = {entry.name for entry in entries}
    if nested and (".pipetool" in names or "pyvenv.cfg" in names):
        return False, (), (), len(entries)
    has = any(entry.name == PIPELINE_FILE and not entry.is_dir() for entry in entries)
    pointers = tuple(sorted(e.name for e in entries if is_pointer(e.name) and not e.is_dir(follow_symlinks=False)))
    tracked = {name[: -len(POINTER_SUFFIX)] for name in pointers}
    return (
        has,
        tuple(
            sorted(
                e.name
                for e in entries
                if not _skipped(e.name) and e.name not in tracked and e.is_dir(follow_symlinks=False)
            )
        ),
        pointers,
        len(entries),
    )


def files_of(source: Any) -> list[str]:
    """The pipeline and pointer files of a source: a git revision's tree, or the working tree."""
    listed = getattr(source, "paths", None)
    if listed is None:
        return discover(source.root)
    text = source.read_text(IGNORE_FILE) if source.exists(IGNORE_FILE) else None
    return in_tree(listed(), ignore_patterns((text or "")[:MAX_IGNORE_BYTES]))


def in_tree(paths: Iterable[str], ignored: tuple[str, ...] = ()) -> list[str]:
    """The pipeline and pointer files among a commit's paths, by the same rules as discover()."""
    paths = list(paths)
    excluded = set()  # folders of virtual environments, of projects of their own, of tracked data
    for path in paths:
        parts = path.split("/")
        if parts[-1] == "pyvenv.cfg":
            excluded.add("/".join(parts[:-1]))
        elif ".pipetool" in parts[1:-1]:
            excluded.add("/".join(parts[: parts.index(".pipetool")]))
        elif is_pointer(path):
            excluded.add(path[: -len(POINTER_SUFFIX)])
    found = []
    for path in paths:
        parts = path.split("/")[:-1]
        name = path.rsplit("/", 1)[-1]
        if (name != PIPELINE_FILE and not is_pointer(name)) or any(_skipped(part) for part in parts):
            continue
        folders = ["/".join(parts[:depth]) for depth in range(1, len(parts) + 1)]
        if not any(folder in excluded or (ignored and is_ignored(folder, ignored)) for folder in folders):
            found.append(path)
    return ordered(found)


def ordered(files: Iterable[str]) -> list[str]:
    """The root's pipeline file, the other pipeline files, then pointer files, each in path order."""
    return sorted(set(files), key=lambda f: (f != PIPELINE_FILE, is_pointer(f), f))


def _skipped(name: str) -> bool:
    return name.startswith(".") or name in _SKIPPED
