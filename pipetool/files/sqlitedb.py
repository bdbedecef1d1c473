"""Opening pipetool's SQLite files (the state db, the run-cache): WAL, a schema version, and
starting afresh when a file is damaged or not ours.

Both are caches: losing one costs work (hashing, reruns), never a result.
"""

from __future__ import annotations

import functools
import sqlite3

from .fsutil import remove_quietly

_DAMAGED = {"SQLITE_CORRUPT", "SQLITE_NOTADB"}


def connect(path: str, version: int, tables: list[str]) -> sqlite3.Connection:
    """The db at path, made with these tables when new; DatabaseError when it is someone else's."""
    db = sqlite3.connect(path, timeout=5, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer
        db.execute("PRAGMA synchronous=NORMAL")  # no fsync per write: a crash may lose the last ones
        found = db.execute("PRAGMA user_version").fetchone()[0]
        if found == version and _schema(db) == _expected_schema(tuple(tables)):
            return db  # already set up: opening it writes nothing
        if found == version:  # a clone can commit a db with our version and its own triggers
            raise sqlite3.DatabaseError(f"unknown version {found} of {path}: its schema is not pipetool's")
        if db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise sqlite3.DatabaseError(f"unknown version {found} of {path}")
        for table in tables:
            db.execute(f"CREATE TABLE IF NOT EXISTS {table} WITHOUT ROWID")
        db.execute(f"PRAGMA user_version={version}")
        return db
    except BaseException:
        db.close()
        raise


def _schema(db: sqlite3.Connection) -> list[tuple]:
    return sorted(db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall(), key=repr)


@functools.cache
def _expected_schema(tables: tuple[str, ...]) -> list[tuple]:
    db = sqlite3.connect(":memory:")
    for table in tables:
        db.execute(f"CREATE TABLE IF NOT EXISTS {table} WITHOUT ROWID")
    try:
        return _schema(db)
    finally:
        db.close()


def remove(path: str) -> None:
    """Delete the db with its WAL files."""
    for suffix in ("", "-wal", "-shm"):
        remove_quietly(path + suffix)


def damaged(exc: sqlite3.Error) -> bool:
    """Whether the file itself is broken (start afresh), rather than busy or unwritable (skip)."""
    return getattr(exc, "sqlite_errorname", None) in _DAMAGED or "unknown version" in str(exc)
