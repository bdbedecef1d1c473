"""The repository lock: one writer (repro) at a time; readers such as status never wait.

The kernel drops an flock when its holder dies, so a lock left by a killed pipetool is free
again at once; the pid file beside it only names the holder in messages. It is a plain flock()
rather than the filelock package, whose import alone took ~50 ms: a quarter of a small repro.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .errors import ProjectError

LOCK_FILE = "repo.lock"
PID_FILE = "repo.pid"


@contextmanager
def hold(state_dir: str, wait: bool = False, on_takeover: Callable[[int], None] | None = None) -> Iterator[None]:
    """Hold the lock for the block; fail at once naming the holder, or wait for it."""
    fd = os.open(os.path.join(state_dir, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
    pid_path = os.path.join(state_dir, PID_FILE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException as error:
        os.close(fd)
        if not isinstance(error, BlockingIOError):
            raise
        holder = _read_pid(pid_path)
        who = f"pid {holder}" if holder else "another process"
        raise ProjectError(
            f"another pipetool ({who}) is running in this project",
            hint="wait for it to finish, or use 'pipetool repro --wait' to queue behind it",
        ) from None
    try:
        previous = _read_pid(pid_path)
        if previous and previous != os.getpid() and on_takeover is not None:
            on_takeover(previous)
        with open(pid_path, "w", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n")
        yield
    finally:
        try:
            os.remove(pid_path)
        except OSError:
            pass
        os.close(fd)  # closing the only descriptor releases the flock


def _read_pid(path: str) -> int | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return int(handle.read().strip() or 0) or None
    except (OSError, ValueError):
        return None
