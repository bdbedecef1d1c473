"""A file's stamp: what tells, without reading it, that a file still has the bytes a kept digest
was made from (inode, size, mtime and ctime, as git's index and ninja's log do).

A file changed within the last second may change again within the same timestamp tick, so it
gets no stamp: it is read again next time (git's "racy clean" rule).
"""

from __future__ import annotations

import os
import stat
import time

# A file modified this recently may be modified again within the same mtime tick; trusting its
# stamp could hide that second change.
RACY_SECONDS = 1.0

Stamp = tuple[int, int, int, int]


def racy(mtime_ns: int) -> bool:
    return time.time_ns() - mtime_ns < RACY_SECONDS * 1e9


def fine_grained(mtime_ns: int) -> bool:
    """Whether a time comes from a file system that keeps times finer than a second (ext4, XFS,
    btrfs, APFS): there a write made after another one's clock tick (a few milliseconds) moves
    the mtime. A time on a whole second may come from one that keeps whole seconds (or two, as
    FAT does), where a second write can keep the first one's time for that long."""
    return mtime_ns % 1_000_000_000 != 0


def fs_now(folder: str) -> tuple[int, int] | None:
    """(device, time) that a file made in folder gets now, by its file system's own clock (as
    Mercurial asks it): a folder whose mtime is earlier than that changes it for any change made
    after this call, whatever the tick or the clocks of other machines. None where no unnamed
    file can be made there (no O_TMPFILE: NFS, non-Linux)."""
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag:
        return None
    try:
        fd = os.open(folder, flag | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    return st.st_dev, st.st_mtime_ns


def stamp(path: str) -> Stamp | None:
    """The stamp of a regular file (not followed through a link); None when there is none to trust."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or racy(max(st.st_mtime_ns, st.st_ctime_ns)):
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def unchanged(path: str, kept: tuple[Stamp | None, str] | None) -> tuple[Stamp | None, str | None]:
    """The path's stamp now, and the kept digest when that stamp vouches for it (else None:
    read the file). Stamped before any read: a write between the two shows as a new stamp later."""
    now = stamp(path)
    if now is not None and kept is not None and kept[0] == now:
        return now, kept[1]
    return now, None
