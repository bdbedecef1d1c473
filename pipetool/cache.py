"""The content-addressed cache: outs stored once by xxh3-128 under `.pipetool/cache/`.

A file is `cache/ab/cdef…`; a directory is a manifest `cache/ab/cdef….dir` (JSON list of
[relative path, hash, size]) plus its files' objects. Objects are read-only and never change.
Getting bytes in and out of the cache tries a reflink (a copy that shares blocks) first, then
the configured link type: copy, hardlink or symlink.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import threading
from collections.abc import Iterator

from .hashing import DIR_SUFFIX, Hasher, file_hash, manifest_hash

CACHE_DIR = "cache"
_FICLONE = 0x40049409  # Linux ioctl: make dst share src's blocks (btrfs, xfs, …)


class CorruptObject(Exception):
    """A cache object whose bytes no longer hash to its name."""


class Cache:
    def __init__(self, state_dir: str, link_type: str = "copy", hasher: Hasher | None = None) -> None:
        self.dir = os.path.join(state_dir, CACHE_DIR)
        self.link_type = link_type
        self.hasher = hasher

    def path(self, digest: str) -> str:
        return os.path.join(self.dir, digest[:2], digest[2:])

    def has(self, digest: str) -> bool:
        return os.path.exists(self.path(digest))

    def has_all(self, digest: str) -> bool:
        """The object, and for a directory every file of its manifest."""
        if not self.has(digest):
            return False
        if not digest.endswith(DIR_SUFFIX):
            return True
        return all(self.has(file_digest) for _, file_digest, _ in self.manifest(digest))

    # -- putting outs in -------------------------------------------------------------------
    def _link_type(self, link: bool) -> str:
        """Links only where asked: outs that git keeps or a stage appends to stay private copies."""
        return self.link_type if link else "copy"

    def store(self, full: str, digest: str, entries: list[tuple[str, str, int]] | None = None,
              link: bool = True) -> None:
        """Store a workspace file (or directory, with its manifest entries) under its hash."""
        link_type = self._link_type(link)
        if entries is None:
            self._store_file(full, digest, link_type)
            return
        for relpath, file_digest, _ in entries:
            self._store_file(os.path.join(full, relpath), file_digest, link_type)
        if not self.has(digest):
            self._write_object(digest, json.dumps([list(e) for e in entries]).encode())

    def _store_file(self, full: str, digest: str, link_type: str) -> None:
        target = self.path(digest)
        if os.path.exists(target) and not self._intact(digest):
            os.remove(target)  # a damaged object is replaced by the good bytes at hand
        if not os.path.exists(target):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            tmp = f"{target}.tmp-{os.getpid()}"
            try:
                if link_type == "symlink":
                    os.replace(full, tmp)  # move, not copy: the workspace gets a link below
                else:
                    _transfer(full, tmp, "hardlink" if link_type == "hardlink" else "copy")
                os.chmod(tmp, 0o444)
                os.replace(tmp, target)
            except BaseException:
                _remove_quietly(tmp)
                raise
        if link_type in ("hardlink", "symlink") and not _linked(full, target, link_type):
            _place(target, full, link_type)  # the workspace shares the object: no second copy

    def _write_object(self, digest: str, data: bytes) -> None:
        target = self.path(digest)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = f"{target}.tmp-{os.getpid()}"
        with open(tmp, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)

    def temp_path(self, digest: str) -> str:
        """A private name beside the object, for bytes that are not verified yet."""
        os.makedirs(os.path.join(self.dir, digest[:2]), exist_ok=True)
        return f"{self.path(digest)}.tmp-{os.getpid()}-{threading.get_ident()}"

    def adopt(self, digest: str, tmp: str) -> bool:
        """Make a downloaded file the object, only if its bytes hash to digest; else delete it.

        Nothing unverified is ever visible under an object's name.
        """
        try:
            if not _hashes_to(tmp, digest):
                return False
            os.chmod(tmp, 0o444)
            os.replace(tmp, self.path(digest))
            return True
        finally:
            _remove_quietly(tmp)

    # -- reading ----------------------------------------------------------------------------
    def manifest(self, digest: str) -> list[tuple[str, str, int]]:
        """A directory's entries; CorruptObject when the manifest does not hash to its name."""
        try:
            with open(self.path(digest), encoding="utf-8") as handle:
                entries = [(str(rel), str(h), int(size)) for rel, h, size in json.load(handle)]
        except (ValueError, TypeError, UnicodeDecodeError):
            raise CorruptObject(digest) from None
        if manifest_hash(entries) != digest:
            raise CorruptObject(digest)
        return entries

    def read_bytes(self, digest: str) -> bytes | None:
        """A file object's verified bytes, or None when the cache lacks it."""
        if not self.has(digest):
            return None
        self.verify(digest)
        with open(self.path(digest), "rb") as handle:
            return handle.read()

    def _intact(self, digest: str) -> bool:
        try:
            self.verify(digest)
            return True
        except CorruptObject:
            return False

    def verify(self, digest: str) -> None:
        """Raise CorruptObject when a file object's bytes do not hash to its name."""
        if self.hasher is None:
            return
        relpath = os.path.relpath(self.path(digest), self.hasher.root)
        info = self.hasher.info(relpath)
        if info is None or info.hash != digest:
            raise CorruptObject(digest)

    def check(self, digest: str) -> bool:
        """Whether the object's bytes hash to its name, read afresh: no state db, safe in any thread."""
        return _hashes_to(self.path(digest), digest)

    # -- putting outs back --------------------------------------------------------------------
    def checkout(self, digest: str, dest: str, link: bool = True) -> None:
        """Make dest hold the object's bytes (verified first); a directory exactly its manifest."""
        link_type = self._link_type(link)
        if not digest.endswith(DIR_SUFFIX):
            self.verify(digest)
            remove_path(dest)
            os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
            _place(self.path(digest), dest, link_type)
            return
        entries = self.manifest(digest)
        for _, file_digest, _ in entries:
            self.verify(file_digest)
        remove_path(dest)
        for relpath, file_digest, _ in entries:
            target = os.path.join(dest, relpath)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            _place(self.path(file_digest), target, link_type)
        os.makedirs(dest, exist_ok=True)

    # -- housekeeping -------------------------------------------------------------------------
    def objects(self) -> Iterator[tuple[str, int]]:
        """(hash, size) of every object in the cache."""
        if not os.path.isdir(self.dir):
            return
        for prefix in sorted(os.listdir(self.dir)):
            folder = os.path.join(self.dir, prefix)
            if len(prefix) != 2 or not os.path.isdir(folder):
                continue
            for name in sorted(os.listdir(folder)):
                if ".tmp-" not in name:
                    yield prefix + name, os.lstat(os.path.join(folder, name)).st_size

    def remove(self, digest: str) -> None:
        _remove_quietly(self.path(digest))


def _hashes_to(path: str, digest: str) -> bool:
    """Whether a file holds the bytes named by digest (a manifest: entries that hash to it)."""
    if not digest.endswith(DIR_SUFFIX):
        return file_hash(path) == digest
    try:
        with open(path, encoding="utf-8") as handle:
            entries = [(str(rel), str(h), int(size)) for rel, h, size in json.load(handle)]
    except (ValueError, TypeError, UnicodeDecodeError):
        return False
    return manifest_hash(entries) == digest


def _place(source: str, dest: str, link_type: str) -> None:
    """Put source's bytes at dest by the link type, atomically (temp name, then rename)."""
    tmp = f"{dest}.pipetool-tmp-{os.getpid()}"
    try:
        _transfer(source, tmp, link_type)
        if link_type == "copy":
            os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, dest)
    finally:
        _remove_quietly(tmp)


def _transfer(source: str, dest: str, link_type: str) -> None:
    if link_type == "hardlink":
        try:
            os.link(source, dest)
            return
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                raise
    if link_type == "symlink":
        os.symlink(os.path.abspath(source), dest)
        return
    if not _reflink(source, dest):
        shutil.copyfile(source, dest)


_reflink_works: dict[int, bool] = {}  # st_dev -> whether that file system clones


def _reflink(source: str, dest: str) -> bool:
    """A copy sharing blocks with source, where the file system can; False elsewhere.

    A file system that refused once is not asked again: it costs five syscalls per file.
    """
    import fcntl

    device = os.stat(source).st_dev
    if _reflink_works.get(device) is False:
        return False
    try:
        with open(source, "rb") as src, open(dest, "wb") as dst:
            fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())
        _reflink_works[device] = True
        return True
    except OSError:
        _remove_quietly(dest)
        _reflink_works[device] = False
        return False


def reflink_supported(folder: str) -> bool:
    """Whether the file system of folder can clone files (tried on a scratch file there)."""
    source = os.path.join(folder, f".reflink-probe-{os.getpid()}")
    try:
        with open(source, "wb") as handle:
            handle.write(b"probe")
        return _reflink(source, source + ".clone")
    except OSError:
        return False
    finally:
        _remove_quietly(source)
        _remove_quietly(source + ".clone")


def make_private(path: str) -> None:
    """Turn a workspace file linked to a cache object into its own writable copy."""
    if os.path.islink(path) or (os.path.isfile(path) and os.stat(path).st_nlink > 1):
        _place(path, path, "copy")


def _linked(path: str, target: str, link_type: str) -> bool:
    """Whether the workspace path already is a link of this type to the object."""
    try:
        if link_type == "symlink":
            return os.path.islink(path) and os.path.realpath(path) == os.path.realpath(target)
        return not os.path.islink(path) and os.path.samefile(path, target)
    except OSError:
        return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def remove_path(path: str) -> None:
    """Remove a file, link or folder; nothing there is fine."""
    try:
        os.unlink(path)  # the usual case, in one system call
    except FileNotFoundError:
        pass
    except OSError:
        if not (os.path.isdir(path) and not os.path.islink(path)):
            raise
        shutil.rmtree(path)


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
