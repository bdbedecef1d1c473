"""Which tracked data changed between two revisions, or a revision and the workspace, file by
file inside tracked folders: the decision behind `pipetool diff`, returned as plain data.

Tracked data is every cached out the locks record (stage outs, cached metrics and plots, and a
data stage's out). A revision's side comes from its locks (read from git) and, for a folder, its
`.dir` manifest in the cache; the workspace's side from the bytes on disk, hashed through the
workspace's Hasher and state db, so unchanged files are not read again. A folder whose hash is
the same on both sides is never opened. A manifest the cache lacks is named, never guessed at.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from ..errors import LockError, TargetError
from ..pipeline.pipelines import files_of
from ..pipeline.stage import Stage
from ..storage.cache import Cache, CorruptObject
from ..storage.hashing import DIR_SUFFIX, Hasher, manifest_hash
from ..storage.lock import LockEntry, read_all

ADDED = "added"
DELETED = "deleted"
MODIFIED = "modified"
RENAMED = "renamed"
NOT_IN_CACHE = "not in cache"
STATUSES = (ADDED, DELETED, RENAMED, MODIFIED, NOT_IN_CACHE)  # as DVC lists them

Manifest = list[tuple[str, str, int]]  # (path inside the folder, file hash, size), sorted


@dataclass(frozen=True)
class Entry:
    """A tracked file, or a tracked folder (its path ends in '/'), on one side of a diff."""

    path: str
    hash: str
    size: int
    nfiles: int | None = None  # folders only

    @property
    def is_dir(self) -> bool:
        return self.path.endswith("/")


@dataclass(frozen=True)
class Change:
    """One changed path: old is None for added, new is None for deleted and not in cache;
    renamed has both, with different paths and the same hash."""

    status: str
    old: Entry | None
    new: Entry | None

    @property
    def path(self) -> str:
        """The path it is listed by: the new one where there is one."""
        entry = self.new or self.old
        assert entry is not None
        return entry.path

    @property
    def is_dir(self) -> bool:
        return self.path.endswith("/")


@dataclass(frozen=True)
class Unlisted:
    """A tracked folder whose files could not be compared: the cache lacks its manifest."""

    path: str  # the folder, with its trailing '/'
    side: str  # the revision whose lock records it
    hash: str


@dataclass
class DataDiff:
    old_label: str
    new_label: str
    changes: list[Change] = field(default_factory=list)  # sorted by status, then path
    unlisted: list[Unlisted] = field(default_factory=list)

    def of(self, status: str) -> list[Change]:
        return [change for change in self.changes if change.status == status]

    def file_count(self, status: str) -> int:
        """Files (not folders) of this status: what `files summary` counts, as in DVC."""
        return sum(1 for change in self.changes if change.status == status and not change.is_dir)


class Side:
    """The tracked outs of one revision or of the workspace, and a way to list a folder's files."""

    def __init__(
        self,
        label: str,
        outs: Mapping[str, Entry],
        cache: Cache | None,
        listed: Mapping[str, Manifest] | None = None,
        is_workspace: bool = False,
    ) -> None:
        self.label = label
        self.outs = dict(outs)  # out path (no trailing '/') -> its entry (a folder's path with '/')
        self.cache = cache
        self._listed = dict(listed or {})  # the workspace's folders, as hashed
        self.is_workspace = is_workspace

    def manifest(self, out: str) -> Manifest | None:
        """A folder out's files; None when the cache lacks (or holds a damaged) manifest."""
        if out in self._listed:
            return self._listed[out]
        return read_manifest(self.cache, self.outs[out].hash)


def read_manifest(cache: Cache | None, digest: str) -> Manifest | None:
    """A folder's manifest from the cache, checked; None when it is absent or damaged."""
    if cache is None:
        return None
    try:
        return cache.manifest(digest)
    except (CorruptObject, FileNotFoundError, NotADirectoryError):
        return None


def tracked(stages: Iterable[Stage], entries: Mapping[str, LockEntry]) -> dict[str, Entry]:
    """Out path -> entry of every cached out these lock entries record, as push and gc count them:
    an out the stage declares with cache (the default), tracked data's data stages included."""
    declared = {stage.name: {out.path for out in stage.outs if out.cache} for stage in stages}
    outs: dict[str, Entry] = {}
    for name, entry in entries.items():
        if entry.dropped_in_merge:
            continue
        cached = declared.get(name)
        if cached is None:
            continue  # a stage no longer declared: its outs are no longer tracked
        for record in entry.outs:
            if record.path in cached:
                outs[record.path] = _entry(record.path, record.hash, record.size, record.nfiles)
    return outs


def _entry(path: str, digest: str, size: int, nfiles: int | None) -> Entry:
    if digest.endswith(DIR_SUFFIX):
        return Entry(path + "/", digest, size, nfiles)
    return Entry(path, digest, size)


def revision_side(revisions, rev: str | None) -> Side:
    """A git revision's tracked outs, from its locks (revisions: a revisions.git.Revisions)."""
    label, source, stages = revisions.load(rev)
    try:
        entries = read_all(source, files_of(source))
    except LockError as error:
        error.message = f"{error.message} (in the revision {label})"
        error.args = (error.render(),)
        raise
    return Side(label, tracked(stages, entries), revisions.cache)


def workspace_side(
    label: str,
    stages: Iterable[Stage],
    entries: Mapping[str, LockEntry],
    hasher: Hasher,
    cache: Cache | None,
    wanted: Callable[[str], bool] = lambda path: True,
) -> Side:
    """The workspace's tracked outs as its bytes are now: the cached outs its stages declare and
    those its locks record, each hashed (a folder file by file) through the Hasher; outs that
    wanted refuses are left out unread."""
    stages = list(stages)
    paths = {out.path for stage in stages for out in stage.outs if out.cache}
    paths |= {path[:-1] if path.endswith("/") else path for path in tracked(stages, entries)}
    outs: dict[str, Entry] = {}
    listed: dict[str, Manifest] = {}
    for path in sorted(paths):
        if not wanted(path):
            continue
        full = os.path.join(hasher.root, path)
        if os.path.isdir(full):
            files = hasher.dir_entries(path)
            listed[path] = files
            outs[path] = Entry(path + "/", manifest_hash(files), sum(size for _, _, size in files), len(files))
            continue
        info = hasher.info(path)
        if info is not None:
            outs[path] = Entry(path, info.hash, info.size)
    return Side(label, outs, cache, listed, is_workspace=True)


def covers(targets: Iterable[str]) -> Callable[[str], bool]:
    """Whether a path is one of the targets, lies inside one, or holds one (a folder)."""
    wanted = [target.rstrip("/") for target in targets]

    def check(path: str) -> bool:
        path = path.rstrip("/")
        return any(
            path == target or path.startswith(target + "/") or target.startswith(path + "/") or target == "."
            for target in wanted
        )

    return check


def diff(old: Side, new: Side, targets: Iterable[str] | None = None) -> DataDiff:
    """The changes from old to new. targets: only paths that are, lie in or hold one of them
    (TargetError for a target that neither side tracks)."""
    targets = list(targets or [])
    wanted = covers(targets) if targets else (lambda path: True)
    result = DataDiff(old.label, new.label)
    before: dict[str, Entry] = {}
    after: dict[str, Entry] = {}
    for out in sorted(set(old.outs) | set(new.outs)):
        if not wanted(out):
            continue
        a, b = old.outs.get(out), new.outs.get(out)
        if a is not None and b is not None and a.hash == b.hash:
            continue
        a_files, a_unlisted = _items(old, out)
        b_files, b_unlisted = _items(new, out)
        if new.is_workspace and b is None:
            a_unlisted = []  # gone from the workspace too: 'not in cache', nothing to compare it with
        result.unlisted += a_unlisted + b_unlisted
        if a_unlisted or b_unlisted:  # one side's files are unknown: the folder alone is compared
            a_files = {key: entry for key, entry in a_files.items() if key.rstrip("/") == out}
            b_files = {key: entry for key, entry in b_files.items() if key.rstrip("/") == out}
        before.update(a_files)
        after.update(b_files)
    if targets:
        _check_targets(targets, old, new)
        before = {key: entry for key, entry in before.items() if wanted(key)}
        after = {key: entry for key, entry in after.items() if wanted(key)}
    result.changes = _changes(before, after, old, new)
    return result


def _check_targets(targets: list[str], old: Side, new: Side) -> None:
    outs = [*old.outs, *new.outs]
    for target in targets:
        if not any(covers([target])(out) for out in outs):
            raise TargetError(
                f"'{target}' is no tracked data at {old.label} or {new.label}",
                hint="name a cached out, a folder holding one, or a file inside a tracked folder",
            )


def _items(side: Side, out: str) -> tuple[dict[str, Entry], list[Unlisted]]:
    """An out's entries on one side by path: the file, or the folder and each file inside it."""
    entry = side.outs.get(out)
    if entry is None:
        return {}, []
    if not entry.is_dir:
        return {entry.path: entry}, []
    files = side.manifest(out)
    if files is None:
        return {entry.path: entry}, [Unlisted(entry.path, side.label, entry.hash)]
    items = {entry.path: entry}
    for relpath, digest, size in files:
        items[f"{out}/{relpath}"] = Entry(f"{out}/{relpath}", digest, size)
    return items, []


def _changes(before: dict[str, Entry], after: dict[str, Entry], old: Side, new: Side) -> list[Change]:
    changes: list[Change] = []
    gone: list[Entry] = []
    came: list[Entry] = []
    for path in sorted(set(before) | set(after)):
        a, b = before.get(path), after.get(path)
        if a is not None and b is not None:
            if a.hash != b.hash:
                changes.append(Change(MODIFIED, a, b))
        elif a is not None:
            gone.append(a)
        elif b is not None:
            came.append(b)
    # Renamed: the same bytes (a folder: the same manifest) gone from one path, new at another.
    # A queue per hash: a folder of many equal files (empty ones, say) renamed costs linear time.
    waiting: dict[str, deque[Entry]] = {}
    for entry in came:
        waiting.setdefault(entry.hash, deque()).append(entry)
    for a in gone:
        partners = waiting.get(a.hash)
        if partners:
            changes.append(Change(RENAMED, a, partners.popleft()))
        elif new.is_workspace and _not_in_cache(a, old, new):
            changes.append(Change(NOT_IN_CACHE, a, None))
        else:
            changes.append(Change(DELETED, a, None))
    changes += [Change(ADDED, None, b) for entries in waiting.values() for b in entries]
    order = {status: rank for rank, status in enumerate(STATUSES)}
    changes.sort(key=lambda change: (order[change.status], change.path))
    return changes


def _not_in_cache(entry: Entry, old: Side, new: Side) -> bool:
    """Missing from both the workspace and the cache (DVC's 'not in cache'): never pulled or
    made here, rather than deleted. Only its out being absent from the workspace counts."""
    out = _out_of(entry.path, old)
    if out is None or out in new.outs or old.cache is None:
        return False
    try:
        return not old.cache.has(entry.hash)
    except CorruptObject:
        return True


def _out_of(path: str, side: Side) -> str | None:
    bare = path.rstrip("/")
    if bare in side.outs:
        return bare
    for out in side.outs:
        if bare.startswith(out + "/"):
            return out
    return None
