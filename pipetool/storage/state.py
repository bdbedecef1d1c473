"""The state db: (path, inode, mtime_ns, size) -> content hash, so unchanged files are never reread.

It is only a cache. Any damage (a torn write, a foreign file, a newer version) means
starting it afresh, never a failed command.
"""

from __future__ import annotations

import os
import sqlite3
from typing import NamedTuple

from ..files import sqlitedb
from ..files.stamps import fine_grained, racy

VERSION = 2
_BATCH = 500  # paths per query: well under SQLite's limit on query parameters
# From this many paths, reading a whole table can beat looking each path up (see prefetch).
_SCAN_FROM = 1000
_SMALLEST_ROW = 64  # bytes a row takes in the db file at least (a path, a hash and three numbers)


class FileStat(NamedTuple):
    """What the state db knows a file by (os.stat_result has these too)."""

    st_ino: int
    st_mtime_ns: int
    st_size: int


Stat = os.stat_result | FileStat


def matching_hash(row: tuple | None, st: Stat) -> str | None:
    """A remembered (inode, mtime_ns, size, hash) row's hash, when the file still has that stat."""
    if row and row[0] == st.st_ino and row[1] == st.st_mtime_ns and row[2] == st.st_size:
        return row[3]
    return None


def _trusted(mtime_ns: int, written: bool) -> bool:
    """put()'s rule: a file read is remembered once out of its racy second, one pipetool wrote
    where times are finer than a second."""
    return fine_grained(mtime_ns) if written else not racy(mtime_ns)


class StateDB:
    def __init__(self, path: str) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._pending: list[tuple] = []
        self._pending_dirs: list[tuple] = []
        # Rows read ahead by prefetch: path -> row, or None when the db has none for it. A state
        # row is kept whole, (path, inode, mtime_ns, size, hash): 20,000 of them are read at once.
        self._files: dict[str, tuple | None] = {}
        self._dirs: dict[str, tuple | None] = {}
        self._whole = False  # both tables were read whole: a path not above has no row
        self._open()

    def _open(self) -> None:
        try:
            self._db = self._connect()
        except sqlite3.Error:
            self._reset()

    def _connect(self) -> sqlite3.Connection:
        return sqlitedb.connect(
            self.path,
            VERSION,
            [
                "state (path TEXT PRIMARY KEY, inode INTEGER, mtime_ns INTEGER, size INTEGER, hash TEXT)",
                "dirs (path TEXT PRIMARY KEY, fingerprint TEXT, hash TEXT, size INTEGER, nfiles INTEGER)",
            ],
        )

    def _reset(self) -> None:
        """Start from scratch: the db was damaged or is not ours."""
        sqlitedb.remove(self.path)
        try:
            self._db = self._connect()
        except sqlite3.Error:
            self._db = None  # work without a state db rather than fail

    def _rows(self, sql: str, args: tuple) -> list[tuple]:
        """Rows of a query; none when there is no db or it failed (then it starts afresh)."""
        if self._db is None:
            return []
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error:
            self._reset()
            return []

    def prefetch(self, paths: list[str]) -> None:
        """Read the rows of many paths in a few queries, rather than one query each later.

        When the paths are most of what the db can hold (the deps and outs of a no-op status of
        10,000 stages), both tables are read whole, a query each, and kept: an index search per
        path costs several times a row read in order, and later lookups of paths not asked for
        need no query either. Otherwise a table with no rows is not asked at all (a project
        without directory deps or outs has no dirs rows)."""
        if self.prefetch_whole(len(paths)):
            return
        paths = [p for p in dict.fromkeys(paths) if p not in self._files]
        if not paths:
            return
        self._files.update(dict.fromkeys(paths))
        self._dirs.update(dict.fromkeys(paths))
        for table, columns, found, whole in (
            ("state", "inode, mtime_ns, size, hash", self._files, True),
            ("dirs", "fingerprint, hash, size, nfiles", self._dirs, False),
        ):
            if not self._rows(f"SELECT 1 FROM {table} LIMIT 1", ()):
                continue
            for start in range(0, len(paths), _BATCH):
                batch = tuple(paths[start : start + _BATCH])
                marks = ",".join("?" * len(batch))
                for row in self._rows(f"SELECT path, {columns} FROM {table} WHERE path IN ({marks})", batch):
                    found[row[0]] = row if whole else row[1:]

    def prefetch_whole(self, count: int) -> bool:
        """Read both tables whole when count paths are about to be asked and they are most of
        what the db can hold (see prefetch); True when they are read whole (now or before)."""
        if self._whole:
            return True
        if count >= _SCAN_FROM and self._rows_at_most(4 * count):
            files = self._rows("SELECT path, inode, mtime_ns, size, hash FROM state", ())
            dirs = self._rows("SELECT path, fingerprint, hash, size, nfiles FROM dirs", ())
            self._files = {row[0]: row for row in files}
            self._dirs = {row[0]: row[1:] for row in dirs}
            self._whole = True
        return self._whole

    def _rows_at_most(self, count: int) -> bool:
        """Whether the db holds at most about this many rows, judged by its files' size."""
        size = 0
        for path in (self.path, self.path + "-wal"):
            try:
                size += os.stat(path).st_size
            except OSError:
                pass
        return size <= count * _SMALLEST_ROW

    def rows_read(self) -> dict[str, tuple | None] | None:
        """Every file row by path, (path, inode, mtime_ns, size, hash), when prefetch read the
        tables whole (a path not in it has no row); else None: ask get()."""
        return self._files if self._whole else None

    def get(self, path: str, st: Stat) -> str | None:
        if self._whole or path in self._files:
            row = self._files.get(path)  # (path, inode, mtime_ns, size, hash)
            if row and row[1] == st.st_ino and row[2] == st.st_mtime_ns and row[3] == st.st_size:
                return row[4]
            return None
        rows = self._rows("SELECT inode, mtime_ns, size, hash FROM state WHERE path = ?", (path,))
        return matching_hash(rows[0] if rows else None, st)

    def under(self, folder: str) -> dict[str, tuple[int, int, int, str]]:
        """Every entry below a folder, in one query: path -> (inode, mtime_ns, size, hash)."""
        prefix = folder.rstrip("/") + "/"
        rows = self._rows(
            "SELECT path, inode, mtime_ns, size, hash FROM state WHERE path >= ? AND path < ?",
            (prefix, prefix[:-1] + "0"),
        )  # '0' sorts right after '/'
        return {row[0]: row[1:] for row in rows}

    def put(self, path: str, st: Stat, digest: str, written: bool = False) -> None:
        """Remember a file's hash. A file read within its racy second is not remembered: a second
        write in the same tick would keep its stat. A file pipetool itself has just written
        (written: a checkout's restore) is, where times are finer than a second: a write by
        another program after it would have to fall in the same clock tick to keep the stat
        (git trusts the files it checks out on the same terms)."""
        if _trusted(st.st_mtime_ns, written):
            self._pending.append((path, st.st_ino, st.st_mtime_ns, st.st_size, digest))

    def get_dir(self, path: str, fingerprint: str) -> tuple[str, int, int] | None:
        """(hash, size, nfiles) of a directory whose files' stats hash to fingerprint."""
        if self._whole or path in self._dirs:
            row = self._dirs.get(path)
        else:
            rows = self._rows("SELECT fingerprint, hash, size, nfiles FROM dirs WHERE path = ?", (path,))
            row = rows[0] if rows else None
        if row and row[0] == fingerprint:
            return row[1], row[2], row[3]
        return None

    def put_dir(
        self, path: str, fingerprint: str, newest_mtime_ns: int, info: tuple[str, int, int], written: bool = False
    ) -> None:
        """Remember a folder's hash by its files' fingerprint, on put()'s terms for its newest file."""
        if _trusted(newest_mtime_ns, written):
            self._pending_dirs.append((path, fingerprint, *info))

    def flush(self) -> None:
        rows, self._pending = self._pending, []
        dirs, self._pending_dirs = self._pending_dirs, []
        if self._db is None or not (rows or dirs):
            return
        try:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany("INSERT OR REPLACE INTO state VALUES (?, ?, ?, ?, ?)", rows)
                self._db.executemany("INSERT OR REPLACE INTO dirs VALUES (?, ?, ?, ?, ?)", dirs)
        except sqlite3.Error:
            pass  # another process holds it too long; these hashes are simply computed again

    def close(self) -> None:
        self.flush()
        if self._db is not None:
            self._db.close()
            self._db = None
