"""Whole-file writes and reads: a write lands whole or not at all (temp file beside it, rename);
a read of a file that may be missing gives None for it rather than an exception."""

from __future__ import annotations

import errno
import os
import stat


def read_text(path: str) -> str | None:
    """A UTF-8 file's text, or None when there is no file (UnicodeDecodeError and other
    OSErrors are the caller's)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def read_regular(path: str, max_bytes: int = -1) -> bytes | None:
    """A regular file's bytes (at most max_bytes of them when given), or None when there is none:
    missing, a link, a pipe or a device. For files that pipetool reads but a clone can put in
    place (its state folder, .pipetoolignore): a link to /dev/zero would be read for ever.
    OSError otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a symlink
            return None
        raise
    with open(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return handle.read(max_bytes)


def atomic_write(path: str, text: str, durable: bool = True) -> None:
    """Write a whole file or nothing: temp file beside it, fsync (when durable), rename."""
    atomic_write_bytes(path, text.encode("utf-8"), durable)


def atomic_write_bytes(path: str, data: bytes, durable: bool = True) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise


def create_read_only(path: str, chmod: bool = False) -> int:
    """A new file at path, of mode 0444 once made (the descriptor still writes): a cache
    object's mode, with no chmod by name after. A leftover of a killed run under the same name
    is removed first; never through a link. chmod: set the mode again on the open file, for a
    umask that takes read bits away."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o444)
    except FileExistsError:
        remove_quietly(path)
        fd = os.open(path, flags, 0o444)
    if chmod:
        try:
            os.fchmod(fd, 0o444)
        except BaseException:
            os.close(fd)
            raise
    return fd


def remove_quietly(path: str) -> None:
    """Remove a file if it can be: for leftovers whose removal is a courtesy, not a must."""
    try:
        os.remove(path)
    except OSError:
        pass
