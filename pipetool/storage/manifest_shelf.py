"""Checked directory manifests kept between commands: a command that needs a big directory's
file list (a fetch or pull with nothing to move, of 10,000 files) unpickles it, ~3 ms, instead
of reading, parsing and checking the manifest again, ~25 ms.

They are kept in `.pipetool/manifests.cache`, tagged with this user's secret as pipetool's other
kept copies are (files/trusted_cache): a damaged, foreign or committed copy is ignored. A
manifest's entries follow from its hash, so a kept copy never goes stale; it is used only while
the cache still holds the manifest itself. The copy keeps the manifests of the last command that
had to read one.

It also keeps, for a directory whose files the cache was found to hold all of, their hashes (one
string) and the stamps (inode, mtime) of the cache's two-character folders they lie in, taken
before that listing: a fetch with nothing to move then stats those folders (256 at most) instead
of listing them, or unpickling the directory's entries at all, since a folder's mtime moves
whenever an object in it is added, removed or renamed. A folder changed
within its racy second gets a stamp only when its mtime is earlier than the time its own file
system gives a file made now (files/stamps.fs_now): a change after that moves the mtime past the
stamp, whatever the clock's tick.
"""

from __future__ import annotations

import os
import time
from bisect import bisect_left
from collections.abc import Collection, Iterable

from ..files.stamps import fs_now, racy
from ..files.trusted_cache import Shelf
from .cache import Cache, CorruptObject

FILE = "manifests.cache"
PURPOSE = "checked-manifests-3"
WHOLE = "whole "  # key of a directory's (Run of its hashes, folder stamps): this, then its manifest's hash

FolderStamps = dict[str, tuple[int, int]]  # two-character folder -> (inode, mtime_ns)


class ManifestShelf:
    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self._shelf: Shelf | None = None
        self._used: set[str] = set()
        self._read = False  # a manifest was read from the cache: the copy is saved again

    def _kept(self) -> Shelf:
        if self._shelf is None:
            self._shelf = Shelf(os.path.join(os.path.dirname(self.cache.dir), FILE), PURPOSE)
        return self._shelf

    def entries(self, digest: str) -> list[tuple[str, str, int]] | None:
        """A directory's checked entries while the cache holds its manifest; None when it does
        not, or when the manifest is damaged (the cache removes it then)."""
        if not self.cache.has(digest):
            return None
        kept = self._kept().get(digest)
        if isinstance(kept, list):
            self._used.add(digest)
            return kept
        try:
            entries = self.cache.manifest(digest)
        except CorruptObject:
            return None
        self._kept().set(digest, entries)
        self._used.add(digest)
        self._read = True
        return entries

    def folder_stamps(self, digests: Iterable[str], settle: bool = False) -> FolderStamps:
        """The stamps of the cache folders these objects lie in, taken before they are listed,
        those that have one: a folder missing has none, nor one changed within its racy second
        unless its mtime is earlier than the cache's file system's own time now (stamps.fs_now:
        a fetch right after a pull trusts the folders the pull filled). settle: a folder changed
        in the file system's current tick (the fetch that has just filled it) is stamped once
        the tick is over, waited for (a few milliseconds)."""
        stamps: FolderStamps = {}
        now: tuple[int, int] | None = None
        late: set[str] = set()
        for prefix in {digest[:2] for digest in digests}:
            try:
                st = os.stat(os.path.join(self.cache.dir, prefix))
            except OSError:
                continue
            if racy(st.st_mtime_ns):
                now = now or fs_now(self.cache.dir) or (-1, 0)
                if st.st_dev != now[0]:
                    continue
                if st.st_mtime_ns >= now[1]:
                    late.add(prefix)
                    continue
            stamps[prefix] = (st.st_ino, st.st_mtime_ns)
        if late and settle and _tick_passed(self.cache.dir, now[1] if now else 0):
            stamps.update(self.folder_stamps(late))
        return stamps

    def whole(self, digest: str) -> str | None:
        """The hashes of a directory's files (a Run) when the cache still holds every one of them
        (a listing found it so, mark_whole), its manifest too: its folders have the stamps they
        had then. None when that is not known."""
        kept = self._kept().get(WHOLE + digest)
        if not isinstance(kept, tuple) or len(kept) != 2 or not _is_run(kept[0]) or not isinstance(kept[1], dict):
            return None
        run, stamps = kept
        if not stamps:
            return None
        for prefix, stamp in stamps.items():
            try:
                st = os.stat(os.path.join(self.cache.dir, prefix))
            except OSError:
                return None
            if (st.st_ino, st.st_mtime_ns) != stamp:
                return None
        if not self.cache.has(digest):
            return None
        self._used.update((WHOLE + digest, digest))  # its entries stay kept, unread
        return run

    def mark_whole(self, digest: str, files: Collection[str], stamps: FolderStamps) -> None:
        """The cache was found to hold every file of this directory (files: their hashes, each
        once) by a listing made after stamps were taken: keep their hashes and the stamps of
        their folders, when each has one."""
        prefixes = {file[:2] for file in files}
        if not prefixes or not prefixes <= stamps.keys() or any(len(file) != HASH_WIDTH for file in files):
            return
        run = "".join(sorted(files))
        self._kept().set(WHOLE + digest, (run, {prefix: stamps[prefix] for prefix in prefixes}))
        self._used.add(WHOLE + digest)
        self._read = True

    def save(self) -> None:
        """Keep the manifests (and folder stamps) this command used, when it had to read a
        manifest or took new stamps (else the copy stays)."""
        if self._read and self._shelf is not None:
            self._shelf.save(self._used)
            self._read = False


_SETTLE_SECONDS = 0.05  # a clock tick is 1 to 10 ms on Linux: five ticks and more


def _tick_passed(folder: str, tick: int) -> bool:
    """Wait until the file system's own time in folder is past tick; False if it does not come."""
    deadline = time.monotonic() + _SETTLE_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.001)
        now = fs_now(folder)
        if now is None:
            return False
        if now[1] > tick:
            return True
    return False


# A Run: the sorted hashes of a directory's files, HASH_WIDTH characters each, joined into one
# string: unpickled at once (10,000 hashes as a list of entries took 3.5 ms), searched by halves.
HASH_WIDTH = 32


def _is_run(value: object) -> bool:
    return isinstance(value, str) and len(value) % HASH_WIDTH == 0


def _in_run(run: str, digest: str) -> bool:
    count = len(run) // HASH_WIDTH
    at = bisect_left(range(count), digest, key=lambda i: run[HASH_WIDTH * i : HASH_WIDTH * (i + 1)])
    return at < count and run[HASH_WIDTH * at : HASH_WIDTH * (at + 1)] == digest


def distinct(hashes: set[str], runs: Collection[str]) -> int:
    """How many objects hashes and the runs of directories known whole name, each once: a run
    beside a few hashes is searched, more are made sets."""
    if not runs:
        return len(hashes)
    if len(runs) == 1 and len(hashes) <= 256:
        (run,) = runs
        return len(run) // HASH_WIDTH + sum(1 for digest in hashes if not _in_run(run, digest))
    return len(hashes.union(*({run[k : k + HASH_WIDTH] for k in range(0, len(run), HASH_WIDTH)} for run in runs)))
