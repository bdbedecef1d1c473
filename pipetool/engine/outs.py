"""A stage's outs around a run: cleared before it, cached after it, or restored from the run-cache."""

from __future__ import annotations

import os

from ..files.safepath import Tree, UnsafePath
from ..pipeline.stage import Stage
from ..planning.staleness import Observed
from ..storage.cache import Cache, CorruptObject, make_private, remove_path
from ..storage.hashing import Hasher
from ..storage.lock import LockEntry, PathRecord
from ..storage.runcache import RunCache


def prepare(root: str, stage: Stage) -> str | None:
    """Remove outs (unless persist) so a stage cannot leave a stale one behind; make parents.

    Returns what went wrong, naming the out, or None.
    """
    for out in stage.outs:
        full = os.path.join(root, out.path)
        try:
            if out.persist:
                make_private(full)  # the stage appends to it: it must not write into the cache
            else:
                remove_path(full)
            folder = os.path.dirname(full)
            if not os.path.isdir(folder):
                os.makedirs(folder, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            blocker = _file_in_the_way(root, out.path)
            return f"cannot create the folder of out '{out.path}': '{blocker}' is a file"
        except OSError as exc:
            return f"cannot prepare out '{out.path}': {exc.strerror}"
    return None


def _file_in_the_way(root: str, path: str) -> str:
    parts = path.split("/")
    for depth in range(1, len(parts)):
        prefix = "/".join(parts[:depth])
        full = os.path.join(root, prefix)
        if os.path.lexists(full) and not os.path.isdir(full):
            return prefix
    return path


def lock_entry(
    stage: Stage, observed: Observed, outs: tuple[PathRecord, ...] = (), duration: float | None = None
) -> LockEntry:
    """What the lock records for a run on these observed inputs."""
    return LockEntry(
        cmd=stage.cmd_record(),
        deps=tuple(PathRecord.of(p, info) for p, info in observed.deps.items() if info),
        params={f: dict(v) for f, v in observed.params.items()},
        outs=outs,
        duration=duration,
    )


class MissingOuts(Exception):
    """Declared outs that are not on disk (paths, in the stage's order)."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths
        super().__init__(", ".join(paths))


def finished(stage: Stage, observed: Observed, hasher: Hasher, duration: float | None = None) -> LockEntry:
    """The lock entry of a stage whose outs are now on disk: its deps and params as observed, its
    outs hashed now. Both a run that finished and `commit` record a stage with it.

    MissingOuts when a declared out is not there.
    """
    hashed = {path: hasher.info(path) for path in stage.out_paths}
    missing = [path for path, info in hashed.items() if info is None]
    if missing:
        raise MissingOuts(missing)
    records = tuple(PathRecord.of(p, info) for p, info in hashed.items() if info)
    return lock_entry(stage, observed, records, duration)


def uses_run_cache(stage: Stage) -> bool:
    """A persist out, always_changed or a stage with nothing to check means the result is not
    a function of the inputs."""
    return not stage.runs_always and not any(out.persist for out in stage.outs)


def save(stage: Stage, entry: LockEntry, hasher: Hasher, cache: Cache, runs: RunCache | None) -> None:
    """Put every out in the cache (cache: false ones too, so the run-cache can restore them)."""
    linkable = {out.path for out in stage.outs if out.cache and not out.persist}
    for record in entry.outs:
        full = os.path.join(hasher.root, record.path)
        entries = hasher.dir_entries(record.path) if record.nfiles is not None else None
        cache.store(full, record.hash, entries, link=record.path in linkable)
    if runs is not None and uses_run_cache(stage):
        runs.save(entry)


def restore(
    root: str, stage: Stage, observed: Observed, cache: Cache, runs: RunCache, locked: LockEntry | None = None
) -> LockEntry | None:
    """The lock entry of an earlier identical run whose outs were put back, or None.

    locked: the stage's lock entry when only its outs differ from it (its cmd, deps and params
    are those observed): the outs it records are put back first, so a deleted out comes back
    as this commit made it even where no run-cache entry exists (a clone, a pruned run-cache).
    """
    declared = tuple(PathRecord(path, "", 0) for path in stage.out_paths)
    found = (locked.outs, locked.duration) if locked is not None else None
    if found is None or not all(cache.has_all(r.hash) for r in found[0]):
        found = runs.lookup(lock_entry(stage, observed, declared))
    if found is None:
        return None
    records, duration = found
    linkable = {out.path for out in stage.outs if out.cache}
    tree = Tree(root)
    try:
        if not all(cache.has_all(r.hash) for r in records):
            return None
        for record in records:
            cache.checkout(record.hash, tree.target(record.path), link=record.path in linkable)
    except (CorruptObject, UnsafePath, OSError):
        return None  # run the stage instead: a damaged object is gone, and the run stores it anew
    return lock_entry(stage, observed, records, duration)
