"""Putting files into the cache, each read once: workspace files for `add`, and the small objects
of a local remote for `fetch` (put_checked).

A file's hash is taken from the bytes as they go into the cache (a copy), or as they are read
just before the object is linked to them (a hardlink or symlink), and names the object: no second
read to hash the path first (a fetched object's bytes must hash to the name it had on the
remote, or nothing is written). A copy is written as a file with no name that is then linked to
its name, or under a temporary name renamed into place, so a kill midway leaves no object whose
bytes do not match its name; a link is made in one step.
"""

from __future__ import annotations

import errno
import os
import stat as statmod
from collections.abc import Callable
from typing import NamedTuple

import xxhash

from ..files.fsutil import create_read_only, remove_quietly
from ..files.stamps import Stamp, stamp
from ..system.forked import chunked, cores, taken_in_turn
from .cache import Cache, copy_plain, file_mode_mask, place, reflink, temp_name
from .hashing import each_file, file_hash

SMALL = 1024 * 1024  # a file up to this size is read whole, hashed in memory and written from there
WORKERS = 2  # the big files start on one thread while the other takes the small ones
FORK_FROM = 1000  # small files from which a forked process pays for itself (a fork costs ms)
OnRead = Callable[[int], None] | None
RECORD = 48  # a stored file as a forked process reports it: 32 hex digits of hash, 16 of size


class Listed(NamedTuple):
    """A file below a folder being added, as its listing found it (a tuple: thousands are made)."""

    relpath: str
    full: str
    st: os.stat_result  # followed through a link, as the hasher stats it
    may_link: bool  # False for a symlink inside the folder: its bytes are copied, never linked


def listing(full: str) -> list[Listed]:
    """Every file below a folder, sorted by relative path: the files the folder's hash is made of."""
    found: list[Listed] = []
    each_file(
        full, lambda relpath, entry: found.append(Listed(relpath, entry.path, entry.stat(), not entry.is_symlink()))
    )
    found.sort(key=lambda item: item.relpath)
    return found


class Ingest:
    """Puts files in one cache with one link type; objects already there are kept."""

    def __init__(self, cache: Cache, link_type: str, on_read: Callable[[int], None] | None = None) -> None:
        self.cache = cache
        self.link_type = link_type
        self.on_read = on_read
        self._made: set[str] = set()  # prefix folders this command made: no object was in them
        self._seen: set[str] = set()  # prefix folders known to exist
        self._chmod = file_mode_mask() & 0o444 != 0  # a umask that takes read bits: set them after
        self._anonymous: bool | None = None  # whether files with no name yet can be made here
        self._fds: tuple[int, int] | None = None  # (process id, its /proc/self/fd)

    def put(self, files: list[tuple[str, int, bool]]) -> list[tuple[str, int]]:
        """(hash, size) of the bytes stored for each (full path, size from its stat, may link)
        file, in order. Thousands of small files are split between this process and forked
        ones (creating a file is kernel work that two cores share, while threads would take
        turns at the Python work between); big files go first, each a task of its own."""
        try:
            return self._put(files)
        finally:
            self.close()

    def _put(self, files: list[tuple[str, int, bool]]) -> list[tuple[str, int]]:
        if not files:
            return []
        os.makedirs(self.cache.dir, exist_ok=True)
        big = [i for i, (_, size, _) in enumerate(files) if size > SMALL]
        small = [i for i, (_, size, _) in enumerate(files) if size <= SMALL]
        results: list[tuple[str, int]] = [("", 0)] * len(files)

        def run(task: list[int]) -> None:
            for i in task:
                results[i] = self.put_one(*files[i])

        if self.link_type == "symlink":
            # Symlinks: a file is moved away before its link takes its place, and a link inside
            # the folder to it, copied meanwhile elsewhere, would find nothing there.
            run(big + small)
            return results
        processes = cores()
        if processes > 1 and len(small) >= FORK_FROM and hasattr(os, "fork"):
            self.make_folders()
            chunks = [[i] for i in big] + chunked(small)  # the big ones taken first
            stored = taken_in_turn(chunks, self._packed(files), self.on_read, processes)
            for chunk, (packed, here) in zip(chunks, stored, strict=True):
                if packed is None or len(packed) != RECORD * len(chunk):  # its process failed
                    run(chunk)  # done here, where an error shows
                    continue
                for j, i in enumerate(chunk):
                    record = packed[RECORD * j : RECORD * (j + 1)]
                    results[i] = (record[:32].decode("ascii"), int(record[32:], 16))
                if not here and self.on_read is not None:  # counted as they were read, if here
                    self.on_read(sum(results[i][1] for i in chunk))
            return results
        tasks = [[i] for i in big] + chunked(small)
        if len(tasks) == 1:
            run(tasks[0])
            return results
        from ..system.interrupts import ordered, thread_pool

        with thread_pool(min(WORKERS, len(tasks)), "add") as pool:
            ordered(pool, run, tasks)
        return results

    def _packed(self, files: list[tuple[str, int, bool]]) -> Callable[[list[int], OnRead], bytes]:
        """put_one of each file of a chunk, RECORD bytes each: what comes back through a pipe
        from a forked process (told no on_read: the parent counts its bytes when it is done)."""

        def packed(chunk: list[int], on_read: OnRead) -> bytes:
            self.on_read = on_read
            stored = [self.put_one(*files[i]) for i in chunk]
            return b"".join(b"%s%016x" % (digest.encode("ascii"), size) for digest, size in stored)

        return packed

    def put_one(self, full: str, size: int, may_link: bool = True) -> tuple[str, int]:
        """Store one file; (hash, size) of the bytes stored."""
        link_type = self.link_type if may_link else "copy"
        if link_type == "copy":
            return self._copy_small(full, size) if size <= SMALL else self._copy_big(full)
        digest = file_hash(full, size, self.on_read)
        if link_type == "symlink":
            self.cache.store(full, digest, None, link=True)  # moved in, and the workspace linked
            return digest, size
        return self._hardlink(full, size, digest)

    # -- copies ------------------------------------------------------------------------------
    def _copy_small(self, full: str, size: int) -> tuple[str, int]:
        fd = os.open(full, os.O_RDONLY | os.O_CLOEXEC)
        try:
            data = os.read(fd, size + 1)
        finally:
            os.close(fd)
        if len(data) > size:  # it grew since its stat: streamed, as a big one
            return self._copy_big(full)
        if self.on_read is not None:
            self.on_read(len(data))
        digest = xxhash.xxh3_128_hexdigest(data)
        self._store(data, digest)
        return digest, len(data)

    def put_checked(self, source: str, digest: str) -> bool:
        """Store a small object from a folder of objects (a local remote) under its name, only if
        its bytes hash to that name; False, with nothing written, for anything else: not a plain
        file, bigger than SMALL, other bytes, a read that fails. The caller takes that object the
        long way, which says what is wrong with it."""
        try:
            fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            if not statmod.S_ISREG(os.fstat(fd).st_mode):
                return False  # a pipe or a device is never read
            data = os.read(fd, SMALL + 1)
        except OSError:
            return False
        finally:
            os.close(fd)
        if len(data) > SMALL or xxhash.xxh3_128_hexdigest(data) != digest:
            return False
        if self.on_read is not None:
            self.on_read(len(data))
        self._store(data, digest)
        return True

    def _store(self, data: bytes, digest: str) -> None:
        """The object of bytes whose hash is digest, unless the cache holds it."""
        target = self._target(digest)
        if self._holds(digest, target, len(data)):
            return
        if self._anonymous is not False and self._write_anonymous(data, target):
            return
        tmp = temp_name(target)
        try:
            fd = create_read_only(tmp)
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
            self._finish(tmp, target)
        except BaseException:
            remove_quietly(tmp)
            raise

    def _write_anonymous(self, data: bytes, target: str) -> bool:
        """Write the object as a file with no name yet (Linux's O_TMPFILE), then give it its name
        in one step: no temporary name to make and rename, and nothing at all left by a kill.
        False where a file has the name already (then it is replaced as before), or where the
        file system or the system cannot (then it is never asked again)."""
        try:
            fd = os.open(os.path.dirname(target), _TMPFILE, 0o444)
        except (OSError, AttributeError):
            self._anonymous = False
            return False
        try:
            _write_all(fd, data)
            if self._chmod:
                os.fchmod(fd, 0o444)
            try:
                os.link(str(fd), target, src_dir_fd=self._proc_fds(), follow_symlinks=True)
            except FileExistsError:  # a damaged object, or one stored meanwhile: replaced
                return False
            except OSError:  # no /proc: named and renamed from now on
                self._anonymous = False
                return False
        finally:
            os.close(fd)
        self._anonymous = True
        return True

    def _proc_fds(self) -> int:
        """/proc/self/fd, through which a file with no name is linked to one: opened by each
        process (it names the descriptors of the process that opened it)."""
        pid = os.getpid()
        if self._fds is None or self._fds[0] != pid:
            self._fds = (pid, os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
        return self._fds[1]

    def close(self) -> None:
        """Let go of what put() or put_checked() held open."""
        if self._fds is not None and self._fds[0] == os.getpid():
            os.close(self._fds[1])
        self._fds = None

    def _copy_big(self, full: str) -> tuple[str, int]:
        """A copy made in the kernel (a reflink where the file system can), then hashed as it lies
        in the cache: the name comes from the bytes stored, whatever happened to the source."""
        tmp = temp_name(os.path.join(self.cache.dir, "add"))
        remove_quietly(tmp)  # what a killed run of the same process id left
        try:
            before = stamp(full)
            if reflink(full, tmp):
                digest = self._clone_digest(full, tmp, before)
            else:
                copy_plain(full, tmp)
                digest = file_hash(tmp, None, self.on_read)
            size = os.stat(tmp).st_size
            target = self._target(digest)
            if self._holds(digest, target, size):
                remove_quietly(tmp)
                return digest, size
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)
        except BaseException:
            remove_quietly(tmp)
            raise
        return digest, size

    def _clone_digest(self, full: str, clone: str, before: Stamp | None) -> str:
        """A clone shares its source's blocks but not its pages in memory: hashing the clone
        reads the disk, hashing the source mostly reads memory. The source's stamp, the same
        before the clone and after the hash, vouches that the bytes hashed are those cloned
        (any write changes it; a file written within the last second has none); otherwise
        the clone is hashed as it lies in the cache."""
        if before is not None:
            digest = file_hash(full, before[1], self.on_read)
            if stamp(full) == before:
                return digest
            return file_hash(clone)  # its bytes were counted once already
        return file_hash(clone, None, self.on_read)

    def _finish(self, tmp: str, target: str) -> None:
        if self._chmod:
            os.chmod(tmp, 0o444)
        os.replace(tmp, target)

    # -- links -------------------------------------------------------------------------------
    def _hardlink(self, full: str, size: int, digest: str) -> tuple[str, int]:
        """The object made a second name of the workspace file, which becomes read-only."""
        target = self._target(digest)
        try:
            os.link(full, target)
        except FileExistsError:
            if not _same_file(full, target):
                self._share(full, target, digest)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                raise
            return self._copy_small(full, size) if size <= SMALL else self._copy_big(full)
        os.chmod(target, 0o444)
        return digest, size

    def _share(self, full: str, target: str, digest: str) -> None:
        """The cache has the object already (a file alike in the same folder, or added before):
        the workspace file becomes a link to it once its bytes are checked; a damaged one is
        removed and the workspace file takes its place."""
        if self.cache.check(digest):
            place(target, full, "hardlink")
            return
        try:
            os.link(full, target)
        except FileExistsError:  # made again meanwhile, by another thread of this add
            place(target, full, "hardlink")

    # -- the cache's folders -------------------------------------------------------------------
    def _target(self, digest: str) -> str:
        """The object's path, its two-character folder made the first time it is needed (the
        digest is one this module computed: no check of its form, as Cache.path makes)."""
        prefix = digest[:2]
        folder = os.path.join(self.cache.dir, prefix)
        if prefix not in self._seen:
            try:
                os.mkdir(folder)
                self._made.add(prefix)
            except FileExistsError:
                pass
            self._seen.add(prefix)
        return os.path.join(folder, digest[2:])

    def make_folders(self) -> None:
        """Every two-character folder the cache lacks, made before processes share the work:
        each then knows the folders that held nothing before this command, where no object
        needs looking for. (Made as they were needed, a folder one process made is one the
        other finds there, and stats every object it stores in it.) For thousands of objects,
        which leave few of the 256 unused."""
        try:
            present = set(os.listdir(self.cache.dir))
        except FileNotFoundError:
            present = set()
        for prefix in (f"{n:02x}" for n in range(256)):
            if prefix not in present and prefix not in self._seen:
                self._target(prefix)

    def _holds(self, digest: str, target: str, size: int) -> bool:
        """Whether the cache has this object already (a plain file of the right size); never
        asked in a folder this command made, which held no object before it."""
        if digest[:2] in self._made:
            return False
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            return False
        return statmod.S_ISREG(st.st_mode) and st.st_size == size


_TMPFILE = getattr(os, "O_TMPFILE", 0) | os.O_WRONLY | os.O_CLOEXEC


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _same_file(path: str, other: str) -> bool:
    try:
        return os.path.samefile(path, other)
    except OSError:
        return False
