"""The repository lock: one writer (repro) at a time; readers such as status never wait.

The kernel drops an flock when its holder dies, so a lock left by a killed pipetool is free
again at once; the pid file beside it only names the holder in messages. Whoever takes the lock
first ends the stage processes a dead pipetool left running (procgroups), so that none of them
writes an out while this holder decides what is up to date. It is a plain flock()
rather than the filelock package, whose import alone took ~50 ms: a quarter of a small repro.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

from ..errors import ProjectError
from .procgroups import end_orphans

LOCK_FILE = "repo.lock"
PID_FILE = "repo.pid"


_held: set[int] = set()  # descriptors of the flocks this process holds


def forget_in_fork() -> None:
    """In a process forked to work for its holder: close the copies of the lock's descriptors.
    An flock lasts while any copy is open, so a worker outliving its killed command would
    otherwise keep the project locked."""
    for fd in list(_held):
        try:
            os.close(fd)
        except OSError:
            pass
    _held.clear()


class Held(Exception):
    """Another process holds the lock."""


@contextmanager
def exclusive(path: str, wait: bool = False) -> Iterator[None]:
    """An flock on path for the block: one holder at a time; Held at once when busy (or wait)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise Held(path) from None
    except BaseException:
        os.close(fd)
        raise
    _held.add(fd)
    try:
        yield
    finally:
        _held.discard(fd)
        os.close(fd)  # closing the only descriptor releases the flock


@contextmanager
def hold(state_dir: str, wait: bool = False, on_takeover: Callable[[int], None] | None = None) -> Iterator[None]:
    """Hold the lock for the block; fail at once naming the holder, or wait for it."""
    pid_path = os.path.join(state_dir, PID_FILE)
    with ExitStack() as held:
        try:
            held.enter_context(exclusive(os.path.join(state_dir, LOCK_FILE), wait))
        except Held:
            holder = _read_pid(pid_path)
            who = f"pid {holder}" if holder else "another process"
            raise ProjectError(
                f"another pipetool ({who}) is running in this project",
                hint="wait for it to finish, or use 'pipetool repro --wait' to queue behind it",
            ) from None
        end_orphans(state_dir)
        previous = _read_pid(pid_path)
        if previous and previous != os.getpid() and on_takeover is not None:
            on_takeover(previous)
        with open(pid_path, "w", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n")
        try:
            yield
        finally:
            try:
                os.remove(pid_path)
            except OSError:
                pass


def _read_pid(path: str) -> int | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return int(handle.read().strip() or 0) or None
    except (OSError, ValueError):
        return None
