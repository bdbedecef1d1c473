"""The run-cache: outs of earlier successful runs, keyed by everything that went into them.

The key is the hash of (cmd, dep hashes, param values, declared outs); the entry names the
outs' hashes, whose bytes live in the cache, and how long the run took. A stale stage whose
key was seen before gets its outs back from the cache instead of running.

Entries are rows of an SQLite table, `.pipetool/runs/runs.db`: a repro's runs are written in
one transaction when it ends, not as a new file each (creating files is the slowest step of a
rerun stage on some file systems); a lookup is an index search whatever the number of runs;
and processes that share the run-cache (experiments in their worktrees) write to it at once. Like the state db it is a
cache: a damaged one is started afresh. On a remote each entry is a file of its own,
`runs/<key[:2]>/<key[2:]>`, holding the same JSON as the row.
"""

from __future__ import annotations

import json
import os
import sqlite3

import xxhash

from ..errors import SpecError
from ..files import sqlitedb
from ..files.safepath import UnsafePath, clean
from ..files.yamlfile import load_json
from .hashing import is_hash
from .lock import LockEntry, PathRecord

RUNS_DIR = "runs"
DB_FILE = "runs.db"
VERSION = 1

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
        self.path = os.path.join(self.dir, DB_FILE)
        self._db: sqlite3.Connection | None = None  # opened on first use: most commands never need it
        self._pending: dict[str, str] = {}  # key -> record text, saved but not written yet

    def save(self, entry: LockEntry) -> None:
        """Remember a successful run; written with the others at flush() (a killed run loses
        only these, which costs reruns, never a result)."""
        record = {"outs": [out.to_dict() for out in entry.outs], "duration": entry.duration}
        self._pending[run_key(entry)] = json.dumps(record, sort_keys=True)

    def add(self, key: str, record: Record) -> None:
        """An entry as a remote holds it; written at flush()."""
        self._pending[key] = json.dumps(record, sort_keys=True)

    def flush(self) -> None:
        """Write the saved runs, in one transaction."""
        rows, self._pending = list(self._pending.items()), {}
        if rows:
            self._write("INSERT OR REPLACE INTO runs VALUES (?, ?)", rows)

    def lookup(self, entry_without_outs: LockEntry) -> tuple[tuple[PathRecord, ...], float | None] | None:
        """The outs recorded for this (cmd, deps, params, declared outs), and the run's duration.

        An entry (perhaps fetched from a remote) that names other outs than the declared ones
        is ignored: it restores exactly the stage's outs or nothing.
        """
        key = run_key(entry_without_outs)
        text = self._pending.get(key)
        if text is None:
            rows = self._query("SELECT record FROM runs WHERE key = ?", (key,))
            text = rows[0][0] if rows else None
        record = _record(text) if text is not None else None
        declared = sorted(out.path for out in entry_without_outs.outs)
        if record is None or sorted(o["path"] for o in record["outs"]) != declared:
            return None
        return tuple(PathRecord(o["path"], o["xxh3"], o["size"], o.get("nfiles")) for o in record["outs"]), record.get(
            "duration"
        )

    def records(self) -> dict[str, Record]:
        """Every well-formed entry by key."""
        found = {}
        self.flush()
        for key, text in self._query("SELECT key, record FROM runs"):
            record = _record(text)
            if record is not None:
                found[key] = record
        return found

    def keys(self) -> list[str]:
        """Every entry's key, well-formed or not."""
        self.flush()
        return [key for (key,) in self._query("SELECT key FROM runs")]

    def remove(self, keys: list[str]) -> None:
        if keys:
            self._write("DELETE FROM runs WHERE key = ?", [(key,) for key in keys])

    def close(self) -> None:
        self.flush()
        self._disconnect()

    def _disconnect(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        """Rows of a query; none before anything was saved (reading creates no db)."""
        if self._db is None and not os.path.exists(self.path):
            return []
        return self._guarded(lambda db: db.execute(sql, args).fetchall())

    def _write(self, sql: str, rows: list[tuple]) -> None:
        """The statement once per row, in one transaction."""

        def write(db: sqlite3.Connection) -> list[tuple]:
            with db:
                db.execute("BEGIN")
                db.executemany(sql, rows)
            return []

        self._guarded(write)

    def _guarded(self, work) -> list[tuple]:
        """work(db), or nothing when the db is busy or unusable (a damaged one is started
        afresh): a run-cache that fails only costs reruns."""
        try:
            return work(self._open())
        except sqlite3.Error as exc:
            if sqlitedb.damaged(exc):
                self._disconnect()
                sqlitedb.remove(self.path)
            return []
        except OSError:  # its folder cannot be made (a file in the way, no permission)
            return []

    def _open(self) -> sqlite3.Connection:
        if self._db is None:
            os.makedirs(self.dir, exist_ok=True)
            self._db = sqlitedb.connect(self.path, VERSION, ["runs (key TEXT PRIMARY KEY, record TEXT)"])
        return self._db


def _record(text: str) -> Record | None:
    """The entry a row holds, or None when it is not well-formed."""
    try:
        record = load_json(text, "run-cache entry")
    except SpecError:
        return None
    return record if well_formed(record) else None


def well_formed(record: object) -> bool:
    """An entry that names each out's clean relative path, hash and size (and a duration, or
    none): the form is all that an entry from a remote can be trusted for."""
    if not isinstance(record, dict) or not isinstance(record.get("outs"), list):
        return False
    duration = record.get("duration")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, (int, float))):
        return False
    return all(_out_well_formed(o) for o in record["outs"])


def _out_well_formed(out: object) -> bool:
    if not isinstance(out, dict) or not _count(out.get("size")):
        return False
    nfiles = out.get("nfiles")
    if not is_hash(out.get("xxh3"), directory=nfiles is not None) or (nfiles is not None and not _count(nfiles)):
        return False
    try:
        clean(out.get("path"))
    except UnsafePath:
        return False
    return True


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def out_hashes(record: Record) -> list[tuple[str, str, int]]:
    """(out path, hash, size) of each out the entry names."""
    return [(o["path"], o["xxh3"], o["size"]) for o in record["outs"]]
