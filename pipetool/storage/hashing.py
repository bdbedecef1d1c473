"""Content hashes: xxh3-128 of a file's bytes; a directory hashes as its sorted manifest."""

from __future__ import annotations

import mmap
import os
import re
import stat as statmod
import threading
import time
import weakref
from array import array
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import xxhash

from ..errors import ProjectError
from ..files.safepath import is_url
from ..files.stamps import fine_grained
from ..system.forked import chunked, cores, in_processes, split, taken_in_turn
from ..system.interrupts import ordered, thread_pool
from .state import FileStat, Stat, StateDB, matching_hash

CHUNK = 8 * 1024 * 1024
DIR_SUFFIX = ".dir"
# Threads pay off only for files big enough that reading and hashing them (which release the
# GIL) outweigh the GIL hand-offs; for many small files one thread is faster (measured: 20,000
# files of 1 KiB took 0.43 s on one thread, 0.65 s on two).
PARALLEL_FROM = 64
PARALLEL_MEAN_SIZE = 256 * 1024
# From this many small files on, a forked process pays for itself: a bare fork costs a few ms.
PROCESSES_FROM = 5000
# Among thousands of small files, one this big is a chunk of its own, taken first (the biggest
# first), so that it hashes beside them rather than after them.
BESIDE_FROM = 32 * 1024 * 1024
# Hashing at least this much (not known to the state db) in one go is shown as it goes.
PROGRESS_BYTES = 256 * 1024 * 1024
PROGRESS_FILES = 2000

_buffers = threading.local()
_STAT_AT = os.stat in os.supports_dir_fd and hasattr(os, "O_DIRECTORY")
_HASH_FORM = re.compile(r"[0-9a-f]{32}(?:\.dir)?")


def is_hash(text: object, directory: bool | None = None) -> bool:
    """Whether text has the form of a hash pipetool makes (of a directory, a file, or either).

    Hashes from a lock, a manifest or a remote name files in the cache: nothing else may.
    """
    if not isinstance(text, str) or not _HASH_FORM.fullmatch(text):
        return False
    return directory is None or text.endswith(DIR_SUFFIX) == directory


@dataclass(frozen=True)
class HashInfo:
    hash: str
    size: int | None  # None only for a URL whose backend tells no size
    nfiles: int | None = None  # set for directories only
    key: str = "xxh3"  # what hash is: a URL dep's version may be an "etag" or "checksum" (external.py)

    @property
    def is_dir(self) -> bool:
        return self.nfiles is not None

    @classmethod
    def of_file(cls, digest: str, size: int) -> HashInfo:
        """HashInfo(digest, size), made in a third of the time: a no-op status of 100,000 stages
        makes 200,000, and a frozen dataclass's __init__ sets each field by object.__setattr__."""
        info = _new(cls)
        info.__dict__.update(hash=digest, size=size, nfiles=None, key="xxh3")
        return info


_new = object.__new__


@dataclass
class HashTally:
    """What a command read and hashed (state db answers aside): `status -v` tells it."""

    files: int = 0
    bytes: int = 0
    seconds: float = 0.0

    def describe(self) -> str:
        if not self.files:
            return "Hashed nothing: every hash was known from the state db."
        speed = f", {self.bytes / self.seconds / 1e9:.2f} GB/s" if self.seconds > 0 else ""
        return f"Hashed {self.files} file(s), {self.bytes:,} bytes, in {self.seconds:.3f} s{speed}."


class HashProgress(Protocol):
    """Told about hashing jobs big enough to watch (a reporter implements it)."""

    def hash_start(self, label: str, total_bytes: int, files: int) -> None: ...

    def hash_advance(self, nbytes: int) -> None: ...

    def hash_end(self) -> None: ...


def file_hash(path: str, size: int | None = None, on_read: Callable[[int], None] | None = None) -> str:
    """Streamed xxh3-128 of a file's contents, as 32 hex digits.

    A small file of known size is read in one system call (no file object: for many small
    files that halves the time); a big one streams through a per-thread buffer, so memory
    stays flat and nothing is allocated per chunk. on_read hears of each read.
    """
    if size is not None and size <= CHUNK:
        fd = os.open(path, os.O_RDONLY)
        try:
            data = os.read(fd, size + 1)
            if on_read is not None:
                on_read(len(data))
            if len(data) == size:
                return xxhash.xxh3_128_hexdigest(data)
            hasher = xxhash.xxh3_128(data)  # it changed size since its stat: read all there is
            while data := os.read(fd, CHUNK):
                hasher.update(data)
            return hasher.hexdigest()
        finally:
            os.close(fd)
    with open(path, "rb", buffering=0) as handle:
        buffer, view = _buffer()
        hasher = xxhash.xxh3_128()
        while count := handle.readinto(buffer):
            hasher.update(view[:count])
            if on_read is not None:
                on_read(count)
        return hasher.hexdigest()


def _buffer() -> tuple[mmap.mmap, memoryview]:
    buffer = getattr(_buffers, "buffer", None)
    if buffer is None:
        # Page-aligned: a bytearray this big starts 16 bytes into a page, and reading into
        # a buffer that is not cache-line aligned halved the speed (7.6 against 15.5 GB/s).
        # Private: an anonymous mapping is shared by default, so a process forked to hash a
        # part would read into the very pages this one reads into, and both hash the mix.
        buffer = _buffers.buffer = mmap.mmap(-1, CHUNK, flags=mmap.MAP_PRIVATE)
    return buffer, memoryview(buffer)


def copy_hashed(source: str, dest: str) -> str:
    """Copy source to a new file dest and return the hash of the bytes copied.

    A restore checks what it wrote by hashing it on the way (no second read): the bytes are
    read once into a buffer, hashed there, and written from it.
    """
    hasher = xxhash.xxh3_128()
    src = os.open(source, os.O_RDONLY)
    try:
        dst = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            buffer, view = _buffer()
            while count := os.readv(src, [buffer]):
                hasher.update(view[:count])
                written = 0
                while written < count:
                    written += os.write(dst, view[written:count])
        finally:
            os.close(dst)
    finally:
        os.close(src)
    return hasher.hexdigest()


def manifest_hash(entries: list[tuple[str, str, int]]) -> str:
    """Hash of a directory from its sorted (relative path, file hash, size) entries."""
    text = "".join(f"{relpath}\0{digest}\0{size}\n" for relpath, digest, size in entries)
    return xxhash.xxh3_128_hexdigest(text.encode()) + DIR_SUFFIX


def _fingerprint(rels: list[str], numbers: array) -> str:
    """Identity of a directory's files by stat alone (their names, and _stat_numbers of each):
    same fingerprint, same contents."""
    return xxhash.xxh3_128_hexdigest("\0".join(rels).encode() + b"\0" + numbers.tobytes())


class Hasher:
    """Hashes project paths, asking the state db first and remembering answers for this command."""

    def __init__(self, root: str, state: StateDB | None, jobs: int | None = None) -> None:
        self.root = root
        self.state = state
        self.jobs = jobs or min(8, cores() * 2)
        self._memo: dict[tuple, str] = {}
        self.progress: HashProgress | None = None  # told about big hashing jobs
        self.tally = HashTally()
        self.urls = None  # the versions of URL deps (external.UrlVersions), made when one is asked
        self.url_opener = None  # how to open a URL (with a remote's settings); fsspec's defaults when None
        self._dirs: dict[str, tuple[str, HashInfo]] = {}  # folder -> (fingerprint, info) of this command
        self._prefix = os.path.join(root, "")  # root + "/": a path is prefix + path, as os.path.join makes it
        self._root_fd: int | None = None  # the root folder, opened when first needed (see _stat)

    def _full(self, path: str) -> str:
        """os.path.join(root, path) in a tenth of the time (an absolute path stays itself)."""
        return path if path.startswith("/") else self._prefix + path

    def prefetch(self, paths: list[str]) -> None:
        """Look up what the state db knows of many paths at once (those about to be hashed)."""
        if self.state is not None and not self.state.prefetch_whole(len(paths)):  # else no list to make
            full = self._full
            self.state.prefetch([full(path) for path in paths if "://" not in path or not is_url(path)])

    def info(self, path: str) -> HashInfo | None:
        """The hash of a file or directory, or None when it does not exist; of a URL dep, its
        version (external.py).

        Per path of a no-op status: one stat and a lookup in the state db's rows read ahead
        (prefetch); the paths come from a compiled spec or a lock and are only read here, so no
        path check is repeated (those that write check their paths: files/safepath.py).
        """
        if "://" in path and is_url(path):
            return self.url_info(path)
        full = path if path.startswith("/") else self._prefix + path  # self._full(path), inlined
        return self._info_at(path, full, self._stat(path, full))

    def _info_at(self, path: str, full: str, st: os.stat_result | None) -> HashInfo | None:
        """info() of a path whose stat was taken (None: nothing there)."""
        if st is None:
            return None
        if statmod.S_ISREG(st.st_mode):
            digest = self._known(full, st)
            if digest is None:
                digest = self._hash_file(full, st)
            return HashInfo.of_file(digest, st.st_size)
        if statmod.S_ISDIR(st.st_mode):
            return self._dir_info(full)
        raise ProjectError(  # a pipe or a device would be read for ever
            f"'{path}' is not a file or a folder (a pipe, socket or device); pipetool hashes only files and folders",
            hint="point the dep or out at a regular file, or remove the link to it",
        )

    def _known(self, full: str, st: os.stat_result) -> str | None:
        """A regular file's hash known for this stat (this command's, or the state db's)."""
        memo = self._memo
        digest = memo.get((full, st.st_ino, st.st_mtime_ns, st.st_size)) if memo else None
        if digest is None and self.state is not None:
            digest = self.state.get(full, st)
        return digest

    def infos(self, paths: Sequence[str]) -> dict[str, HashInfo | None]:
        """info() of each path. A big file whose hash is not known is hashed by a forked process
        while this one does the rest (a folder's many files, say): xxh3 of one file is
        sequential, so hashed in turn it would leave the other cores idle while it is read.
        Each path is stat'ed once, here."""
        if len(paths) < 2 or cores() < 2 or not hasattr(os, "fork"):
            return {path: self.info(path) for path in paths}
        stats = {}  # path -> (full path, stat) of each path that is not a URL
        for path in paths:
            if "://" not in path or not is_url(path):
                full = self._full(path)
                stats[path] = (full, self._stat(path, full))
        big = {
            path: (full, st)
            for path, (full, st) in stats.items()
            if st is not None
            and statmod.S_ISREG(st.st_mode)
            and st.st_size >= BESIDE_FROM
            and self._known(full, st) is None
        }
        rest = [path for path in paths if path not in big]
        if not rest and len(big) > 1:  # big files alone: this process takes the first
            rest = [next(iter(big))]
            del big[rest[0]]

        def here(part: list[str]) -> dict[str, HashInfo | None]:
            return {path: self._info_at(path, *stats[path]) if path in stats else self.info(path) for path in part}

        if not big or not rest:
            return here(list(paths))
        files = [(full, st.st_size) for full, st in big.values()]
        with self._watched(files[0][0], sum(size for _, size in files), len(files)):
            mine, packed = in_processes(
                [rest, files], lambda part, _: here(part) if part is rest else _packed_hashes(part, None)
            )
        ours = packed.decode("ascii") if packed is not None and len(packed) == 32 * len(files) else None
        for k, (path, (full, st)) in enumerate(big.items()):
            if ours is None:  # its process failed: hashed here, where an error shows
                mine[path] = self._info_at(path, full, st)
                continue
            self._remember(full, st, ours[32 * k : 32 * k + 32])
            mine[path] = HashInfo.of_file(ours[32 * k : 32 * k + 32], st.st_size)
        return {path: mine[path] for path in paths}

    def known_hashes(self, paths: list[str]) -> dict[str, str]:
        """path -> hash of each regular file among paths whose hash is known for its current stat
        (from the state db or this command), in one pass: what info() would give, for the files
        a no-op status of 100,000 stages has, without a HashInfo each. Anything else (missing,
        a folder, a URL, a hash not known, a stat that fails) is left out: info() tells those.

        From PROCESSES_FROM paths on, with the state db's rows read whole (no query to make), a
        forked process does half of them, as _stat_numbers does: the stats are most of the time."""
        state, memo = self.state, self._memo
        if state is None and not memo:
            return {}
        rows = state.rows_read() if state is not None else None
        if len(paths) < PROCESSES_FROM or rows is None or cores() < 2 or not hasattr(os, "fork"):
            digests = self._known_list(paths, rows)
        else:
            if self._root_fd is None:
                self._open_root()  # before the fork: the forked process uses it too
            parts = split(paths, 2)
            packed = in_processes(parts, lambda part, _: "\n".join(self._known_list(part, rows)).encode(), brief=True)
            digests = []
            for part, done in zip(parts, packed, strict=True):
                found = done.decode().split("\n") if done is not None else []
                digests += found if len(found) == len(part) else self._known_list(part, rows)
        return {path: digest for path, digest in zip(paths, digests, strict=True) if digest}

    def _known_list(self, paths: list[str], rows: dict | None) -> list[str]:
        """For each path, its known hash (known_hashes), or "" for none."""
        found: list[str] = []
        add = found.append
        memo = self._memo
        lookup = self.state.get if self.state is not None else None
        fd = self._root_fd if self._root_fd is not None else self._open_root()
        prefix, stat, file_type, regular = self._prefix, os.stat, 0o170000, statmod.S_IFREG
        for path in paths:
            if "://" in path and is_url(path):
                add("")
                continue
            try:
                if path.startswith("/"):
                    full, st = path, stat(path)
                else:
                    full = prefix + path
                    st = stat(path, dir_fd=fd) if fd >= 0 else stat(full)
            except OSError:
                add("")
                continue
            if st.st_mode & file_type != regular:  # statmod.S_ISREG(st.st_mode) without a call per path
                add("")
                continue
            digest = memo.get((full, st.st_ino, st.st_mtime_ns, st.st_size)) if memo else None
            if digest is None and rows is not None:  # state.get(full, st), inlined
                row = rows.get(full)
                if row and row[1] == st.st_ino and row[2] == st.st_mtime_ns and row[3] == st.st_size:
                    digest = row[4]
            elif digest is None and lookup is not None:
                digest = lookup(full, st)
            add(digest or "")
        return found

    def _stat(self, path: str, full: str) -> os.stat_result | None:
        """os.stat(full), None when nothing is there. A relative path (full is not path) is looked
        up from the root folder's descriptor: the kernel then walks its few parts, not the root's
        as well (3.2 against 5.4 µs a stat, measured on a path three folders deep). Any other
        error is raised by os.stat(full), naming the full path as before."""
        try:
            if full is path:
                return os.stat(full)
            fd = self._root_fd if self._root_fd is not None else self._open_root()
            return os.stat(path, dir_fd=fd) if fd >= 0 else os.stat(full)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError:
            return os.stat(full)

    def _open_root(self) -> int:
        """The root folder's descriptor (closed with this Hasher), or -1 where stat cannot use one."""
        self._root_fd = -1
        if _STAT_AT:
            try:
                self._root_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except OSError:
                pass
            else:
                weakref.finalize(self, os.close, self._root_fd)
        return self._root_fd

    def url_info(self, url: str) -> HashInfo | None:
        """A URL dep's version: a file:// URL is a local path, hashed as any dep; others are
        asked of their backend, once per command."""
        if url.lower().startswith("file://"):
            local = url[len("file://") :]
            if not os.path.isabs(local):
                raise ProjectError(f"'{url}' is not an absolute file:// URL", hint="write file:///absolute/path")
            return self.info(os.path.normpath(local))
        if self.urls is None:
            from .external import UrlVersions

            self.urls = UrlVersions(self.url_opener)
        return self.urls.info(url)

    def restored(self, path: str, digest: str, entries: list[tuple[str, str, int]] | None) -> None:
        """Remember what a checkout just wrote from the cache (a file, or a folder of entries, its
        manifest) by the stats it has now, so that the next command does not read it all again.
        Nothing is remembered where times are whole seconds (stamps.fine_grained), nor for a
        folder whose files are not exactly the manifest's (something wrote there meanwhile)."""
        if self.state is None:
            return
        full = self._full(path)
        if entries is None:
            st = self._stat(path, full)
            if st is not None and statmod.S_ISREG(st.st_mode):
                self._remember(full, st, digest, written=True)
            return
        try:
            rels, paths, numbers = _stats_below(full)
        except OSError:  # changed meanwhile by another program: nothing to remember
            return
        files = _files(rels, paths, numbers)
        files.sort()
        if len(files) != len(entries) or any(
            rel != entry[0] or st.st_size != entry[2] or not fine_grained(st.st_mtime_ns)
            for (rel, _, st), entry in zip(files, entries, strict=True)
        ):
            return
        put, memo = self.state.put, self._memo
        for (_, file_full, st), (_, file_digest, _) in zip(files, entries, strict=True):
            memo[(file_full, *st)] = file_digest
            put(file_full, st, file_digest, written=True)
        info = HashInfo(digest, sum(size for _, _, size in entries), len(entries))
        self._remember_dir(full, _fingerprint(rels, numbers), files, info, written=True)

    def _remember_dir(
        self, full: str, fingerprint: str, files: list[tuple[str, str, FileStat]], info: HashInfo, written: bool = False
    ) -> None:
        """A folder's hash, by its files' fingerprint, for this command and (on the state db's
        terms for its newest file) the next ones."""
        if self.state is not None:
            newest = max((st.st_mtime_ns for _, _, st in files), default=1)  # empty: no time to doubt
            self.state.put_dir(full, fingerprint, newest, (info.hash, info.size, info.nfiles), written)
        self._dirs[full] = (fingerprint, info)

    def _remember(self, full: str, st: Stat, digest: str, written: bool = False) -> None:
        self._memo[(full, st.st_ino, st.st_mtime_ns, st.st_size)] = digest
        if self.state is not None:
            self.state.put(full, st, digest, written)

    def _hash_file(self, full: str, st: Stat) -> str:
        """Read and hash a file whose hash is not known, and remember it."""
        with self._watched(full, st.st_size, 1) as on_read, self._readable(full):
            digest = file_hash(full, st.st_size, on_read)
        self._remember(full, st, digest)
        return digest

    @contextmanager
    def _readable(self, full: str):
        """A read that fails other than by the file going away (a committed link to a file no
        read succeeds on, such as /proc/self/pagemap) is a one-line ProjectError."""
        try:
            yield
        except (FileNotFoundError, NotADirectoryError):
            raise
        except OSError as exc:
            path = os.path.relpath(full, self.root).replace(os.sep, "/")
            raise ProjectError(
                f"cannot read '{path}' to hash it: {exc.strerror or exc}",
                hint="point the dep or out at a readable file, or remove the link to it",
            ) from None

    @contextmanager
    def _watched(self, full: str, total_bytes: int, files: int):
        """Count and time a hashing job, and tell the progress listener about a big one; yields
        its per-read callback (or None)."""
        progress = self.progress
        if progress is not None and (total_bytes >= PROGRESS_BYTES or files >= PROGRESS_FILES):
            progress.hash_start(os.path.relpath(full, self.root), total_bytes, files)
        else:
            progress = None
        started, counted = time.perf_counter(), self.tally.seconds
        try:
            yield progress.hash_advance if progress is not None else None
        finally:
            self.tally.files += files
            self.tally.bytes += total_bytes
            # Its time, less what jobs inside it counted (a folder hashed here while a forked
            # process hashes a big file, see infos): hashing time, each second once.
            self.tally.seconds += time.perf_counter() - started - (self.tally.seconds - counted)
            if progress is not None:
                progress.hash_end()

    def _dir_info(self, full: str) -> HashInfo:
        """A folder's hash: known when its files' stats are those it was hashed with (in this
        command, or in the state db), else made from its files' hashes."""
        # In the order the folder lists them (a changed order only costs a lookup of each file
        # below); no record made per file until one must be hashed: a no-op pull of 10,000 files
        # spent a quarter of its check making them.
        rels, paths, numbers = _stats_below(full)
        fingerprint = _fingerprint(rels, numbers)
        done = self._dirs.get(full)
        if done is not None and done[0] == fingerprint:
            return done[1]
        if self.state is not None:
            cached = self.state.get_dir(full, fingerprint)
            if cached is not None:
                self._dirs[full] = (fingerprint, HashInfo(*cached))
                return self._dirs[full][1]
        files = _files(rels, paths, numbers)
        files.sort()
        entries = [
            (rel, digest, st.st_size)
            for (rel, _, st), digest in zip(files, self._hash_files(full, files), strict=False)
        ]
        info = HashInfo(manifest_hash(entries), sum(st.st_size for _, _, st in files), len(files))
        self._remember_dir(full, fingerprint, files, info)
        return info

    def dir_entries(self, path: str) -> list[tuple[str, str, int]]:
        """The manifest of a directory: sorted (relative path, hash, size) of its files."""
        full = os.path.join(self.root, path)
        files = sorted(_listing(full))
        return [
            (rel, digest, st.st_size)
            for (rel, _, st), digest in zip(files, self._hash_files(full, files), strict=False)
        ]

    def _hash_files(self, folder: str, files: list[tuple[str, str, FileStat]]) -> list[str]:
        """Hashes of a folder's files in order: known ones looked up (one query), the rest read."""
        known = self.state.under(folder) if self.state is not None else {}
        memo = self._memo
        if known or memo:
            digests = [memo.get((full, *st)) or matching_hash(known.get(full), st) for _, full, st in files]
            todo = [i for i, digest in enumerate(digests) if digest is None]
        else:  # a folder hashed for the first time (a cold status): no lookup per file
            digests, todo = [None] * len(files), range(len(files))
        sized = [(files[i][1], files[i][2].st_size) for i in todo]
        with self._watched(folder, sum(size for _, size in sized), len(todo)) as on_read, self._readable(folder):
            computed = hash_many(sized, self.jobs, on_read)
        put = self.state.put if self.state is not None else None
        for i, digest in zip(todo, computed, strict=True):
            _, full, st = files[i]
            digests[i] = memo[(full, *st)] = digest  # as _remember, without a call per file
            if put is not None:
                put(full, st, digest)
        return digests  # type: ignore[return-value]


def hash_many(files: list[tuple[str, int]], jobs: int, on_read: Callable[[int], None] | None = None) -> list[str]:
    """Hashes of many (path, size) files, in order, using the cores there are.

    Big files go to threads (reading and hashing release the GIL). Thousands of small files
    are taken in chunks by this process and forked ones, each as it is free: there the per-file
    Python work holds the GIL, so threads would only take turns. Files of BESIDE_FROM bytes
    among them are chunks of their own, taken first. on_read hears of the bytes as they are
    hashed (of a forked process's chunks, when it is done).
    """
    processes = min(jobs, cores())
    if jobs > 1 and len(files) >= PARALLEL_FROM and sum(s for _, s in files) >= PARALLEL_MEAN_SIZE * len(files):
        with thread_pool(jobs, "hash") as pool:
            parts = ordered(pool, lambda part: _hash_list(part, on_read), split(files, jobs))
            return [digest for part in parts for digest in part]
    if processes > 1 and len(files) >= PROCESSES_FROM and hasattr(os, "fork"):
        big = sorted((i for i, (_, size) in enumerate(files) if size >= BESIDE_FROM), key=lambda i: -files[i][1])
        small = [i for i, (_, size) in enumerate(files) if size < BESIDE_FROM] if big else list(range(len(files)))
        chunks = [[i] for i in big] + chunked(small)  # the biggest taken first
        digests: list[str] = [""] * len(files)

        def hashed(chunk: list[int], told: Callable[[int], None] | None) -> bytes:
            return _packed_hashes([files[i] for i in chunk], told)

        for chunk, (packed, here) in zip(chunks, taken_in_turn(chunks, hashed, on_read, processes), strict=True):
            ours = packed.decode("ascii") if packed is not None and len(packed) == 32 * len(chunk) else None
            if ours is None:  # its process failed: hash the chunk here, where an error shows
                ours = "".join(_hash_list([files[i] for i in chunk], on_read))
            elif not here and on_read is not None:
                on_read(sum(files[i][1] for i in chunk))
            for j, i in enumerate(chunk):
                digests[i] = ours[32 * j : 32 * j + 32]
        return digests
    return _hash_list(files, on_read)


def _hash_list(files: list[tuple[str, int]], on_read: Callable[[int], None] | None = None) -> list[str]:
    return [file_hash(path, size, on_read) for path, size in files]


def _packed_hashes(files: list[tuple[str, int]], on_read: Callable[[int], None] | None) -> bytes:
    """The hashes of files, 32 ASCII bytes each, one after the other: what goes through a pipe."""
    return "".join(_hash_list(files, on_read)).encode("ascii")


# Folders a directory's hash leaves out: Python's bytecode caches appear whenever code is
# imported, and would make a folder of code look changed on one machine and not another.
SKIPPED_FOLDERS = frozenset({"__pycache__"})


def _listing(full: str) -> list[tuple[str, str, FileStat]]:
    """(relative path, full path, stat) of every file below a directory, in listing order."""
    return _files(*_stats_below(full))


def _stats_below(full: str) -> tuple[list[str], list[str], array]:
    """The relative and full paths of every file below a directory, in listing order, and
    _stat_numbers of them."""
    rels: list[str] = []
    paths: list[str] = []
    add_rel, add_path = rels.append, paths.append

    def found(rel: str, entry: os.DirEntry) -> None:
        add_rel(rel)
        add_path(entry.path)

    each_file(full, found)
    return rels, paths, _stat_numbers(paths)


def _files(rels: list[str], paths: list[str], numbers: array) -> list[tuple[str, str, FileStat]]:
    stats = iter(numbers)
    return [
        (rel, path, FileStat(*stat))
        for rel, path, stat in zip(rels, paths, zip(stats, stats, stats, strict=False), strict=False)
    ]


def each_file(full: str, found: Callable[[str, os.DirEntry], None], prefix: str = "") -> None:
    """found(relative path, directory entry) of every file a directory's hash is made of, in
    listing order: no symlinked folders, no SKIPPED_FOLDERS. The entries tell files from folders:
    nothing is stat'ed here. A call per file, not a generator's frame (a quarter of the time of
    a listing of 10,000)."""
    with os.scandir(full) as entries:
        for entry in entries:
            name = entry.name
            if name in SKIPPED_FOLDERS:
                continue
            if entry.is_dir(follow_symlinks=False):
                each_file(entry.path, found, f"{prefix}{name}/")
            elif entry.is_file():
                found(prefix + name, entry)


def _stat_numbers(paths: list[str]) -> array:
    """Inode, mtime (ns) and size of each file, three numbers apiece.

    A stat costs a few microseconds, mostly in the kernel: for thousands of files a forked
    process takes half of them (threads measured no faster), which cut a warm status of 20,000
    files by a fifth. A process that fails leaves its half to this one.
    """
    if len(paths) < PROCESSES_FROM or cores() < 2 or not hasattr(os, "fork"):
        return _stats_of(paths)
    parts = split(paths, 2)
    numbers = array("q")
    for part, packed in zip(
        parts, in_processes(parts, lambda part, _: _stats_of(part).tobytes(), brief=True), strict=True
    ):
        if packed is None or len(packed) != 3 * numbers.itemsize * len(part):
            packed = _stats_of(part).tobytes()  # its process failed: stat the part here
        numbers.frombytes(packed)
    return numbers


def _stats_of(paths: list[str]) -> array:
    """_stat_numbers of paths listed folder by folder: each stat'ed by its name from its folder's
    descriptor, so the kernel does not walk the folder's path again for each (a fifth less time
    for 10,000 files)."""
    numbers = array("q")
    add, stat = numbers.extend, os.stat
    folder, fd = None, -1
    try:
        for path in paths:
            head, _, name = path.rpartition("/")
            if head != folder:
                if fd >= 0:
                    os.close(fd)
                    fd = -1
                folder = head
                if _STAT_AT and head:
                    try:
                        fd = os.open(head, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                    except OSError:  # a folder one may pass but not read: stat by the path
                        fd = -1
            st = stat(name, dir_fd=fd) if fd >= 0 else stat(path)
            add((st.st_ino, st.st_mtime_ns, st.st_size))
    finally:
        if fd >= 0:
            os.close(fd)
    return numbers
