"""Each stage's output from its last run, kept in `.pipetool/logs/<stage>.log`.

A log is opened (emptied) when its stage starts and written line by line as the output comes,
so `tail -f` follows a running stage; a stage that is up to date or restored keeps the log of
the run that made its outs.

A log is never opened through a symlink (O_NOFOLLOW), for writing or reading: a clone that
commits `.pipetool/logs/x.log` as a link elsewhere gets that stage's log skipped, not the target
emptied or printed. So the check of .pipetool for committed links (project.py) need not list
this folder, which holds a file per stage (100,000 in a big foreach).
"""

from __future__ import annotations

import errno
import os
import stat
import threading
from typing import TextIO

from ..errors import ProjectError
from ..pipeline.project import LOGS_DIR

_WRITE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
# Stage names keep letters, digits and these in their log's name; '/' (from a foreach value) and
# the rest are %-escaped as URLs are (urllib.parse would cost a repro 2 ms to import).
_KEEP = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~@.-_=+,")


def log_path(state_dir: str, stage: str) -> str:
    name = "".join(c if c in _KEEP else "".join(f"%{b:02X}" for b in c.encode()) for c in stage)
    return os.path.join(state_dir, LOGS_DIR, name + ".log")


class StageLogs:
    """The open log files of the stages running now."""

    def __init__(self, state_dir: str) -> None:
        self.state_dir = state_dir
        self._open: dict[str, TextIO] = {}
        self._lock = threading.Lock()

    def path(self, stage: str) -> str:
        return log_path(self.state_dir, stage)

    def start(self, stage: str) -> None:
        """Empty the stage's log for a new run; a log that cannot be written is skipped, not fatal."""
        path = self.path(stage)
        try:
            try:
                fd = os.open(path, _WRITE, 0o666)
            except FileNotFoundError:  # the first log of the project
                os.makedirs(os.path.dirname(path), exist_ok=True)
                fd = os.open(path, _WRITE, 0o666)
            handle = open(fd, "w", encoding="utf-8", errors="replace", buffering=1)
        except OSError:
            return
        with self._lock:
            self._open[stage] = handle

    def write(self, stage: str, line: str) -> None:
        handle = self._open.get(stage)
        if handle is not None:
            try:
                handle.write(line + "\n")
            except (OSError, ValueError):
                pass

    def finish(self, stage: str) -> None:
        with self._lock:
            handle = self._open.pop(stage, None)
        if handle is not None:
            handle.close()

    def close(self) -> None:
        for stage in list(self._open):
            self.finish(stage)


def read(state_dir: str, stage: str) -> str | None:
    """The last run's output of a stage, or None when it has no log."""
    path = log_path(state_dir, stage)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise ProjectError(
            f"'{path}' is a symlink: pipetool reads no log through a link",
            hint="remove it; the stage's next run writes its log there",
        ) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # a folder or a pipe a clone put there
        os.close(fd)
        raise ProjectError(f"'{path}' is not a file: pipetool reads no log from it", hint="remove it")
    with open(fd, encoding="utf-8", errors="replace") as handle:
        return handle.read()
