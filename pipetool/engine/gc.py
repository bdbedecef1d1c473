"""Garbage collection: cache objects, run-cache entries and temp files that nothing kept needs.

Nothing is removed on incomplete knowledge: while a kept directory's manifest cannot be read,
any file object may be one of its files, so no file object goes (locally or on the remote).
"""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..errors import SpecError
from ..files.yamlfile import load_json
from ..remotes.listing import Stored, remove_files, stored_files
from ..remotes.remote import Remote
from ..storage.cache import MAX_MANIFEST_BYTES, Cache, CorruptObject, checked_manifest
from ..storage.hashing import DIR_SUFFIX
from ..storage.lock import LockEntry
from ..storage.runcache import Record, out_hashes, well_formed
from ..system.interrupts import ordered, thread_pool
from .workspace import Workspace

TEMP_AGE = 3600.0  # seconds: a temp file this old belongs to a transfer or write that was killed
# pipetool's temp names in its state folder: `<file>.tmp-<pid>` (whole-file writes, cache stores)
# and `<object>.tmp-<pid>-<thread>` (downloads).
_LOCAL_TEMP = re.compile(r".+\.tmp-(?P<pid>\d+)(-\d+)?")
_SKIPPED = ("tmp",)  # the Dask executor's run folders, which it sweeps itself
NOTHING_REMOVED = "gc removed nothing: it cannot tell which objects that revision needs"

Entries = list[tuple[str, str, int]]
ManifestReader = Callable[[str], "Entries | str"]  # a manifest's entries, or why it cannot be read


@dataclass(frozen=True)
class Unread:
    """A kept directory whose manifest could not be read."""

    stage: str
    out: str
    revision: str  # "" for the workspace's lock
    problem: str


@dataclass
class Kept:
    hashes: set[str] = field(default_factory=set)
    unread: list[Unread] = field(default_factory=list)

    def removable(self, digest: str) -> bool:
        """No kept lock names it, and it cannot be a file of a directory whose manifest is unread."""
        return digest not in self.hashes and (not self.unread or digest.endswith(DIR_SUFFIX))

    def run_removable(self, record: Record | None) -> bool:
        """A malformed entry, or one naming an object that goes (it could never be restored)."""
        return record is None or any(self.removable(digest) for _, digest, _ in out_hashes(record))


@dataclass
class Garbage:
    kept: Kept
    objects: list[tuple[str, int]] = field(default_factory=list)  # (hash, size)
    runs: list[str] = field(default_factory=list)  # keys of run-cache entries
    temps: list[tuple[str, int]] = field(default_factory=list)  # (path, size) of leftover temp files

    @property
    def size(self) -> int:
        return sum(size for _, size in self.objects)


@dataclass
class RemoteGarbage:
    objects: list[Stored] = field(default_factory=list)
    runs: list[Stored] = field(default_factory=list)
    temps: list[Stored] = field(default_factory=list)
    undated: list[Stored] = field(default_factory=list)  # temp files the backend gives no time for
    unjudged: list[str] = field(default_factory=list)  # run entries that could not be read: kept

    @property
    def removed(self) -> list[Stored]:
        return self.objects + self.runs + self.temps

    @property
    def size(self) -> int:
        return sum(item.size for item in self.removed)


# -- what is kept ----------------------------------------------------------------------------------


def kept_locks(ws: Workspace, revision_locks: Iterable[tuple[str, dict]] = ()) -> list[tuple[str, dict]]:
    """(revision, entries) of the workspace's locks and of each revision's (read by the caller:
    a lock that cannot be read there is an error, so nothing is removed on a guess)."""
    return [("", ws.locks.read()), *revision_locks]


def referenced(locks: Iterable[tuple[str, dict[str, LockEntry]]], read_manifest: ManifestReader) -> Kept:
    """Hashes of every out in the locks with the files of their directories; the unread ones."""
    kept = Kept()
    dirs: dict[str, tuple[str, str, str]] = {}  # manifest hash -> (stage, out, revision), first seen
    for revision, entries in locks:
        for stage, entry in entries.items():
            for record in entry.outs:
                kept.hashes.add(record.hash)
                if record.hash.endswith(DIR_SUFFIX):
                    dirs.setdefault(record.hash, (stage, record.path, revision))
    for digest, (stage, out, revision) in dirs.items():
        entries = read_manifest(digest)
        if isinstance(entries, str):
            kept.unread.append(Unread(stage, out, revision, entries))
        else:
            kept.hashes.update(file_digest for _, file_digest, _ in entries)
    return kept


def local_manifests(cache: Cache) -> ManifestReader:
    def read(digest: str) -> Entries | str:
        try:
            if not cache.has(digest):
                return "missing from the cache"
            return cache.manifest(digest)
        except CorruptObject:
            return "damaged in the cache (its bytes do not hash to its name)"
        except OSError as exc:
            return f"unreadable in the cache ({exc.strerror or exc})"

    return read


def remote_manifests(remote: Remote, local: ManifestReader) -> ManifestReader:
    """The local manifest, else the remote's copy when its bytes hash to its name."""

    def read(digest: str) -> Entries | str:
        entries = local(digest)
        if not isinstance(entries, str):
            return entries
        try:
            data = remote.read_bytes(remote.object_path(digest), MAX_MANIFEST_BYTES)
        except FileNotFoundError:
            return f"{entries}, and not on remote '{remote.name}'"
        except ValueError:
            return f"{entries}, and damaged on remote '{remote.name}'"
        except Exception as exc:  # noqa: BLE001 - whatever the backend raises, the directory stays unread
            return f"{entries}, and unreadable on remote '{remote.name}' ({exc})"
        parsed = checked_manifest(data, digest)
        return parsed if parsed is not None else f"{entries}, and damaged on remote '{remote.name}'"

    return read


# -- local -------------------------------------------------------------------------------------------


def find_garbage(
    ws: Workspace,
    revision_locks: Iterable[tuple[str, dict]] = (),
    read_manifest: ManifestReader | None = None,
    now: float | None = None,
) -> Garbage:
    """What gc would remove locally: objects no kept lock needs, run-cache entries naming them, and
    temp files that killed transfers and writes left behind."""
    kept = referenced(kept_locks(ws, revision_locks), read_manifest or local_manifests(ws.cache))
    garbage = Garbage(kept, objects=[(h, size) for h, size in ws.cache.objects() if kept.removable(h)])
    runs = ws.runs.records()  # well-formed ones: the others go too
    garbage.runs = [key for key in ws.runs.keys() if kept.run_removable(runs.get(key))]
    garbage.temps = stale_temps(ws.project.state_dir, time.time() if now is None else now)
    return garbage


def stale_temps(state_dir: str, now: float) -> list[tuple[str, int]]:
    """pipetool's temp files in its state folder that are over an hour old and whose writer is gone.

    Links are never followed, and only files named exactly as pipetool names its temp files go.
    """
    found = []
    for folder, dirs, files in os.walk(state_dir):
        if folder == state_dir:
            dirs[:] = [name for name in dirs if name not in _SKIPPED]
        for name in files:
            match = _LOCAL_TEMP.fullmatch(name)
            if match is None:
                continue
            path = os.path.join(folder, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode) and now - info.st_mtime > TEMP_AGE and not _alive(int(match["pid"])):
                found.append((path, info.st_size))
    return sorted(found)


def _alive(pid: int) -> bool:
    """Whether a process of that id runs here (a writer that is slow, not killed)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    except (OverflowError, OSError):
        return False
    return True


def collect(ws: Workspace, garbage: Garbage) -> None:
    """Run entries first, then manifests, then files: a kill midway never leaves a record naming
    what is gone."""
    ws.runs.remove(garbage.runs)
    for digest, _ in sorted(garbage.objects, key=lambda item: not item[0].endswith(DIR_SUFFIX)):
        ws.cache.remove(digest)
    for path, _ in garbage.temps:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


# -- the remote ------------------------------------------------------------------------------------


def find_remote_garbage(remote: Remote, kept: Kept, jobs: int, now: float | None = None) -> RemoteGarbage:
    """What `gc --cloud` would remove there: objects no kept lock needs, run entries naming them
    (or malformed), and uploads over an hour old that never finished. Other files are never listed."""
    now = time.time() if now is None else now
    garbage = RemoteGarbage()
    stored = stored_files(remote, jobs)
    garbage.objects = [item for item in stored if item.kind == "object" and kept.removable(item.name)]
    for item in (item for item in stored if item.kind == "temp"):
        if item.modified is None:
            garbage.undated.append(item)
        elif now - item.modified > TEMP_AGE:
            garbage.temps.append(item)
    runs = [item for item in stored if item.kind == "run"]
    with thread_pool(jobs) as pool:
        records = ordered(pool, lambda item: _remote_record(remote, item), runs)
    for item, record in zip(runs, records, strict=False):
        if record is _UNREAD:
            garbage.unjudged.append(item.name)
        elif kept.run_removable(record):
            garbage.runs.append(item)
    return garbage


_UNREAD = object()  # a run entry that could not be fetched: it is kept


def _remote_record(remote: Remote, item: Stored) -> object:
    try:
        data = remote.read_bytes(item.path)
    except Exception:  # noqa: BLE001 - kept, and counted as not judged
        return _UNREAD
    try:
        record = load_json(data, item.path)  # bounded: a remote's entry may be hostile
    except SpecError:
        return None
    return record if well_formed(record) else None


def collect_remote(remote: Remote, garbage: RemoteGarbage) -> None:
    """Run entries, then manifests, then files, then temp files, each batch done before the next:
    a manifest on the remote keeps meaning that its whole directory is there."""
    manifests = [item.path for item in garbage.objects if item.name.endswith(DIR_SUFFIX)]
    files = [item.path for item in garbage.objects if not item.name.endswith(DIR_SUFFIX)]
    for batch in ([item.path for item in garbage.runs], manifests, files, [item.path for item in garbage.temps]):
        remove_files(remote, batch)
