"""The run-cache: outs of earlier successful runs, keyed by everything that went into them.

The key is the hash of (cmd, dep hashes, param values, declared outs); the entry names the
outs' hashes, whose bytes live in the cache, and how long the run took. A stale stage whose key was seen before gets its
outs back from the cache instead of running.
"""

from __future__ import annotations

import json
import os

import xxhash

from .lock import LockEntry, PathRecord, atomic_write

RUNS_DIR = "runs"


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

    def _path(self, key: str) -> str:
        return os.path.join(self.dir, key[:2], key[2:])

    def save(self, entry: LockEntry) -> None:
        path = self._path(run_key(entry))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        record = {"outs": [out.to_dict() for out in entry.outs], "duration": entry.duration}
        atomic_write(path, json.dumps(record, sort_keys=True), durable=False)

    def lookup(self, entry_without_outs: LockEntry) -> tuple[tuple[PathRecord, ...], float | None] | None:
        """The outs recorded for this (cmd, deps, params, declared outs), and the run's duration."""
        try:
            with open(self._path(run_key(entry_without_outs)), encoding="utf-8") as handle:
                outs, duration = _parts(json.load(handle))
            return tuple(PathRecord(o["path"], o["xxh3"], o["size"], o.get("nfiles")) for o in outs), duration
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def entries(self):
        """(path of the entry, its out records) for every run; for gc."""
        if not os.path.isdir(self.dir):
            return
        for prefix in os.listdir(self.dir):
            folder = os.path.join(self.dir, prefix)
            for name in os.listdir(folder) if os.path.isdir(folder) else []:
                path = os.path.join(folder, name)
                try:
                    with open(path, encoding="utf-8") as handle:
                        yield path, [o["xxh3"] for o in _parts(json.load(handle))[0]]
                except (OSError, ValueError, KeyError, TypeError, AttributeError):
                    yield path, None


def outs_of(path: str) -> list[tuple[str, str, int]]:
    """(out path, hash, size) of each out a run-cache entry file names; ValueError (or
    KeyError, TypeError) when it is not a well-formed entry."""
    with open(path, encoding="utf-8") as handle:
        outs = _parts(json.load(handle))[0]
    return [(o["path"], o["xxh3"], int(o["size"])) for o in outs]


def _parts(record) -> tuple[list, float | None]:
    """(outs, duration) of a record; records written before durations were kept are bare lists."""
    if isinstance(record, list):
        return record, None
    duration = record.get("duration")
    return record["outs"], duration if isinstance(duration, (int, float)) else None
