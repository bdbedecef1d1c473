"""Stage process groups never outlive the pipetool that started them.

Two defences, because either alone leaves a gap:
- a watchdog: a small process each pipetool starts with its first stage, told over a pipe which
  groups run; when pipetool dies (even by kill -9) the pipe closes and the watchdog SIGKILLs
  those groups, grandchildren included;
- a record in the state folder, `running.<pid>-<start>`, of the groups running: when the
  watchdog was killed too, the next pipetool to take the repository lock ends the groups of
  every writer that is no longer alive.

A group is only ever signalled while it is provably the one recorded: its leader (the stage's
shell, which started the session) still exists with the start time read from /proc when it
started. A pid and group id can be reused once the group is gone; the start time cannot.

This file runs as the watchdog's program too (`python -I -S procgroups.py PARENT`), so it
imports the standard library only (and, where pipetool forks the watchdog, interrupts.py's fork).
"""

from __future__ import annotations

import functools
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

RECORD_PREFIX = "running."
RECORD_LIMIT = 1 << 16  # bytes of a record; a pipetool runs at most a few hundred groups at once
WATCHDOG_NAME = "pipetool-watch"  # a forked watchdog's process name
POLL_SECONDS = 0.5  # how often the watchdog checks that its parent is still there
DEATH_SECONDS = 5.0  # how long a takeover waits for the groups it ended to be gone

Group = tuple[int, int]  # (process group id = its leader's pid, the leader's start time)


# --- identity: which process is this, really ------------------------------------------------


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, process group, start time in clock ticks since boot) of pid; None when there is
    no such process, or no /proc to ask."""
    try:  # os-level: a stage start pays this once, and a file object costs ten times more
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
    except OSError:
        return None
    try:
        data = os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)
    fields = data.rsplit(b")", 1)[-1].split()  # the name in parentheses may hold anything
    try:
        return fields[0].decode("ascii", "replace"), int(fields[2]), int(fields[19])
    except (IndexError, ValueError):
        return None


def process_start(pid: int) -> int | None:
    """When pid started (clock ticks since boot); None when it is not there (or no /proc)."""
    stat = _stat(pid)
    return stat[2] if stat else None


@functools.cache
def boot_id() -> str:
    """This boot's random id: a record written before a reboot names no living process."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def _members(pgid: int) -> list[int]:
    """Live (not zombie) processes of the group."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    found = []
    for name in names:
        if name.isdigit():
            stat = _stat(int(name))
            if stat is not None and stat[1] == pgid and stat[0] not in ("Z", "X"):
                found.append(int(name))
    return found


def end_group(group: Group, leaderless: bool = False) -> bool:
    """SIGKILL the whole group if it is still the one recorded; whether it was signalled.

    leaderless: also when the leader is gone but the group is not (the stage's shell exited, a
    background child lives on). Only the watchdog may: it acts at once, while the group id
    cannot have been given out again; a later reader could meet someone else's group.
    """
    pgid, start = group
    if pgid <= 1 or pgid == os.getpgrp():
        return False
    leader = _stat(pgid)
    if leader is None and not leaderless:
        return False
    if leader is not None and leader[2] != start:  # the pid now names another process
        return False
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    return True


# --- the record in the state folder --------------------------------------------------------


def _writer_name(pid: int, start: int) -> str:
    return f"{RECORD_PREFIX}{pid}-{start}"


def _parse_writer(name: str) -> Group | None:
    """(pid, start) of a record's file name, or None when the name is not one of ours."""
    if not name.startswith(RECORD_PREFIX):
        return None
    parts = name[len(RECORD_PREFIX) :].split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1])


class Record:
    """The groups this process runs, in a file of the state folder named after this process.

    An append-only log ("+pgid start", "-pgid"), rewritten whole (the groups running) only when it
    grows past half its bound: one small append per event. Writing the file whole each time
    (temp file, rename) cost ~0.9 ms per event on ext4, a third of a short stage.
    """

    def __init__(self, state_dir: str) -> None:
        self.path = os.path.join(state_dir, _writer_name(os.getpid(), process_start(os.getpid()) or 0))
        self._groups: dict[int, int] = {}
        self._fd: int | None = None
        self._size = 0
        self._failed = False
        self._lock = threading.Lock()

    def add(self, group: Group) -> None:
        with self._lock:
            self._groups[group[0]] = group[1]
            self._log(f"+{group[0]} {group[1]}\n")

    def remove(self, group: Group) -> None:
        with self._lock:
            if self._groups.pop(group[0], None) is not None:
                self._log(f"-{group[0]}\n")

    def close(self) -> None:
        """Let the file go; it is removed unless a group still runs (then a later reader ends it)."""
        with self._lock:
            if self._fd is None:
                return
            os.close(self._fd)
            self._fd = None
            if not self._groups:
                try:
                    os.remove(self.path)
                except OSError:
                    pass

    def _log(self, line: str) -> None:
        if self._failed:
            return
        try:
            if self._fd is None:
                flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_NOFOLLOW
                self._fd = os.open(self.path, flags, 0o644)
                self._size = 0
            if self._size == 0 or self._size > RECORD_LIMIT // 2:  # begun, or compacted when big
                if self._size:
                    os.ftruncate(self._fd, 0)
                line = f"boot {boot_id()}\n" + "".join(f"+{g} {s}\n" for g, s in self._groups.items())
                self._size = 0
            self._size += os.write(self._fd, line.encode("ascii"))
        except OSError:  # a read-only state folder: the watchdog alone guards this run
            self._failed = True


def _read_record(path: str) -> list[Group] | None:
    """The groups a record says were running, or None when it is damaged, too big or from
    another boot (it is left-over state, read as untrusted)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        data = os.read(fd, RECORD_LIMIT + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    lines = data.decode("ascii", "replace").split("\n")[:-1]  # a torn last line is dropped
    if len(data) > RECORD_LIMIT or not lines or lines[0] != f"boot {boot_id()}":
        return None
    groups: dict[int, int] = {}
    for line in lines[1:]:
        if not _follow(groups, line):
            return None
    return list(groups.items())


def end_orphans(state_dir: str) -> list[Group]:
    """End the recorded groups of every writer that is no longer alive, wait until they are
    gone, and drop their records; the groups ended."""
    try:
        names = [n for n in os.listdir(state_dir) if n.startswith(RECORD_PREFIX)]
    except OSError:
        return []
    ended: list[Group] = []
    for name in names:
        writer = _parse_writer(name)
        if writer is None or process_start(writer[0]) == writer[1]:
            continue  # not a record, or its writer runs (a repro in a worktree, this process)
        path = os.path.join(state_dir, name)
        ended += [g for g in _read_record(path) or [] if end_group(g)]
        try:
            os.remove(path)
        except OSError:
            pass
    _wait_dead([pgid for pgid, _ in ended])
    return ended


def _wait_dead(pgids: list[int]) -> None:
    """A SIGKILLed process may finish the write it is in; the caller reads the files only after."""
    deadline = time.monotonic() + DEATH_SECONDS
    while pgids and time.monotonic() < deadline:
        pgids = [pgid for pgid in pgids if _members(pgid)]
        if pgids:
            time.sleep(0.01)


# --- the watchdog ---------------------------------------------------------------------------


class _Watchdog:
    """This process's end of the watchdog: started with the first group, told of each."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self._proc = None  # the watchdog's Popen, kept so that it is never reaped as garbage
        self._failed = False
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start it now; while this process has one thread, a fork (~1 ms) serves instead of a
        new interpreter (~20 ms of CPU, which a repro of quick stages waits for on two cores)."""
        with self._lock:
            if self._fd is None and not self._failed:
                self._start(fork=threading.active_count() == 1 and hasattr(os, "fork"))

    def tell(self, message: str) -> None:
        with self._lock:
            if self._fd is None and not self._failed:
                self._start()
            if self._fd is None:
                return
            try:  # blocking: a lost "-pgid" could make it end a group that is no longer ours
                os.write(self._fd, message.encode("ascii"))
            except OSError:  # it is gone: the record still guards the groups
                os.close(self._fd)
                self._fd, self._failed = None, True

    def _start(self, fork: bool = False) -> None:
        import subprocess  # here: the watchdog's own program does not need it

        read, write = os.pipe()  # not inherited: the stages must not keep the write end open
        if fork:
            from .interrupts import HELD, fork_held  # here: this file also runs as the watchdog's program

            parent = os.getpid()
            with HELD:  # a Ctrl-C in the fork takes effect once the watchdog is noted (see forked.py)
                pid, mask = fork_held()
                if pid == 0:
                    _forked_watchdog(read, parent, mask)  # never returns
                if pid is not None:
                    os.close(read)
                    self._fd = write
                    return
        try:
            # Its own session: Ctrl-C at the terminal reaches pipetool, which stops the stages
            # itself; the watchdog only acts when pipetool is gone.
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", os.path.abspath(__file__), str(os.getpid())],
                stdin=read,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError:
            os.close(write)
            self._failed = True
            return
        finally:
            os.close(read)
        self._fd = write


def _forked_watchdog(read: int, parent: int, mask: set[signal.Signals]) -> None:
    """The child of a fork becomes the watchdog: it keeps only the pipe (a copy of the repository
    lock's descriptor would hold the lock after pipetool's death) and never returns. Signals
    stay held (interrupts.fork_held) until it has its own handlers (mask: the mask to restore
    then)."""
    code = 0
    try:
        import gc

        gc.disable()  # no finalizer of pipetool's objects may run here
        os.setsid()  # Ctrl-C at the terminal is pipetool's to handle, not the watchdog's
        with open("/proc/self/comm", "w") as comm:  # its name in ps and top
            comm.write(WATCHDOG_NAME)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C held back since the fork was pipetool's
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.dup2(read, 0)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.closerange(3, 1 << 20)
        watch(parent)
    except BaseException:  # noqa: BLE001 - nothing here may reach pipetool's own handlers
        code = 1
    os._exit(code)


_watchdog = _Watchdog()


def start_watchdog() -> None:
    """Start the watchdog before stages run (cheapest while this process has one thread)."""
    _watchdog.start()


@contextmanager
def tracked(pid: int, record: Record | None = None) -> Iterator[None]:
    """The process group led by pid (a stage's shell that started its own session) is ended
    if this process dies before the block does.

    The watchdog hears of it first, by pid alone, and reads when it started itself: reading that
    here takes up to a millisecond while the shell starts, in which a kill -9 of this process
    would leave the group unwatched. Then it is told the start time read here, before this
    process can reap the shell: a watchdog that read its own late, from a pid used again since,
    has it corrected.
    """
    _watchdog.tell(f"+{pid}\n")
    start = process_start(pid)
    group = (pid, start) if start is not None else None  # None: gone already, or no /proc
    if group is not None:
        _watchdog.tell(f"+{pid} {start}\n")
    if record is not None and group is not None:
        record.add(group)
    try:
        yield
    finally:
        if record is not None and group is not None:
            record.remove(group)
        _watchdog.tell(f"-{pid}\n")


def watch(parent: int) -> None:
    """The watchdog's program: follow the groups its parent says run; end those left when the
    parent has gone (its end of the pipe closed, or it is no longer our parent)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    groups: dict[int, int] = {}
    pending = b""
    while True:
        ready, _, _ = select.select([0], [], [], POLL_SECONDS)
        if not ready:
            if os.getppid() != parent:  # a forked child of pipetool may hold the pipe open
                break
            continue
        chunk = os.read(0, 4096)
        if not chunk:
            break
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            _follow(groups, line.decode("ascii", "replace"), told=True)
    for group in groups.items():
        end_group(group, leaderless=True)


def _follow(groups: dict[int, int], line: str, told: bool = False) -> bool:
    """Apply one event ("+pgid start" or "-pgid") to groups; False when it is not one. told: the
    watchdog's events, where "+pgid" alone has its leader's start time read now (none: it is
    gone); a record, left-over state, must say it."""
    fields = line[1:].split(" ")
    if not all(f.isdigit() for f in fields):
        return False
    if told and line.startswith("+") and len(fields) == 1:
        start = process_start(int(fields[0]))
        if start is not None:
            groups[int(fields[0])] = start
    elif line.startswith("+") and len(fields) == 2:
        groups[int(fields[0])] = int(fields[1])
    elif line.startswith("-") and len(fields) == 1:
        groups.pop(int(fields[0]), None)
    else:
        return False
    return True


if __name__ == "__main__":
    watch(int(sys.argv[1]))
