"""`pipetool add`: track files and folders that no stage makes, as DVC's `dvc add` does.

Each path's bytes go to the cache (with the configured link type), a pointer file beside it
records its hash and size (storage/pointer.py), and the `.gitignore` of its folder ignores it.
Adding a path again after an edit records the new version; unchanged data writes nothing.
"""

from __future__ import annotations

import os
import posixpath
import shlex
import stat as statmod
from contextlib import contextmanager
from dataclasses import dataclass

from ..errors import PipetoolError, ProjectError
from ..files import safepath
from ..pipeline.pipelines import is_pointer
from ..revisions import git
from ..storage import gitignore, ingest, pointer
from ..storage.hashing import PROGRESS_BYTES, PROGRESS_FILES, HashInfo, HashProgress, manifest_hash
from ..storage.lock import PathRecord
from ..storage.state import matching_hash
from .workspace import Workspace

ADDED, MODIFIED, UNCHANGED = "added", "modified", "unchanged"


class AddError(PipetoolError):
    """A path `pipetool add` will not track."""


@dataclass(frozen=True)
class Added:
    path: str  # project-relative
    pointer: str  # the pointer file, project-relative
    change: str  # ADDED | MODIFIED | UNCHANGED
    record: PathRecord
    gitignore: str | None  # the .gitignore that ignores it, project-relative (None for cache: false)


def project_path(root: str, path: str, cwd: str) -> str:
    """A path as the user typed it (relative to cwd) as a clean project-relative path."""
    try:
        return safepath.project_relative(root, path, cwd)
    except safepath.UnsafePath:
        raise AddError(f"'{path}' is outside the project", hint=f"track only paths inside {root}") from None


def check(ws: Workspace, rel: str) -> str:
    """The pointer file that tracks rel (an existing one, or the one add writes); AddError when
    rel may not be tracked."""
    try:
        safepath.clean(rel)
    except safepath.UnsafePath as exc:
        raise AddError(f"cannot track {exc}") from None
    if safepath.PRIVATE_FOLDERS.intersection(part.casefold() for part in rel.split("/")):
        raise AddError(f"'{rel}' is inside pipetool's or git's own folder; it cannot be tracked")
    if is_pointer(rel):
        raise AddError(f"'{rel}' is a pointer file", hint="add the path it tracks instead")
    full = os.path.join(ws.root, rel)
    if os.path.islink(full):
        raise AddError(f"'{rel}' is a symlink", hint="track the file or folder it leads to")
    if not os.path.exists(full):
        raise AddError(f"'{rel}' does not exist")
    graph = ws.graph
    for owner in graph.producers_of(rel):
        stage = graph.stages[owner]
        out = next(path for path in stage.out_paths if path == rel or _inside(rel, path) or _inside(path, rel))
        if not is_pointer(stage.name):
            raise AddError(
                f"'{rel}' is {'an out' if out == rel else 'overlapping the out ' + repr(out)} of stage '{stage.name}'",
                hint="a stage's outs are tracked by pipeline.lock already",
            )
        if out == rel:
            return stage.name
        if _inside(rel, out):
            raise AddError(
                f"'{rel}' is inside the tracked folder '{out}' ({stage.name})",
                hint=f"add the whole folder again: pipetool add {out}",
            )
        raise AddError(
            f"'{rel}' holds the tracked path '{out}' ({stage.name})",
            hint=f"delete {stage.name} first to track the whole folder",
        )
    if git.tracks(ws.root, rel):
        raise AddError(
            f"'{rel}' is tracked by git",
            hint=f"run 'git rm -r --cached {shlex.quote(rel)}' first, then add it again",
        )
    return pointer.pointer_of(rel)


def _inside(path: str, folder: str) -> bool:
    return path.startswith(folder + "/")


def add(ws: Workspace, paths: list[str], progress: HashProgress | None = None) -> list[Added]:
    """Track each project-relative path: all are checked before any is hashed."""
    files = {}
    for rel in dict.fromkeys(paths):
        files[rel] = check(ws, rel)
    ws.hasher.progress = progress
    try:
        return [_add_one(ws, rel, file, progress) for rel, file in files.items()]
    finally:
        ws.hasher.progress = None
        ws.state.flush()


def _add_one(ws: Workspace, rel: str, file: str, progress: HashProgress | None) -> Added:
    old = pointer.read(ws.root, file) if os.path.lexists(os.path.join(ws.root, file)) else None
    if old is not None and old.path != rel:
        raise ProjectError(f"{file} tracks '{old.path}', not '{rel}'")
    link = old.cache if old is not None else True
    try:
        info = _stored(ws, rel, old.record if old is not None else None, link, progress)
    except FileNotFoundError:
        raise AddError(f"'{rel}' went away while it was being added") from None
    except OSError as exc:
        raise AddError(f"could not store '{rel}' in the cache: {exc}") from None
    record = PathRecord.of(rel, info)
    new = old.with_record(record) if old is not None else pointer.Pointer(file, record)
    ignore = None
    if new.cache:
        gitignore.ignore(ws.root, [rel])
        ignore = posixpath.join(posixpath.dirname(rel), ".gitignore")
    written = pointer.write(ws.root, new)
    change = UNCHANGED if not written else (ADDED if old is None else MODIFIED)
    return Added(rel, file, change, record, ignore)


def _stored(ws: Workspace, rel: str, old: PathRecord | None, link: bool, progress: HashProgress | None) -> HashInfo:
    """A path's hash, its bytes put in the cache on the way: each file whose hash the state db
    does not know is read once, and the bytes read are both hashed and stored (storage/ingest.py).
    Unchanged data already in the cache writes nothing; objects the cache has are kept, unless
    the workspace is to share them by link. link: whether the workspace may be linked to the cache
    (a pointer with `cache: false` keeps a private copy)."""
    full = os.path.join(ws.root, rel)
    st = os.stat(full)
    is_dir = statmod.S_ISDIR(st.st_mode)
    if not is_dir and not statmod.S_ISREG(st.st_mode):
        ws.hasher.info(rel)  # a pipe, socket or device: the hasher's one-line refusal
        raise AddError(f"'{rel}' is not a file or a folder")
    files = ingest.listing(full) if is_dir else [ingest.Listed("", full, st, True)]
    known = ws.state.under(full) if is_dir else {full: _row(ws.state.get(full, st), st)}
    digests = [matching_hash(known.get(item.full), item.st) for item in files]
    sizes = [item.st.st_size for item in files]
    if None not in digests:
        info = _info(files, digests, sizes, is_dir)  # type: ignore[arg-type]
        if PathRecord.of(rel, info) == old and ws.cache.has_all(info.hash):
            return info  # unchanged, and in the cache
    link_type = ws.cache.link_type if link else "copy"
    linked = link_type != "copy"
    present = set() if linked else ws.cache.present([digest for digest in digests if digest is not None])
    todo = [i for i, digest in enumerate(digests) if digest is None or (not linked and digest not in present)]
    with _watched(progress, rel, sum(sizes[i] for i in todo), len(todo)) as on_read:
        stored = ingest.Ingest(ws.cache, link_type, on_read).put(
            [(files[i].full, sizes[i], files[i].may_link) for i in todo]
        )
    for i, (digest, size) in zip(todo, stored, strict=True):
        digests[i], sizes[i] = digest, size
        if size == files[i].st.st_size:
            ws.state.put(files[i].full, files[i].st, digest)
    if linked:  # known files, not read: the cache links each (or finds it linked already)
        for i in set(range(len(files))).difference(todo):
            ws.cache.store(files[i].full, digests[i], None, link=True)  # type: ignore[arg-type]
    info = _info(files, digests, sizes, is_dir)  # type: ignore[arg-type]
    if is_dir:
        ws.cache.store_manifest(info.hash, _entries(files, digests, sizes))  # type: ignore[arg-type]
    return info


def _row(digest: str | None, st: os.stat_result) -> tuple | None:
    """A state row for one file whose hash the state db gave (matching its stat)."""
    return None if digest is None else (st.st_ino, st.st_mtime_ns, st.st_size, digest)


def _entries(files: list[ingest.Listed], digests: list[str], sizes: list[int]) -> list[tuple[str, str, int]]:
    return [(item.relpath, digest, size) for item, digest, size in zip(files, digests, sizes, strict=True)]


def _info(files: list[ingest.Listed], digests: list[str], sizes: list[int], is_dir: bool) -> HashInfo:
    if not is_dir:
        return HashInfo(digests[0], sizes[0])
    return HashInfo(manifest_hash(_entries(files, digests, sizes)), sum(sizes), len(files))


@contextmanager
def _watched(progress: HashProgress | None, label: str, total_bytes: int, files: int):
    """Tell the progress listener about a big job (as the hasher does); yields its per-read
    callback, or None."""
    if progress is None or (total_bytes < PROGRESS_BYTES and files < PROGRESS_FILES):
        yield None
        return
    progress.hash_start(label, total_bytes, files)
    try:
        yield progress.hash_advance
    finally:
        progress.hash_end()
