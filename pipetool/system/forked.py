"""Work split between this process and forked ones: creating, hashing and copying thousands of
small files is kernel work that the cores share, while threads would take turns at the Python
work between (the GIL). A bare fork per process and one write of packed bytes back: no pool to
start, nothing pickled per file."""

from __future__ import annotations

import os
import signal
import struct
import sys
import threading
import time
from collections.abc import Callable
from functools import cache
from typing import Any

from .interrupts import HELD, fork_held, guarded
from .repolock import forget_in_fork

OnRead = Callable[[int], None] | None
Work = Callable[[list, OnRead], bytes]


@cache
def cores() -> int:
    """The machine's cores, asked once: os.cpu_count() reads a file of the kernel's each time
    (~6 µs; a status of 500 stages asked it 480 times)."""
    return os.cpu_count() or 1


def split(items: list, parts: int) -> list[list]:
    """Contiguous, nearly equal parts (order kept when they are joined again)."""
    size = -(-len(items) // parts)
    return [items[k : k + size] for k in range(0, len(items), size)]


def in_processes(parts: list, work: Callable[[Any, OnRead], Any], on_read: OnRead = None, brief: bool = False) -> list:
    """work(part) for each part at once: the first in this process (told on_read; what it returns
    is kept as it is), each other in a forked one, whose bytes come back through a pipe; None for
    a part whose process failed.

    A bare fork per part and one write of packed bytes: no pool to start (~15 ms), nothing
    pickled per file. A forked process leaves Ctrl-C to the command, and leaves without the
    interpreter's cleanup; once its whole output has come, it is not waited for (its exit unmaps
    its copy of this process's memory) but reaped by a later call. When this process's part
    fails or is interrupted, the others are stopped rather than waited for (a process hashing a
    50 GB file would otherwise hold Ctrl-C for minutes): SIGTERM, on which they unwind, removing
    a temp file they were writing, then SIGKILL if one has not ended within a second. A brief
    part (stats, lookups: milliseconds) is not also tied to this process's death
    (_quiet_worker's PR_SET_PDEATHSIG): loading ctypes for it would take longer than its work,
    and it holds no lock either way. This process's part runs guarded (system.interrupts): a
    Ctrl-C that comes while it holds a lock (its progress bar's) takes effect once the lock is
    free, not in a step that would leave it held.
    """
    with guarded():
        return _in_processes(parts, work, on_read, brief)


def _in_processes(parts: list, work: Callable[[Any, OnRead], Any], on_read: OnRead, brief: bool) -> list:
    _reap_ended()
    children: list[tuple[int, int]] = []  # (pid, read end) of each part after the first
    outputs: list[bytes | None] = []
    done = False
    try:
        for part in parts[1:]:
            # Held until the child is noted: a Ctrl-C during the fork (another thread can take
            # it while this one runs the at-fork hooks) then takes effect where the finally
            # below stops the child, not where it would be lost or leave the child unknown.
            with HELD:
                read_end, write_end = os.pipe()
                parent = os.getpid()
                pid, mask = fork_held()
                if pid == 0:  # the child: work, send, leave
                    code = 0
                    try:
                        _quiet_worker(parent, tied=not brief)
                        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                        os.close(read_end)
                        _send(write_end, work(part, None))
                    except BaseException:  # noqa: BLE001 - the parent does this part itself
                        code = 1
                    os._exit(code)
                os.close(write_end)
                if pid is None:  # no process to be had: this one does the rest
                    os.close(read_end)
                    break
                children.append((pid, read_end))
        mine = work(parts[0], on_read)
        for _, read_end in children:
            with open(read_end, "rb", closefd=False) as pipe:
                outputs.append(_received(pipe.read()))
        done = True
    finally:
        for pid, read_end in children:
            os.close(read_end)
            if done:
                _unreaped.append(pid)
            else:
                _stop(pid)
    return [mine, *outputs, *[None] * (len(parts) - 1 - len(outputs))]


_LENGTH = struct.Struct("<Q")


def _send(write_end: int, output: bytes) -> None:
    """A forked part's output, after its length, then the end of the pipe: its reader is done
    then, not once this process's memory is torn down (as long again as the work for a command
    of 100 MB, whose pages this process shares until it exits)."""
    for chunk in (_LENGTH.pack(len(output)), output):
        view = memoryview(chunk)
        while view:
            view = view[os.write(write_end, view) :]
    os.close(write_end)


def _received(data: bytes) -> bytes | None:
    """The output _send sent; None when it came short (its process failed or was killed)."""
    if len(data) < _LENGTH.size or _LENGTH.unpack_from(data)[0] != len(data) - _LENGTH.size:
        return None
    return data[_LENGTH.size :]


# Forked processes that sent their whole output, reaped once they have ended (in_processes does
# not wait for their exit): by the next in_processes, or by init once this process has ended.
# Only _reap_ended removes a pid, under _reaping: a pid two threads both saw could otherwise be
# waited for again once freed, and reap another thread's child that took it (a stage's shell,
# whose failure subprocess would then read as success).
_unreaped: list[int] = []
_reaping = threading.Lock()


def _reap_ended() -> None:
    if not _unreaped or not _reaping.acquire(blocking=False):  # another thread is at it
        return
    try:
        for pid in list(_unreaped):
            try:
                ended, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                ended = pid
            if ended:
                _unreaped.remove(pid)
    finally:
        _reaping.release()


def _stop(pid: int) -> int:
    """End a forked part early; its wait status. SIGTERM first, on which it unwinds (a temp file
    it was writing is removed on the way out), then SIGKILL if it has not ended within
    STOP_SECONDS (a system call that long)."""
    _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    while time.monotonic() < deadline:
        ended, status = os.waitpid(pid, os.WNOHANG)
        if ended:
            return status
        time.sleep(0.002)
    _signal(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


STOP_SECONDS = 1.0


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _unwind(signum: int, frame) -> None:
    raise SystemExit(1)


def _quiet_worker(parent: int, tied: bool = True) -> None:
    """A forked process leaves Ctrl-C to the command that forked it, unwinds on SIGTERM (what it
    was writing is removed on the way out), and ends with its command (on Linux): one left
    working after its command was killed would hold the project's lock."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _unwind)
    forget_in_fork()
    if tied and sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it was killed before the line above could take effect
        os._exit(1)


_PR_SET_PDEATHSIG = 1


CHUNK_ITEMS = 256  # small files a process (or thread) takes at a time: few hand-offs, a short wait at the end
MAX_CHUNKS = 1024  # their numbers fit in a pipe of one page, the least a pipe holds
_NUMBER = struct.Struct("<I")  # a chunk's number, as taken from the pipe
_HEAD = struct.Struct("<II")  # a chunk's number and the length of its output, before that output


def chunked(items: list, least: int = CHUNK_ITEMS) -> list[list]:
    """Contiguous chunks of at least `least` items (more where MAX_CHUNKS would be passed)."""
    size = max(least, -(-len(items) // MAX_CHUNKS), 1)
    return [items[k : k + size] for k in range(0, len(items), size)]


def taken_in_turn(
    chunks: list[list], work: Work, on_read: OnRead = None, processes: int = 2
) -> list[tuple[bytes | None, bool]]:
    """work(chunk) of every chunk, each done by whichever of this process and the forked ones
    (processes in all) is free first, in_processes' way: a chunk that turns out slow (a big
    file, a cold folder) holds up no share of the rest, as equal parts fixed in advance would.
    For each chunk in order, its output (None when the process that took it failed: the caller
    does it again, where an error shows) and whether this process did it (told on_read as it
    went; a forked one is told None). At most MAX_CHUNKS chunks (see chunked); the first ones
    are taken first."""
    if len(chunks) > MAX_CHUNKS:
        raise ValueError(f"{len(chunks)} chunks: at most {MAX_CHUNKS}")
    if processes < 2 or len(chunks) < 2 or not hasattr(os, "fork"):
        with guarded():  # as in_processes guards its own part
            return [(work(chunk, on_read), True) for chunk in chunks]
    here: set[int] = set()
    read_end, write_end = os.pipe()
    try:
        try:
            os.write(write_end, b"".join(_NUMBER.pack(i) for i in range(len(chunks))))
        finally:
            os.close(write_end)  # before any fork: a process that finds the pipe empty is done

        def take(_: object, told: OnRead) -> bytes:
            outputs = []
            while len(number := os.read(read_end, _NUMBER.size)) == _NUMBER.size:
                (i,) = _NUMBER.unpack(number)
                output = work(chunks[i], told)
                here.add(i)  # in a forked process, a set of its own that nobody reads
                outputs += (_HEAD.pack(i, len(output)), output)
            return b"".join(outputs)

        packs = in_processes([None] * min(processes, len(chunks)), take, on_read)
    finally:
        os.close(read_end)
    results: list[bytes | None] = [None] * len(chunks)
    for pack in packs:
        at = 0
        while pack is not None and at + _HEAD.size <= len(pack):
            i, length = _HEAD.unpack_from(pack, at)
            at += _HEAD.size + length
            results[i] = pack[at - length : at]
    return [(output, i in here) for i, output in enumerate(results)]
