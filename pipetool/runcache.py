"""The run-cache: outs of earlier successful runs, keyed by everything that went into them.

The key is the hash of (cmd, dep hashes, param values, declared outs); the entry names the
outs' hashes, whose bytes live in the cache, and how long the run took. A stale stage whose
key was seen before gets its outs back from the cache instead of running.

Entries are lines of one append-only file, `.pipetool/runs/entries.jsonl`. Saving one is a
single write, not a new file: creating a file is the slowest step of a rerun stage on some
file systems. Processes sharing the run-cache (experiments in their worktrees) append to it
at once; a reader takes only whole lines, a later line for a key wins, and a torn line is
skipped. On a remote each entry is a file of its own, `runs/<key[:2]>/<key[2:]>`.
"""

from __future__ import annotations

import json
import os

import xxhash

from .lock import LockEntry, PathRecord, atomic_write

RUNS_DIR = "runs"
ENTRIES_FILE = "entries.jsonl"

# An entry as JSON: {"outs": [{"path", "xxh3", "size"[, "nfiles"]}, ...], "duration": seconds}.
Record = dict


def run_key(entry: LockEntry) -> str:
    """What determines a run's result; the outs' hashes are left out (they are the result)."""
    data = entry.to_dict()
    data["outs"] = sorted(out.path for out in entry.outs)
    data.pop("meta", None)
    data.pop("duration", None)
    return xxhash.xxh3_128_hexdigest(json.dumps(data, sort_keys=True, default=str).encode())


class RunCache:
    def __init__(self, state_dir: str) -> None:
        self.dir = os.path.join(state_dir, RUNS_DIR)
        self.path = os.path.join(self.dir, ENTRIES_FILE)
        self._known: dict[str, Record] = {}  # key -> record, as of the lines read so far
        self._read_to: tuple[int, int] = (0, 0)  # (inode, offset) of the next line to read
        self._fd: int | None = None  # open for appending, once this process saves
        self._own = 0  # bytes this process appended since the last read

    def save(self, entry: LockEntry) -> None:
        self.add(run_key(entry), {"outs": [out.to_dict() for out in entry.outs], "duration": entry.duration})

    def add(self, key: str, record: Record) -> None:
        """Append an entry: one write, so lines of processes appending at once never mix."""
        line = json.dumps({"key": key, **record}, sort_keys=True).encode() + b"\n"
        self._own += os.write(self._appender(), line)
        self._known[key] = record

    def lookup(self, entry_without_outs: LockEntry) -> tuple[tuple[PathRecord, ...], float | None] | None:
        """The outs recorded for this (cmd, deps, params, declared outs), and the run's duration."""
        key = run_key(entry_without_outs)
        if key not in self._known and self._others_wrote():
            self._read_new()
        record = self._known.get(key)
        if record is None:
            return None
        return tuple(PathRecord(o["path"], o["xxh3"], o["size"], o.get("nfiles")) for o in record["outs"]), \
            record.get("duration")

    def records(self) -> dict[str, Record]:
        """Every well-formed entry by key."""
        self._read_new()
        return dict(self._known)

    def keep_only(self, keys: set[str]) -> None:
        """Rewrite the entries file with these entries alone (gc); other lines go too."""
        kept = {key: record for key, record in self.records().items() if key in keys}
        if not os.path.exists(self.path):
            return
        lines = "".join(json.dumps({"key": key, **record}, sort_keys=True) + "\n" for key, record in kept.items())
        atomic_write(self.path, lines)
        self.close()
        self._known, self._read_to, self._own = {}, (0, 0), 0

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _appender(self) -> int:
        if self._fd is None:
            os.makedirs(self.dir, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                os.write(fd, b"\n")  # a killed writer's torn line must not swallow the next entry
            self._fd = fd
        return self._fd

    def _others_wrote(self) -> bool:
        """Whether the file holds more than what was read and what this process appended."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return False
        return (st.st_ino, st.st_size) != (self._read_to[0], self._read_to[1] + self._own)

    def _read_new(self) -> None:
        """Take in the whole lines added since the last read (all of them after a rewrite)."""
        try:
            with open(self.path, "rb") as handle:
                inode = os.fstat(handle.fileno()).st_ino
                if inode != self._read_to[0]:
                    self._known, self._read_to = {}, (inode, 0)
                handle.seek(self._read_to[1])
                data = handle.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1  # a line still being written waits for the next read
        for line in data[:end].splitlines():
            key, record = _parse(line)
            if key is not None:
                self._known[key] = record
        self._read_to = (self._read_to[0], self._read_to[1] + end)
        self._own = 0


def _parse(line: bytes) -> tuple[str | None, Record]:
    """(key, record) of a line, or (None, {}) when it is not a well-formed entry."""
    try:
        data = json.loads(line)
        key = data.pop("key")
        return (key, data) if isinstance(key, str) and well_formed(data) else (None, {})
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, {}


def well_formed(record: object) -> bool:
    """An entry that names each out's path, hash and size (and a duration, or none)."""
    if not isinstance(record, dict) or not isinstance(record.get("outs"), list):
        return False
    duration = record.get("duration")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, (int, float))):
        return False
    return all(isinstance(o, dict) and isinstance(o.get("path"), str) and isinstance(o.get("xxh3"), str)
               and isinstance(o.get("size"), int) and isinstance(o.get("nfiles", 0), int)
               for o in record["outs"])


def out_hashes(record: Record) -> list[tuple[str, str, int]]:
    """(out path, hash, size) of each out the entry names."""
    return [(o["path"], o["xxh3"], o["size"]) for o in record["outs"]]
