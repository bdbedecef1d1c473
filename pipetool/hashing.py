"""Content hashes: xxh3-128 of a file's bytes; a directory hashes as its sorted manifest."""

from __future__ import annotations

import os
import stat as statmod
from dataclasses import dataclass

import xxhash

from .state import StateDB

CHUNK = 4 * 1024 * 1024
DIR_SUFFIX = ".dir"


@dataclass(frozen=True)
class HashInfo:
    hash: str
    size: int
    nfiles: int | None = None  # set for directories only

    @property
    def is_dir(self) -> bool:
        return self.nfiles is not None


def file_hash(path: str) -> str:
    """Streamed xxh3-128 of a file's contents, as 32 hex digits."""
    hasher = xxhash.xxh3_128()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while True:
            count = handle.readinto(buffer)
            if not count:
                break
            hasher.update(view[:count])
    return hasher.hexdigest()


def manifest_hash(entries: list[tuple[str, str, int]]) -> str:
    """Hash of a directory from its sorted (relative path, file hash, size) entries."""
    hasher = xxhash.xxh3_128()
    for relpath, digest, size in entries:
        hasher.update(f"{relpath}\0{digest}\0{size}\n".encode())
    return hasher.hexdigest() + DIR_SUFFIX


class Hasher:
    """Hashes project paths, asking the state db first and remembering answers for this command."""

    def __init__(self, root: str, state: StateDB | None) -> None:
        self.root = root
        self.state = state
        self._memo: dict[tuple, str] = {}

    def info(self, path: str) -> HashInfo | None:
        """The hash of a file or directory, or None when it does not exist."""
        full = os.path.join(self.root, path)
        try:
            st = os.stat(full)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if statmod.S_ISDIR(st.st_mode):
            return self._dir_info(full)
        return HashInfo(self._file(full, st), st.st_size)

    def _file(self, full: str, st: os.stat_result) -> str:
        key = (full, st.st_ino, st.st_mtime_ns, st.st_size)
        digest = self._memo.get(key)
        if digest is None and self.state is not None:
            digest = self.state.get(full, st)
        if digest is None:
            digest = file_hash(full)
            if self.state is not None:
                self.state.put(full, st, digest)
        self._memo[key] = digest
        return digest

    def _dir_info(self, full: str) -> HashInfo:
        entries: list[tuple[str, str, int]] = []
        for relpath, file_full, st in _walk(full, ""):
            entries.append((relpath, self._file(file_full, st), st.st_size))
        entries.sort()
        return HashInfo(manifest_hash(entries), sum(e[2] for e in entries), len(entries))


def _walk(full: str, prefix: str):
    """(relative path, full path, stat) of every file below a directory; no symlinked dirs."""
    with os.scandir(full) as entries:
        for entry in entries:
            relpath = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                yield from _walk(entry.path, relpath + "/")
            elif entry.is_file():
                yield relpath, entry.path, entry.stat()
