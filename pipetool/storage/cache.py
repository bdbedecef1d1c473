"""The content-addressed cache: outs stored once by xxh3-128 under `.pipetool/cache/`.

A file is `cache/ab/cdef…`; a directory is a manifest `cache/ab/cdef….dir` (JSON list of
[relative path, hash, size]) plus its files' objects. Objects are read-only and never change.
Getting bytes in and out of the cache tries a reflink (a copy that shares blocks) first, then
the configured link type: copy, hardlink or symlink.

Objects on disk are not trusted (bit rot, an edit that kept the mtime, a committed or fetched
file): every restore checks the bytes it puts in the workspace against their hash, a copy while
it copies, a link before it links; a damaged object is removed, so the next fetch or repro
replaces it. Manifests are checked for their form (relative clean paths, hashes, sizes) before
any of their paths is used.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import threading
from collections.abc import Iterable, Iterator

import xxhash

from ..errors import SpecError
from ..files.fsutil import remove_quietly
from ..files.safepath import UnsafePath, relative
from ..files.yamlfile import load_json
from ..system.forked import cores
from .hashing import DIR_SUFFIX, copy_hashed, file_hash, is_hash, manifest_hash

CACHE_DIR = "cache"
_FICLONE = 0x40049409  # Linux ioctl: make dst share src's blocks (btrfs, xfs, …)
# A manifest of 20,000 files is ~1.5 MB; one this big would name ~10 million.
MAX_MANIFEST_BYTES = 1 << 30
_HEX2 = re.compile(r"[0-9a-f]{2}")
PARALLEL_FROM = 256  # a folder of this many files or more is restored by a few threads
RESTORING = ".pipetool-tmp"  # a restore in progress writes beside its out under this name


class CorruptObject(Exception):
    """A cache object whose bytes no longer hash to its name (or a manifest of a bad form)."""


class Cache:
    def __init__(self, state_dir: str, link_type: str = "copy") -> None:
        self.dir = os.path.join(state_dir, CACHE_DIR)
        self.link_type = link_type
        # Objects this process wrote from bytes it hashed on the way in (a fetch): a restore of
        # them links or copies without reading them again to check them.
        self._verified: set[str] = set()
        self._folders: set[str] = set()  # two-character folders known to exist
        self._manifests: dict[str, list[tuple[str, str, int]]] = {}  # manifests read and checked
        self._dev: int | None = None

    def path(self, digest: str) -> str:
        """Where an object lives; CorruptObject for a name that is not a hash (from a lock or a
        remote), which would lead elsewhere."""
        if not is_hash(digest):
            raise CorruptObject(digest)
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

    def store(
        self, full: str, digest: str, entries: list[tuple[str, str, int]] | None = None, link: bool = True
    ) -> None:
        """Store a workspace file (or directory, with its manifest entries) under its hash."""
        link_type = self._link_type(link)
        if entries is None:
            self._store_file(full, digest, link_type)
            return
        for relpath, file_digest, _ in entries:
            self._store_file(os.path.join(full, relpath), file_digest, link_type)
        self.store_manifest(digest, entries)

    def store_manifest(self, digest: str, entries: list[tuple[str, str, int]]) -> None:
        """A directory's manifest alone, for a caller that stored its files itself."""
        data = _manifest_bytes(entries)
        if not self.has(digest) or _read_quietly(self.path(digest)) != data:
            self._write_object(digest, data)  # a damaged manifest is written anew, not kept

    def _store_file(self, full: str, digest: str, link_type: str) -> None:
        target = self.path(digest)
        size = os.stat(full).st_size  # of the bytes to store, through a link too
        if os.path.islink(full):
            link_type = "copy"  # an out that is a symlink: take its bytes, never link or move the link
        try:
            if os.lstat(target).st_size != size:
                os.remove(target)  # a damaged object is replaced by the good bytes at hand
        except FileNotFoundError:
            pass
        if not os.path.exists(target):
            self._folder_of(digest)
            tmp = f"{target}.tmp-{os.getpid()}-{threading.get_ident()}"
            remove_quietly(tmp)  # what a killed process of the same number left: copies make new files
            try:
                if link_type == "symlink":
                    os.replace(full, tmp)  # move, not copy: the workspace gets a link below
                else:
                    _transfer(full, tmp, "hardlink" if link_type == "hardlink" else "copy")
                os.chmod(tmp, 0o444)
                os.replace(tmp, target)
            except BaseException:
                remove_quietly(tmp)
                raise
        if link_type in ("hardlink", "symlink") and not _linked(full, target, link_type):
            place(target, full, link_type)  # the workspace shares the object: no second copy

    def _write_object(self, digest: str, data: bytes) -> None:
        target = self.path(digest)
        self._folder_of(digest)
        tmp = f"{target}.tmp-{os.getpid()}"
        with open(tmp, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)

    def temp_path(self, digest: str) -> str:
        """A private name beside the object, for bytes that are not verified yet."""
        path = self.path(digest)
        self._folder_of(digest)
        return temp_name(path)

    def _folder_of(self, digest: str) -> None:
        """Make the object's two-character folder, once per command (a first repro of a thousand
        stages asked the kernel a thousand times for 256 folders)."""
        if digest[:2] not in self._folders:
            os.makedirs(os.path.join(self.dir, digest[:2]), exist_ok=True)
            self._folders.add(digest[:2])

    def verified(self, digests: Iterable[str]) -> None:
        """Objects this command stored as plain files from bytes it hashed (another process of it
        did, say): a restore of them this command need not read them again."""
        self._verified.update(digests)

    def adopt(self, digest: str, tmp: str, hashed: str | None = None, read_only: bool = False) -> bool:
        """Make a downloaded file the object, only if its bytes hash to digest; else delete it.
        hashed: the hash of a file's bytes taken while they were written to tmp (not read again);
        read_only: tmp was made with the object's mode 0444 already (no chmod).

        Nothing unverified is ever visible under an object's name.
        """
        try:
            if hashed is not None and not digest.endswith(DIR_SUFFIX):
                good = hashed == digest
            else:
                good = _hashes_to(tmp, digest)
            if good:
                if not read_only:
                    os.chmod(tmp, 0o444)
                os.replace(tmp, self.path(digest))
                self._verified.add(digest)
                return True
        except BaseException:
            remove_quietly(tmp)
            raise
        remove_quietly(tmp)
        return False

    def present(self, digests: list[str]) -> set[str]:
        """Which of these objects the cache has: for many, one listing per two-character folder
        instead of a stat per object."""
        if len(digests) < 512:
            return {digest for digest in digests if self.has(digest)}
        found: set[str] = set()
        for prefix in {digest[:2] for digest in digests}:
            if not _HEX2.fullmatch(prefix):
                continue  # no object's name: the digests there are not hashes
            try:
                found.update(prefix + name for name in os.listdir(os.path.join(self.dir, prefix)))
            except (FileNotFoundError, NotADirectoryError):
                continue
        return found.intersection(digests)

    # -- reading ----------------------------------------------------------------------------
    def manifest(self, digest: str) -> list[tuple[str, str, int]]:
        """A directory's entries, checked; CorruptObject when the manifest does not hash to its
        name or names what no directory of pipetool's could hold (it is removed then)."""
        entries = self._manifests.get(digest)
        if entries is not None:
            return entries
        path = self._object(digest)
        entries = _read_manifest(path, digest)
        if entries is None:
            if os.path.lexists(path):
                self.discard(digest)
            raise CorruptObject(digest)
        self._manifests[digest] = entries  # checked once a process: its bytes are its name
        return entries

    def read_bytes(self, digest: str) -> bytes | None:
        """A file object's bytes, checked against its hash; None when the cache lacks it."""
        try:
            with open(self._object(digest), "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            return None
        if xxhash.xxh3_128_hexdigest(data) != digest:
            self.discard(digest)
            raise CorruptObject(digest)
        return data

    def check(self, digest: str) -> bool:
        """Whether the object's bytes hash to its name, read afresh (a damaged one is removed);
        safe in any thread."""
        if _hashes_to(self._object(digest), digest):
            return True
        self.discard(digest)
        return False

    def _object(self, digest: str) -> str:
        """An object's path to read: CorruptObject when it is not a plain file (a link committed
        into the cache, or a pipe, would be read through or for ever); FileNotFoundError when absent."""
        path = self.path(digest)
        if not stat.S_ISREG(os.lstat(path).st_mode):
            self.discard(digest)
            raise CorruptObject(digest)
        return path

    def discard(self, digest: str) -> None:
        """Remove a damaged object, so that a fetch or a repro puts the right bytes back."""
        self._manifests.pop(digest, None)
        remove_quietly(self.path(digest))

    # -- putting outs back --------------------------------------------------------------------
    def linked(self, digest: str, dest: str, link: bool = True) -> bool:
        """Whether dest (which holds the object's bytes) shares them as the configured link type
        asks: a hardlink or symlink to each object. A copy (or reflink) is always as asked; so is a
        hardlink that cannot be made because dest is on another file system than the cache."""
        link_type = self._link_type(link)
        if link_type not in ("hardlink", "symlink"):
            return True
        if not digest.endswith(DIR_SUFFIX):
            return self._file_linked(digest, dest, link_type)
        return all(
            self._file_linked(file_digest, os.path.join(dest, relpath), link_type)
            for relpath, file_digest, _ in self.manifest(digest)
        )

    def _file_linked(self, digest: str, path: str, link_type: str) -> bool:
        target = self.path(digest)
        if _linked(path, target, link_type):
            return True
        if link_type == "hardlink":
            try:
                return os.lstat(path).st_dev != os.stat(target).st_dev
            except OSError:
                return True  # nothing a relink could mend: checkout decides on the bytes
        return False

    def checkout(self, digest: str, dest: str, link: bool = True) -> None:
        """Make dest hold the object's bytes; a directory exactly its manifest.

        dest must come from safepath.Tree.target. What is written is built beside dest and
        checked against its hash, then renamed into place: a damaged object (removed, and
        CorruptObject raised) or a kill midway leaves the old dest as it was.
        """
        link_type = self._link_type(link)
        entries = self.manifest(digest) if digest.endswith(DIR_SUFFIX) else None
        os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
        tmp = dest + RESTORING
        remove_path(tmp)  # what a killed restore of dest left
        try:
            if entries is None:
                self._restore_file(digest, tmp, link_type)
            else:
                self._restore_folder(entries, tmp, link_type)
            remove_path(dest)
            os.replace(tmp, dest)
        finally:
            remove_path(tmp)

    def _device(self) -> int:
        """The cache's file system (whether it clones is known per file system)."""
        if self._dev is None:
            self._dev = os.stat(self.dir).st_dev
        return self._dev

    def _restore_folder(self, entries: list[tuple[str, str, int]], tmp: str, link_type: str) -> None:
        """A new folder tmp holding a manifest's files: its folders made first, then the files,
        a big folder's by a few threads (each file is a few system calls that release the GIL)."""
        os.mkdir(tmp)
        made = {tmp}
        for relpath, _, _ in entries:
            folder = os.path.dirname(os.path.join(tmp, relpath))
            if folder not in made:
                os.makedirs(folder, exist_ok=True)
                made.add(folder)

        def restore(part: list[tuple[str, str, int]]) -> None:
            for relpath, file_digest, _ in part:
                self._restore_file(file_digest, os.path.join(tmp, relpath), link_type)

        workers = min(4, cores())
        if len(entries) < PARALLEL_FROM or workers == 1:
            restore(entries)
            return
        from ..system.interrupts import ordered, thread_pool

        step = -(-len(entries) // (8 * workers))
        with thread_pool(workers, "restore") as pool:
            ordered(pool, restore, [entries[i : i + step] for i in range(0, len(entries), step)])

    def _restore_file(self, digest: str, dest: str, link_type: str) -> None:
        """A new file dest with the object's bytes, which are checked: a copy while it copies,
        a link (or a reflink) before it is made."""
        if digest in self._verified:  # written by this process as a plain file from bytes it hashed
            source = os.path.join(self.dir, digest[:2], digest[2:])
            if link_type == "copy" and _reflink_works.get(self._device()) is False:
                copy_plain(source, dest)
                return
            _transfer(source, dest, link_type)
            if link_type == "copy":
                os.chmod(dest, 0o644 & ~file_mode_mask())
            return
        source = self._object(digest)
        if link_type == "copy" and not _reflinks(source):
            if copy_hashed(source, dest) != digest:
                self.discard(digest)
                raise CorruptObject(digest)
            os.chmod(dest, 0o644 & ~file_mode_mask())
            return
        if not _hashes_to(source, digest):
            self.discard(digest)
            raise CorruptObject(digest)
        _transfer(source, dest, link_type)
        if link_type == "copy":
            os.chmod(dest, 0o644 & ~file_mode_mask())

    # -- housekeeping -------------------------------------------------------------------------
    def objects(self) -> Iterator[tuple[str, int]]:
        """(hash, size) of every object in the cache: files named as a hash, in its own folders."""
        if not os.path.isdir(self.dir):
            return
        for prefix in sorted(os.listdir(self.dir)):
            folder = os.path.join(self.dir, prefix)
            if len(prefix) != 2 or os.path.islink(folder) or not os.path.isdir(folder):
                continue  # a linked folder is not the cache's: nothing is read or removed through it
            for name in sorted(os.listdir(folder)):
                if is_hash(prefix + name):  # temp files and foreign names are not objects
                    yield prefix + name, os.lstat(os.path.join(folder, name)).st_size

    def remove(self, digest: str) -> None:
        self._manifests.pop(digest, None)
        remove_quietly(self.path(digest))


def temp_name(path: str) -> str:
    """A name for bytes on their way to path, private to this process and thread (a forked
    process's names are its own)."""
    return f"{path}.tmp-{_pid()}-{threading.get_ident()}"


_pids: list[int] = []


def _pid() -> int:
    """os.getpid(), asked once per process (a temp name per fetched object asked it each time)."""
    if not _pids:
        _pids.append(os.getpid())
        os.register_at_fork(after_in_child=_pids.clear)
    return _pids[0]


def _hashes_to(path: str, digest: str) -> bool:
    """Whether a file holds the bytes named by digest (a manifest: checked entries that hash to it)."""
    if not digest.endswith(DIR_SUFFIX):
        return file_hash(path) == digest
    return _read_manifest(path, digest) is not None


def _manifest_bytes(entries: list[tuple[str, str, int]]) -> bytes:
    return json.dumps([list(e) for e in entries]).encode()


def _read_manifest(path: str, digest: str) -> list[tuple[str, str, int]] | None:
    """A manifest file's entries when it is the manifest digest names (checked_manifest), else None."""
    if os.path.getsize(path) > MAX_MANIFEST_BYTES:
        return None
    with open(path, "rb") as handle:
        return checked_manifest(handle.read(), digest)


def checked_manifest(data: bytes, digest: str) -> list[tuple[str, str, int]] | None:
    """The entries of manifest bytes from anywhere (the cache, a remote) when their form is right
    and they hash to digest, else None: the one check before any path in a manifest is used."""
    entries = parse_manifest(data)
    return entries if entries is not None and manifest_hash(entries) == digest else None


def parse_manifest(data: bytes) -> list[tuple[str, str, int]] | None:
    """A manifest's entries when their form is right, else None.

    The form is all a manifest from a remote can be trusted for, its hash being easy to make:
    each entry a relative path that stays inside its folder (no '..', not absolute), a file
    hash and a size, in order, no path twice.
    """
    try:
        raw = load_json(data, "manifest", MAX_MANIFEST_BYTES)
    except (SpecError, UnicodeDecodeError):
        return None
    if not isinstance(raw, list):
        return None
    entries: list[tuple[str, str, int]] = []
    for entry in raw:
        if not (isinstance(entry, list) and len(entry) == 3):
            return None
        relpath, digest, size = entry
        try:
            relative(relpath)
        except UnsafePath:
            return None
        if not is_hash(digest, directory=False) or type(size) is not int or size < 0:
            return None
        if entries and relpath <= entries[-1][0]:
            return None  # out of order, or twice
        entries.append((relpath, digest, size))
    return entries


def _read_quietly(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def place(source: str, dest: str, link_type: str) -> None:
    """Put source's bytes at dest by the link type, atomically (temp name, then rename)."""
    tmp = dest + RESTORING
    remove_path(tmp)  # what a killed run left
    try:
        _transfer(source, tmp, link_type)
        if link_type == "copy":
            os.chmod(tmp, 0o644 & ~file_mode_mask())
        os.replace(tmp, dest)
    finally:
        remove_quietly(tmp)


def _transfer(source: str, dest: str, link_type: str) -> None:
    """dest is a new name (a copy is created with O_EXCL: nothing planted there is followed)."""
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
    if not reflink(source, dest):
        copy_plain(source, dest)


def copy_plain(source: str, dest: str) -> None:
    """Copy source to a new file dest (mode 0644 less the umask) inside the kernel, where it can."""
    src = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
    try:
        dst = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            try:
                while os.copy_file_range(src, dst, 1 << 30):
                    pass
            except OSError:  # a file system or kernel without it: through a buffer
                os.lseek(src, 0, os.SEEK_SET)
                os.ftruncate(dst, 0)
                os.lseek(dst, 0, os.SEEK_SET)
                while data := os.read(src, 1 << 20):
                    os.write(dst, data)
        finally:
            os.close(dst)
    finally:
        os.close(src)


_reflink_works: dict[int, bool] = {}  # st_dev -> whether that file system clones


def _reflinks(source: str) -> bool:
    """Whether a copy from source's file system is a reflink (known once one was tried)."""
    return _reflink_works.get(os.stat(source).st_dev, True)


def reflink(source: str, dest: str) -> bool:
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
        remove_quietly(dest)
        _reflink_works[device] = False
        return False


def reflink_supported(folder: str) -> bool:
    """Whether the file system of folder can clone files (tried on a scratch file there)."""
    source = os.path.join(folder, f".reflink-probe-{os.getpid()}")
    try:
        with open(source, "wb") as handle:
            handle.write(b"probe")
        return reflink(source, source + ".clone")
    except OSError:
        return False
    finally:
        remove_quietly(source)
        remove_quietly(source + ".clone")


def make_private(path: str) -> None:
    """Turn a workspace file linked to a cache object into its own writable copy."""
    if os.path.islink(path) or (os.path.isfile(path) and os.stat(path).st_nlink > 1):
        place(path, path, "copy")


def _linked(path: str, target: str, link_type: str) -> bool:
    """Whether the workspace path already is a link of this type to the object."""
    try:
        if link_type == "symlink":
            return os.path.islink(path) and os.path.realpath(path) == os.path.realpath(target)
        return not os.path.islink(path) and os.path.samefile(path, target)
    except OSError:
        return False


def file_mode_mask() -> int:
    """The process's umask: the permission bits a new file is made without."""
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
        import shutil

        shutil.rmtree(path)
