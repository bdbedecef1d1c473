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
from dataclasses import dataclass, field

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
    """Track each project-relative path: all are checked before any is hashed, and the files of
    all are put in the cache together (big files first, beside the small ones)."""
    files = {}
    for rel in dict.fromkeys(paths):
        files[rel] = check(ws, rel)
    ws.hasher.progress = progress
    try:
        planned = [_planned(ws, rel, file) for rel, file in files.items()]
        _store(ws, planned, progress)
        return [_recorded(ws, path) for path in planned]
    finally:
        ws.hasher.progress = None
        ws.state.flush()


@dataclass
class _Path:
    """A path being added: its files as listed, their hashes and sizes (None: not known yet), and
    which of them go into the cache, read once on the way (storage/ingest.py)."""

    rel: str
    file: str  # its pointer file
    old: pointer.Pointer | None
    is_dir: bool
    files: list[ingest.Listed]
    digests: list[str | None]
    sizes: list[int]
    link: bool  # whether the workspace may share the cache's objects (not for `cache: false`)
    todo: list[int] = field(default_factory=list)  # files to read into the cache
    relink: list[int] = field(default_factory=list)  # files known, for the cache to link (not read)
    unchanged: bool = False  # recorded already, and in the cache: nothing is stored


def _planned(ws: Workspace, rel: str, file: str) -> _Path:
    """What adding rel takes: the hashes the state db knows are used; a file it does not know is
    read into the cache; unchanged data already in the cache writes nothing, and objects the
    cache has are kept, unless the workspace is to share them by link."""
    old = pointer.read(ws.root, file) if os.path.lexists(os.path.join(ws.root, file)) else None
    if old is not None and old.path != rel:
        raise ProjectError(f"{file} tracks '{old.path}', not '{rel}'")
    full = os.path.join(ws.root, rel)
    with _errors(rel):
        st = os.stat(full)
        is_dir = statmod.S_ISDIR(st.st_mode)
        if not is_dir and not statmod.S_ISREG(st.st_mode):
            ws.hasher.info(rel)  # a pipe, socket or device: the hasher's one-line refusal
            raise AddError(f"'{rel}' is not a file or a folder")
        files = ingest.listing(full) if is_dir else [ingest.Listed("", full, st, True)]
    known = ws.state.under(full) if is_dir else {full: _row(ws.state.get(full, st), st)}
    digests = [matching_hash(known.get(item.full), item.st) for item in files]
    path = _Path(rel, file, old, is_dir, files, digests, [item.st.st_size for item in files], old is None or old.cache)
    if None not in digests and old is not None:
        info = _info(path)
        path.unchanged = PathRecord.of(rel, info) == old.record and _in_cache(ws, path, info)
        if path.unchanged:
            return path
    linked = path.link and ws.cache.link_type != "copy"
    present = set() if linked else ws.cache.present([digest for digest in digests if digest is not None])
    for i, digest in enumerate(digests):
        if digest is None or (not linked and digest not in present):
            path.todo.append(i)
        elif linked:
            path.relink.append(i)
    return path


def _in_cache(ws: Workspace, path: _Path, info: HashInfo) -> bool:
    """Whether the cache has the objects of every file of the path: for many, a listing of each
    two-character folder instead of a stat per object (a folder's manifest is seen to later)."""
    if not path.is_dir:
        return ws.cache.has(info.hash)
    return not set(path.digests).difference(ws.cache.present(path.digests))  # type: ignore[arg-type]


def _store(ws: Workspace, planned: list[_Path], progress: HashProgress | None) -> None:
    """Put the files to read of every path in the cache at once, and link the known ones."""
    todo = [(path, i) for path in planned for i in path.todo]
    items = [(path.files[i].full, path.sizes[i], path.files[i].may_link and path.link) for path, i in todo]
    label = " ".join(path.rel for path in planned if path.todo)
    with _watched(progress, label, sum(size for _, size, _ in items), len(items)) as on_read:
        with _errors(label, [path.rel for path in planned]):
            stored = ingest.Ingest(ws.cache, ws.cache.link_type, on_read).put(items)
    for (path, i), (digest, size) in zip(todo, stored, strict=True):
        path.digests[i], path.sizes[i] = digest, size
        if size == path.files[i].st.st_size:
            ws.state.put(path.files[i].full, path.files[i].st, digest)
    for path in planned:
        with _errors(path.rel):
            for i in path.relink:  # the cache links each (or finds it linked already)
                ws.cache.store(path.files[i].full, path.digests[i], None, link=True)  # type: ignore[arg-type]
            if path.is_dir:  # written when it is missing or damaged
                ws.cache.store_manifest(_info(path).hash, _entries(path))


def _recorded(ws: Workspace, path: _Path) -> Added:
    """The pointer file and .gitignore line of a stored path."""
    record = PathRecord.of(path.rel, _info(path))
    old = path.old
    new = old.with_record(record) if old is not None else pointer.Pointer(path.file, record)
    ignore = None
    if new.cache:
        gitignore.ignore(ws.root, [path.rel])
        ignore = posixpath.join(posixpath.dirname(path.rel), ".gitignore")
    written = pointer.write(ws.root, new)
    change = UNCHANGED if not written else (ADDED if old is None else MODIFIED)
    return Added(path.rel, path.file, change, record, ignore)


@contextmanager
def _errors(label: str, rels: list[str] | None = None):
    """A file system error while adding, as one AddError naming the path (of rels, the one the
    failing file is in)."""
    try:
        yield
    except FileNotFoundError as exc:
        raise AddError(f"'{_owner(exc, label, rels)}' went away while it was being added") from None
    except OSError as exc:
        raise AddError(f"could not store '{_owner(exc, label, rels)}' in the cache: {exc}") from None


def _owner(exc: OSError, label: str, rels: list[str] | None) -> str:
    name = str(exc.filename or "")
    for rel in rels or []:
        if f"/{rel}/" in name or name.endswith(f"/{rel}"):
            return rel
    return label


def _row(digest: str | None, st: os.stat_result) -> tuple | None:
    """A state row for one file whose hash the state db gave (matching its stat)."""
    return None if digest is None else (st.st_ino, st.st_mtime_ns, st.st_size, digest)


def _entries(path: _Path) -> list[tuple[str, str, int]]:
    return [
        (item.relpath, digest, size) for item, digest, size in zip(path.files, path.digests, path.sizes, strict=True)
    ]  # type: ignore[misc]


def _info(path: _Path) -> HashInfo:
    if not path.is_dir:
        return HashInfo(path.digests[0], path.sizes[0])  # type: ignore[arg-type]
    return HashInfo(manifest_hash(_entries(path)), sum(path.sizes), len(path.files))


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
