"""pipeline.lock: what produced each result, recorded durably stage by stage.

A run appends one line per finished stage to `.pipetool/lock.journal` (constant cost per
stage, survives a kill) and rewrites pipeline.lock once at the end (temp file + rename).
Readers replay the journal over the lock, so a killed run loses nothing it finished. The
journal's header names the lock files the run read (those of its stages) and their digest: its
records apply while those locks have the same bytes, whatever happens to the others.
"""

from __future__ import annotations

import errno
import json
import os
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from typing import Any

import xxhash

from ..errors import LockError, SpecError
from ..files import safepath, stamps, trusted_cache, yamlfile
from ..files.fsutil import atomic_write_bytes, read_regular, remove_quietly
from ..pipeline.pipelines import (
    LOCK_FILE,
    PIPELINE_FILE,
    address,
    file_of,
    folder_of,
    is_pointer,
    lock_of,
    pipeline_files,
    pointer_files,
    split,
)
from .external import VERSION_KEYS, clean_version
from .hashing import HashInfo, is_hash

JOURNAL_FILE = "lock.journal"
CACHE_FILE = "lock.cache"
RECENT_FILE = "lock.recent"  # the parses of the few small locks changed since lock.cache was written
BLOCKS_FILE = "lock.blocks"  # each lock's rendered blocks, read only to write that lock
COMPACT_FILE = "lock.compact"  # each lock's entries as tuples, for status (see compact)
VERSION = 1
DROPPED = "dropped_in_merge"
MAX_URL = 4096  # characters of a URL dep read from a lock
_HINT = "fix it, or run 'pipetool repro -f' to ignore the lock and write it anew"


@dataclass(frozen=True)
class PathRecord:
    path: str
    hash: str
    size: int | None  # None only for a URL dep whose backend tells no size
    nfiles: int | None = None
    key: str = "xxh3"  # the lock's name for hash: a URL dep's version may be an etag or checksum, as in DVC

    @classmethod
    def of(cls, path: str, info: HashInfo) -> PathRecord:
        return cls(path, info.hash, info.size, info.nfiles, info.key)

    def to_dict(self) -> dict:
        data = {"path": self.path, self.key: self.hash}
        if self.size is not None:
            data["size"] = self.size
        if self.nfiles is not None:
            data["nfiles"] = self.nfiles
        return data


@dataclass(frozen=True)
class LockEntry:
    cmd: str | tuple[str, ...]
    deps: tuple[PathRecord, ...] = ()
    params: dict = field(default_factory=dict)  # params file -> {key: value}
    outs: tuple[PathRecord, ...] = ()
    dropped_in_merge: bool = False  # both branches changed it differently: a placeholder, stale
    # Seconds the run that produced these results took. Not part of the entry's identity
    # (compare=False): two runs with the same results are the same entry, however long each took.
    duration: float | None = field(default=None, compare=False)

    def same_result(self, other: LockEntry) -> bool:
        """The same cmd, deps, params and outs, whatever their order and however long each run took."""
        mine, theirs = self.to_dict(), other.to_dict()
        mine.pop("duration", None)
        theirs.pop("duration", None)
        return mine == theirs

    def to_dict(self) -> dict:
        if self.dropped_in_merge:
            return {DROPPED: True}
        data: dict[str, Any] = {"cmd": self.cmd if isinstance(self.cmd, str) else list(self.cmd)}
        if self.deps:
            data["deps"] = [d.to_dict() for d in sorted(self.deps, key=lambda d: d.path)]
        if self.params:
            data["params"] = {f: dict(sorted(v.items())) for f, v in sorted(self.params.items())}
        if self.outs:
            data["outs"] = [o.to_dict() for o in sorted(self.outs, key=lambda o: o.path)]
        if self.duration is not None:
            data["duration"] = self.duration
        return data


DROPPED_ENTRY = LockEntry(cmd="", dropped_in_merge=True)

# A lock entry as plain tuples, kept in lock.compact for `status`: unpickling tuples takes a third
# of the time of LockEntry and PathRecord objects (0.25 against 0.68 s for 100,000 stages), and a
# stage found up to date never needs its objects. (cmd, deps, params, outs, dropped_in_merge,
# duration), each dep and out as (path, hash, size, nfiles, key).
Compact = tuple
_RECORD_FIELDS = ("path", "hash", "size", "nfiles", "key")


def compact(entry: LockEntry) -> Compact:
    def records(items: tuple[PathRecord, ...]) -> tuple[tuple, ...]:
        return tuple((r.path, r.hash, r.size, r.nfiles, r.key) for r in items)

    return (entry.cmd, records(entry.deps), entry.params, records(entry.outs), entry.dropped_in_merge, entry.duration)


def expand(record: Compact) -> LockEntry:
    """The LockEntry a compact record was made from."""
    cmd, deps, params, outs, dropped, duration = record
    return LockEntry(
        cmd, tuple(PathRecord(*r) for r in deps), params, tuple(PathRecord(*r) for r in outs), dropped, duration
    )


def relocated(entry: LockEntry, folder: str, into: bool) -> LockEntry:
    """An entry of a lock in a subfolder, whose paths are relative to that folder (as DVC's
    dvc.lock beside its dvc.yaml): into=True makes them project-relative, False lock-relative.
    Absolute paths and URLs (deps outside the project) stay as they are."""
    if folder == "." or entry.dropped_in_merge:
        return entry

    def move(path: str) -> str:
        if posixpath.isabs(path) or safepath.is_url(path):
            return path
        return posixpath.normpath(posixpath.join(folder, path)) if into else posixpath.relpath(path, folder)

    return replace(
        entry,
        deps=tuple(replace(r, path=move(r.path)) for r in entry.deps),
        outs=tuple(replace(r, path=move(r.path)) for r in entry.outs),
        params={move(file): values for file, values in entry.params.items()},
    )


# The pickled copy of a parsed lock is only good for the same shape of entries and records.
_CACHE_FORMAT = repr((VERSION, 9, *([f.name for f in fields(record)] for record in (LockEntry, PathRecord))))

# Up to this many locks whose stamp alone changed, a read does not save the kept parses (see read).
_FEW_RESTAMPS = 16
# A lock up to this size whose kept parse is of older bytes has its new parse kept in lock.recent,
# up to _FEW_RESTAMPS of them (see _KeptParses).
_SMALL_LOCK = 4096  # bytes
_FEW_BLOCKS = 16  # stages of a lock rendered afresh at each write, without its kept blocks

Blocks = dict[str, tuple[LockEntry, str]]  # stage name -> (entry, its text in the lock)


def render(entries: dict[str, LockEntry], known: Blocks | None = None) -> str:
    """The lock file's text: sorted by stage, deps and outs by path, so diffs stay minimal."""
    return join_blocks(render_blocks(entries, known))


def render_blocks(entries: dict[str, LockEntry], known: Blocks | None = None) -> Blocks:
    """Each stage's block, rendered on its own: a known block of an unchanged entry is reused,
    so recording a few stages of a big pipeline renders only those."""
    known = known or {}
    blocks = {}
    for name in sorted(entries):
        entry, old = entries[name], known.get(name)
        same = old and old[0] == entry and old[0].duration == entry.duration  # == leaves duration out
        blocks[name] = (entry, old[1] if same else _render_block(name, entry))
    return blocks


def join_blocks(blocks: Blocks) -> str:
    if not blocks:
        return yamlfile.dump({"version": VERSION, "stages": {}})
    return f"version: {VERSION}\nstages:\n" + "".join(text for _, text in blocks.values())


def _render_block(name: str, entry: LockEntry) -> str:
    """One stage's part of the lock, indented under 'stages:'."""
    from . import lock_yaml  # only when a lock is written or read anew: not on a no-op command

    data = entry.to_dict()
    return lock_yaml.block(name, data) or yaml_block(name, data)


def yaml_block(name: str, data: dict) -> str:
    """What PyYAML writes for a stage's entry under 'stages:' (lock_yaml writes the same, faster)."""
    text = yamlfile.dump({name: data})
    return "".join("  " + line for line in text.splitlines(keepends=True))


def parse(text: str, display: str = LOCK_FILE, folder: str = ".") -> dict[str, LockEntry]:
    """A lock's entries, checked as untrusted input; folder: where the lock lies (its paths are
    relative to it, and an out must still lie inside the project)."""
    try:
        yamlfile.check_size(text, display, yamlfile.MAX_DOCUMENT_BYTES)
    except SpecError as exc:
        raise LockError(exc.message, file=exc.file, line=exc.line, column=exc.column, hint=_HINT) from None
    from . import lock_yaml

    data = lock_yaml.read(text)  # the lock as pipetool writes it, read without a YAML parser
    if data is not None:
        try:
            return _checked(data, display, folder)
        except LockError:
            pass  # the YAML parser's reading says what is wrong, with the same words and lines
    try:
        data = yamlfile.parse(text, display)
    except SpecError as exc:
        raise LockError(exc.message, file=exc.file, line=exc.line, column=exc.column, hint=_HINT) from None
    return _checked(data, display, folder)


def _checked(data: Any, display: str, folder: str) -> dict[str, LockEntry]:
    if data is None:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("stages", {}), dict):
        raise LockError("not a pipetool lock file (expected 'version' and 'stages')", file=display, line=1, hint=_HINT)
    if data.get("version") != VERSION:
        raise LockError(
            f"unknown lock version {data.get('version')!r} (this pipetool writes {VERSION})",
            file=display,
            line=data.line_of("version") if "version" in data else 1,
            hint="upgrade pipetool, or run 'pipetool repro -f' to write it anew",
        )
    stages = data.get("stages") or {}
    return {str(name): _entry(str(name), body, display, stages.line_of(name), folder) for name, body in stages.items()}


def _entry(name: str, body: Any, display: str, line: int, folder: str = ".") -> LockEntry:
    def fail(message: str, at: int = line) -> LockError:
        return LockError(message, file=display, line=at, stage=name, hint=_HINT)

    if not isinstance(body, dict):
        raise fail("entry must be a mapping")
    if safepath.has_control_characters(name):
        raise fail(f"the stage name {name!r} holds control characters")
    if body.get(DROPPED) is True:
        return DROPPED_ENTRY
    cmd = body.get("cmd")
    if isinstance(cmd, list) and cmd and all(isinstance(c, str) for c in cmd):
        cmd = tuple(cmd)
    elif not isinstance(cmd, str):
        raise fail("'cmd' missing or not text", body.line_of("cmd"))
    params = body.get("params") or {}
    if not isinstance(params, dict) or not all(isinstance(v, dict) for v in params.values()):
        raise fail("'params' must map each params file to {key: value}", body.line_of("params"))
    if any(safepath.has_control_characters(str(file)) for file in params):
        raise fail("a params file name holds control characters", body.line_of("params"))
    duration = body.get("duration")
    if duration is not None and (
        isinstance(duration, bool) or not isinstance(duration, (int, float)) or not duration >= 0
    ):
        raise fail(f"'duration' must be a number of seconds, not {duration!r}", body.line_of("duration"))
    return LockEntry(
        cmd=cmd,
        deps=_records(body, "deps", fail, folder),
        params={str(f): dict(v) for f, v in params.items()},
        outs=_records(body, "outs", fail, folder),
        duration=duration,
    )


def _records(body: dict, key: str, fail, folder: str = ".") -> tuple[PathRecord, ...]:
    items = body.get(key) or []
    if not isinstance(items, list):
        raise fail(f"'{key}' must be a list", body.line_of(key))
    records = []
    for item in items:
        if not isinstance(item, dict):
            raise fail(f"each of '{key}' must have path, xxh3 and size", body.line_of(key))
        path, size, nfiles = item.get("path"), item.get("size"), item.get("nfiles")
        name = _version_key(item) if safepath.is_url(path) else "xxh3"
        digest = item.get(name)
        in_project = (
            path
            if folder == "." or not isinstance(path, str) or posixpath.isabs(path) or safepath.is_url(path)
            else posixpath.normpath(posixpath.join(folder, path))
        )
        problem = record_problem(in_project, digest, size, nfiles, out=key == "outs", key=name)
        if problem is not None:
            field_name, message = problem
            raise fail(f"an entry of '{key}': {message}", item.line_of(field_name))
        records.append(PathRecord(path, digest, size, nfiles, name))
    return tuple(records)


def _version_key(item: dict) -> str:
    """Which of DVC's version keys a URL dep's record has (the first, in VERSION_KEYS order)."""
    return next((name for name in VERSION_KEYS if name in item), "etag")


def record_problem(
    path: Any, digest: Any, size: Any, nfiles: Any = None, out: bool = True, key: str = "xxh3"
) -> tuple[str, str] | None:
    """(the field at fault, what is wrong) of a path record read from data (a lock, a journal,
    a remote), or None when it has the form pipetool writes. Deps may lie outside the project
    (a URL among them, whose version is under key); outs (out=True) may not. A cloned
    repository's lock is not trusted: its paths and hashes reach the cache and the workspace,
    so nothing uses one before it passes here.
    """
    if not isinstance(path, str) or not path:
        return "path", f"'path' must be a path, not {path!r}"
    if safepath.is_url(path):
        return _url_problem(path, digest, size, nfiles, out, key)
    if out:
        try:
            safepath.clean(path)
        except safepath.UnsafePath as exc:
            return "path", f"the out {exc}: an out is a clean relative path inside the project"
    elif safepath.has_control_characters(path) or posixpath.normpath(path) != path:
        return "path", f"the dep {path!r} is not a normalized path without control characters"
    if not is_hash(digest):
        return "xxh3", f"'xxh3' of '{path}' must be 32 lowercase hex digits (with '.dir' for a folder), not {digest!r}"
    if not _is_count(size):
        return "size", f"'size' of '{path}' must be a whole number, not {size!r}"
    if nfiles is not None and not _is_count(nfiles):
        return "nfiles", f"'nfiles' of '{path}' must be a whole number, not {nfiles!r}"
    return None


def _url_problem(path: str, digest: Any, size: Any, nfiles: Any, out: bool, key: str) -> tuple[str, str] | None:
    """record_problem of a URL dep: never an out; its version is text as a backend gives it,
    its size may be unknown. A URL is read, never written, cached or pushed."""
    if out:
        return "path", f"the out '{path}' is a URL: outs are paths inside the project"
    if safepath.has_control_characters(path) or len(path) > MAX_URL:
        return "path", f"the dep {path!r} is not a URL without control characters"
    if key not in VERSION_KEYS:
        return "path", f"the URL dep '{path}' needs one of {', '.join(VERSION_KEYS)}"
    if key == "xxh3" and not is_hash(digest):
        return "xxh3", f"'xxh3' of '{path}' must be 32 lowercase hex digits (with '.dir' for a folder), not {digest!r}"
    if not isinstance(digest, str) or clean_version(digest) != digest:
        return key, f"'{key}' of '{path}' must be text without quotes or control characters, not {digest!r}"
    if size is not None and not _is_count(size):
        return "size", f"'size' of '{path}' must be a whole number, not {size!r}"
    if nfiles is not None and not _is_count(nfiles):
        return "nfiles", f"'nfiles' of '{path}' must be a whole number, not {nfiles!r}"
    return None


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class LockStore:
    """Reads the lock files (one beside each pipeline file) with the journal replayed; records
    stages; compacts. Entries are keyed by stage address (pipelines.address). Pointer files among
    the files are read as the locks of their data stages; a data stage recorded here is written
    into its pointer file (`pipetool add` and repro write them directly: see storage/pointer.py)."""

    def __init__(self, root: str, state_dir: str, files: Iterable[str] = (PIPELINE_FILE,)) -> None:
        self.root = root
        files = list(files)
        self.files = pipeline_files(files)  # the pipeline files; each one's lock is lock_of(file)
        self.pointers = pointer_files(files)  # each its own lock
        self.journal_path = os.path.join(state_dir, JOURNAL_FILE)
        self.cache_path = os.path.join(state_dir, CACHE_FILE)
        self._journal_fd: int | None = None
        self._header: str | None = None  # the journal's first line, from begin()
        self._pending: set[str] = set()  # pipeline files whose lock lacks entries the journal holds
        self._blocks: dict[str, Blocks] = {}  # per lock file, the blocks last rendered (see _known_blocks)
        self._cache: _KeptParses | None = None  # lock path -> its parse, see _remember
        # Lock path -> its blocks (each stage's entry and text, to write it again), kept apart
        # from the parses: a command that only reads locks (status) does not read them at all.
        self._blocks_cache: trusted_cache.Shelf | None = None
        self.blocks_path = os.path.join(state_dir, BLOCKS_FILE)
        self._restamped = 0  # locks whose kept parse changed only its stamp since the last save
        self._reparsed = False  # a parse newly kept in lock.cache since the last save
        self._keys: dict[str, str] = {}  # each pipeline file's lock digest (_base), as read or written
        self._read_files: list[str] | None = None  # the pipeline files whose locks the last read() read

    def _lock_bytes(self, relpath: str) -> bytes | None:
        full = os.path.join(self.root, relpath)
        try:
            fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            fd = self._open_link(relpath)  # a clone's could lead to any file of the machine
        with open(fd, "rb") as handle:
            return handle.read()

    def _open_link(self, relpath: str) -> int:
        from ..pipeline.project import ProjectFiles

        try:
            ProjectFiles(self.root).check(relpath)
        except SpecError as exc:
            raise LockError(
                exc.message,
                file=relpath,
                hint=f"remove the link (git rm {relpath}); 'pipetool repro' writes a lock anew",
            ) from None
        return os.open(os.path.join(self.root, relpath), os.O_RDONLY | os.O_CLOEXEC)

    def read(self, ignore_lock: bool = False, files: Iterable[str] | None = None) -> dict[str, LockEntry]:
        """Entries as of the last finished stage; ignore_lock drops a broken lock file.

        files: the pipeline and pointer files whose entries are wanted (a repro or status of some
        stages of a project of a thousand pipeline files reads a few locks, not a thousand); all
        by default, and all while a killed run's journal is there, whose records may be of any.
        """
        entries: dict[str, LockEntry] = {}
        self._keys = {}
        journal = read_regular(self.journal_path)
        wanted = self.files + self.pointers
        if files is not None and journal is None:
            chosen = set(files)
            wanted = [file for file in wanted if file in chosen]
        self._read_files = [file for file in wanted if not is_pointer(file)]
        for file in wanted:
            try:
                entries.update(self._entries(file))
            except LockError:
                if not ignore_lock:
                    raise
        # New stamps alone for a few locks (those the last run wrote, now out of their racy second)
        # are not worth re-pickling every kept parse: those few are read again until the next save.
        self._save_cache()
        replayed = _journal_records(journal, self._keys)
        for name, entry in replayed:
            entries[name] = entry
        self._pending = {file_of(name) for name, _ in replayed}  # finished stages the locks do not show yet
        return entries

    def read_compact(self, files: Iterable[str] | None = None) -> dict[str, Compact]:
        """What read(files=files) gives, each entry in its compact form (see compact).

        Each lock's compact entries are kept in lock.compact with its digest and stamp, and used
        for its exact bytes, as lock.cache's parses are (_entries). A lock without them there
        (new bytes, or not kept yet) costs a read(), whose entries are kept for the next time;
        while a killed run's journal is there, read() alone answers.
        """
        wanted = self.files + self.pointers
        if files is not None:
            chosen = set(files)
            wanted = [file for file in wanted if file in chosen]
        if not os.path.exists(self.journal_path):
            shelf = trusted_cache.Shelf(os.path.join(os.path.dirname(self.cache_path), COMPACT_FILE), COMPACT_FILE)
            found = self._kept_compact(shelf, wanted)
            if found is not None:
                return found
            entries = self.read(files=files)
            for file in wanted:
                relpath = lock_of(file)
                kept = self._cached().get(relpath)
                if isinstance(kept, dict) and kept.get("format") == _CACHE_FORMAT:
                    project = {name: compact(entry) for name, entry in kept["project"].items()}
                    shelf.set(
                        relpath,
                        {"format": _CACHE_FORMAT, "key": kept["key"], "stamp": kept["stamp"], "entries": project},
                    )
            if shelf.changed:
                shelf.save({lock_of(file) for file in self.files + self.pointers})
        else:
            entries = self.read(files=files)
        return {name: compact(entry) for name, entry in entries.items()}

    def _kept_compact(self, shelf: trusted_cache.Shelf, wanted: list[str]) -> dict[str, Compact] | None:
        """The compact entries of these files' locks, when lock.compact has them for their bytes now."""
        found: dict[str, Compact] = {}
        for file in wanted:
            relpath = lock_of(file)
            kept = shelf.get(relpath)
            if not (isinstance(kept, dict) and kept.get("format") == _CACHE_FORMAT):
                return None
            now, key = stamps.unchanged(os.path.join(self.root, relpath), (kept.get("stamp"), kept.get("key")))
            if key is None:
                key = _base(self._lock_bytes(relpath))
            if key != kept.get("key"):
                return None
            if now != kept.get("stamp"):  # the same bytes, out of their racy second now
                shelf.set(relpath, {**kept, "stamp": now})
            found.update(kept["entries"])
        if shelf.changed:
            shelf.save({lock_of(file) for file in self.files + self.pointers})
        return found

    def _entries(self, file: str) -> dict[str, LockEntry]:
        """A pipeline file's lock entries by stage address, with project-relative paths: parsed,
        or the copy made last time its lock had these exact bytes.

        YAML parsing dominates a no-op status of a big pipeline; unpickling is ~10x faster. A lock
        whose stamp is the one kept with that copy is not even read: a project of a thousand
        pipeline files would otherwise read a thousand locks for every command.
        """
        relpath = lock_of(file)
        cached = self._cached().get(relpath)
        usable = isinstance(cached, dict) and cached.get("format") == _CACHE_FORMAT
        now, key = stamps.unchanged(
            os.path.join(self.root, relpath), (cached.get("stamp"), cached.get("key")) if usable else None
        )
        raw = None
        if key is None:
            raw = self._lock_bytes(relpath)
            key = _base(raw)
        if not is_pointer(file):  # a journal applies to the lock files alone
            self._keys[file] = key
        if usable and cached.get("key") == key:
            if cached.get("stamp") != now:
                cached["stamp"] = now
                if self._cached().restamp(relpath, cached):
                    self._restamped += 1
            return cached["project"]
        if raw is None:
            return {}
        project = _parsed(file, raw.decode("utf-8", errors="replace"))
        self._remember(relpath, key, {}, project, now, small=usable and len(raw) <= _SMALL_LOCK)
        return project

    def _cached(self) -> _KeptParses:
        if self._cache is None:
            self._cache = _KeptParses(self.cache_path, os.path.join(os.path.dirname(self.cache_path), RECENT_FILE))
        return self._cache

    def _remember(
        self,
        relpath: str,
        key: str,
        blocks: Blocks,
        project: dict[str, LockEntry],
        stamp: stamps.Stamp | None,
        small: bool = False,
    ) -> None:
        """Keep a parsed lock for the next read of these exact bytes, and the blocks written.
        small: a small lock whose kept parse was of older bytes, kept in lock.recent."""
        record = {"format": _CACHE_FORMAT, "key": key, "project": project, "stamp": stamp}
        self._cached().set(relpath, record, small)
        if blocks:  # a parse has none: the blocks kept from earlier still serve (see _known_blocks)
            self._cached_blocks().set(relpath, {"format": _CACHE_FORMAT, "blocks": blocks})
        if not small:
            self._reparsed = True

    def _cached_blocks(self) -> trusted_cache.Shelf:
        if self._blocks_cache is None:
            self._blocks_cache = trusted_cache.Shelf(self.blocks_path, BLOCKS_FILE)
        return self._blocks_cache

    def _known_blocks(self, relpath: str) -> Blocks | None:
        """Blocks rendered earlier for this lock, read when it is written: a block is reused only
        for an equal entry (render_blocks), so blocks of an older version of the lock serve too."""
        if relpath not in self._blocks:
            kept = self._cached_blocks().get(relpath)
            usable = isinstance(kept, dict) and kept.get("format") == _CACHE_FORMAT
            self._blocks[relpath] = kept["blocks"] if usable else {}
        return self._blocks[relpath]

    def _save_cache(self) -> None:
        """Write the kept parses once per read or write, whatever the number of locks: lock.cache
        (and the blocks) after a parse of a new or big lock or many new stamps, else only the few
        small locks of lock.recent (see _KeptParses)."""
        if self._cache is None:
            return
        locks = {lock_of(file) for file in self.files + self.pointers}
        if self._cache.save(locks, whole=self._reparsed or self._restamped > _FEW_RESTAMPS):
            if self._blocks_cache is not None and self._blocks_cache.changed:
                self._blocks_cache.save(locks)
            self._reparsed = False
            self._restamped = 0

    def begin(self, entries: dict[str, LockEntry]) -> None:
        """Start a journal whose records apply to the lock files as they are now.

        Records replayed from a killed run's journal are written into the locks first: the new
        journal replaces the old one.
        """
        if self._pending:
            self._write_locks(entries, entries, self._pending)
            self._pending = set()
        covered = self.files if self._read_files is None else self._read_files
        for file in covered:
            if file not in self._keys:
                self._keys[file] = _base(self._lock_bytes(lock_of(file)))
        base = _base_of({file: self._keys[file] for file in covered})
        self._header = json.dumps({"journal": VERSION, "base": base, "files": covered}) + "\n"

    def record(self, name: str, entry: LockEntry) -> None:
        """Durable before the next stage starts: one append, whatever the pipeline's size. The
        journal is made at the first record: a run that records nothing makes no file."""
        assert self._header is not None, "begin() first"
        if self._journal_fd is None:
            self._journal_fd = os.open(self.journal_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.write(self._journal_fd, self._header.encode())
        line = json.dumps({"stage": name, "entry": entry.to_dict()}, sort_keys=True, default=str)
        os.write(self._journal_fd, (line + "\n").encode())
        self._pending.add(file_of(name))

    def commit(self, entries: dict[str, LockEntry], keep: Iterable[str]) -> None:
        """Write each lock once (only the stages that still exist), then drop the journal."""
        names = set(keep)
        losing = {file_of(name) for name in entries if name not in names}
        self._write_locks(entries, names, self._pending | losing)
        self._pending = set()
        self.close()
        try:
            os.remove(self.journal_path)
        except FileNotFoundError:
            pass

    def _write_locks(self, entries: dict[str, LockEntry], keep, files: set[str]) -> None:
        """Write the locks of these pipeline files with their kept entries (a file no longer
        in the project is left alone)."""
        per_file: dict[str, dict[str, LockEntry]] = {file: {} for file in self.files if file in files}
        for name, entry in entries.items():
            file, short = split(name)
            if file in per_file and name in keep:
                per_file[file][short] = relocated(entry, folder_of(file), into=False)
        for file, kept in per_file.items():
            current = self._keys[file] if file in self._keys else _base(self._lock_bytes(lock_of(file)))
            if kept or current != _base(None):
                self._write_lock(file, kept, current)
        for file in self.pointers:
            if file in files and file in keep and file in entries:
                self._write_pointer(file, entries[file])
        self._save_cache()

    def _write_pointer(self, file: str, entry: LockEntry) -> None:
        """A data stage's recorded entry into its pointer file (DVC's keys kept), when the pointer
        file still tracks that path: a stage recorded through the journal (`commit`) as any other."""
        from . import pointer

        if entry.dropped_in_merge or len(entry.outs) != 1:
            return
        tracked = pointer.read(self.root, file)
        if tracked is not None and tracked.path == entry.outs[0].path:
            pointer.write(self.root, tracked.with_record(entry.outs[0]))

    def _write_lock(self, file: str, entries: dict[str, LockEntry], current: str) -> None:
        """Write a pipeline file's lock (entries by name as written, paths relative to the lock)
        when its text changes (current: the digest of its bytes now), and keep its parse cache in
        step; the new file is stamped when it is next read, once it is not racy."""
        relpath = lock_of(file)
        # A lock of a few stages is rendered afresh: cheaper than reading the kept blocks.
        few = len(entries) <= _FEW_BLOCKS
        blocks = render_blocks(entries, None if few else self._known_blocks(relpath))
        data = join_blocks(blocks).encode()
        key = _base(data)
        if key != current:
            atomic_write_bytes(os.path.join(self.root, relpath), data)
            self._keys[file] = key
            self._blocks[relpath] = blocks
            small = len(data) <= _SMALL_LOCK and self._cached().get(relpath) is not None
            self._remember(relpath, key, {} if few else blocks, _in_project(file, entries), None, small=small)

    def close(self) -> None:
        if self._journal_fd is not None:
            os.close(self._journal_fd)
            self._journal_fd = None


class _KeptParses:
    """The kept parses of the project's locks, by lock path: every lock's in one shelf
    (lock.cache), and the few small locks changed since it was written in a small file of their
    own (lock.recent), read first. Writing the shelf costs as much as the project has locks (a
    megabyte for a thousand folders), while a repro of one folder's stage changes one small lock:
    its new parse goes to the small file. The shelf is written, taking the small file in, when a
    lock new to it or a big one was parsed, many stamps moved, or the small file holds many locks.

    Any kept parse, from either file, is used only for the bytes it was made from (LockStore._entries).
    The shelf is read only when the small file does not have what is asked: a repro of the folder
    it holds reads that alone."""

    def __init__(self, shelf_path: str, recent_path: str) -> None:
        self.shelf_path = shelf_path
        self._shelf: trusted_cache.Shelf | None = None
        self.recent_path = recent_path
        loaded = trusted_cache.load(recent_path, RECENT_FILE)
        self.recent: dict[str, Any] = loaded if isinstance(loaded, dict) else {}
        self.recent_changed = False

    @property
    def shelf(self) -> trusted_cache.Shelf:
        if self._shelf is None:
            self._shelf = trusted_cache.Shelf(self.shelf_path, CACHE_FILE)
        return self._shelf

    def get(self, relpath: str) -> Any | None:
        found = self.recent.get(relpath)
        return self.shelf.get(relpath) if found is None else found

    def set(self, relpath: str, record: dict, small: bool) -> None:
        if small:
            self.recent[relpath] = record
            self.recent_changed = True
            return
        self.shelf.set(relpath, record)
        if self.recent.pop(relpath, None) is not None:
            self.recent_changed = True

    def restamp(self, relpath: str, record: dict) -> bool:
        """Keep a new stamp for a parse where it lies; True when that is the shelf."""
        if relpath in self.recent:
            self.recent[relpath] = record
            self.recent_changed = True
            return False
        self.shelf.set(relpath, record)
        return True

    def save(self, locks: set[str], whole: bool) -> bool:
        """Write what changed of these locks' parses (the others are dropped); True when the
        shelf was written (whole, or the small file holding too many)."""
        if whole or len(self.recent) > _FEW_RESTAMPS:
            for relpath, record in self.recent.items():
                self.shelf.set(relpath, record)
            if self.recent:
                self.recent = {}
                self.recent_changed = True
            if self._shelf is not None and self._shelf.changed:
                self._shelf.save(locks)
            if self.recent_changed:
                remove_quietly(self.recent_path)
                self.recent_changed = False
            return True
        if self.recent_changed:
            trusted_cache.save(
                self.recent_path, RECENT_FILE, {relpath: r for relpath, r in self.recent.items() if relpath in locks}
            )
            self.recent_changed = False
        return False


def _base(raw: bytes | None) -> str:
    return "none" if raw is None else xxhash.xxh3_128_hexdigest(raw)


def _base_of(keys: dict[str, str]) -> str:
    """What a journal applies to: the lock's bytes (the lock files' digests, path by path)."""
    if list(keys) == [PIPELINE_FILE]:
        return keys[PIPELINE_FILE]
    return xxhash.xxh3_128_hexdigest("".join(f"{file}\0{key}\0" for file, key in keys.items()).encode())


def read_all(source: Any, files: Iterable[str]) -> dict[str, LockEntry]:
    """The entries of the locks beside these pipeline files, and of the data stages of the
    pointer files among them, read through a source (a git revision, say); LockError for a lock
    or pointer file that cannot be read."""
    entries: dict[str, LockEntry] = {}
    for file in files:
        text = source.read_text(lock_of(file))
        if text:
            entries.update(_parsed(file, text))
    return entries


def _parsed(file: str, text: str) -> dict[str, LockEntry]:
    """A lock's entries by stage address with project-relative paths, or a pointer file's one."""
    if is_pointer(file):
        from . import pointer

        return {file: pointer.parse(text, file).entry()}
    return _in_project(file, parse(text, lock_of(file), folder_of(file)))


def _in_project(file: str, parsed: dict[str, LockEntry]) -> dict[str, LockEntry]:
    """A pipeline file's lock entries by stage address, with project-relative paths."""
    folder = folder_of(file)
    if folder == ".":
        return parsed
    return {address(file, name): relocated(entry, folder, into=True) for name, entry in parsed.items()}


def _journal_records(data: bytes | None, keys: dict[str, str]) -> list[tuple[str, LockEntry]]:
    """Records of a journal written over these very locks (keys: each pipeline file's lock
    digest now); a torn last line is dropped."""
    if data is None:
        return []
    lines = data.split(b"\n")
    try:
        header = json.loads(lines[0])
    except ValueError:
        return []
    if not isinstance(header, dict):
        return []
    covered = header.get("files", list(keys))  # a journal without "files" covers every lock
    if not isinstance(covered, list) or not all(isinstance(file, str) and file in keys for file in covered):
        return []  # a lock it was written over is no longer the project's
    if header.get("base") != _base_of({file: keys[file] for file in covered}):
        return []  # a lock changed since (compacted, or git checkout): stale journal
    records = []
    for raw in lines[1:]:
        try:
            item = json.loads(raw)
            records.append((item["stage"], _entry(item["stage"], _mapping(item["entry"]), "journal", 0)))
        except (ValueError, KeyError, TypeError, LockError):
            continue  # torn or foreign line
    return records


def _mapping(value: Any) -> Any:
    """JSON dicts as line-aware mappings, so journal entries validate like lock entries."""
    if isinstance(value, dict):
        mapping = yamlfile.Mapping({k: _mapping(v) for k, v in value.items()})
        mapping.key_lines = {}
        return mapping
    if isinstance(value, list):
        return [_mapping(v) for v in value]
    return value
