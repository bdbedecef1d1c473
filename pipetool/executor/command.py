"""One stage's commands, run in order: each in its own shell and process group, in the stage's wdir.

Both executors run stages through it: the local one in a thread per stage, the Dask one inside
a task on a worker. It uses the standard library only, as does procgroups, which ends a stage's
process group when the process that started it dies.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ..system.procgroups import Record, tracked

TAIL_LINES = 20
GRACE_SECONDS = 3.0  # between SIGTERM and SIGKILL when a run is stopped


@dataclass
class Ended:
    """How the commands ended: the first failing one, the last lines of output, the time taken."""

    returncode: int = 0
    failed_cmd: str | None = None
    tail: list[str] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False


class StageCommands:
    """The commands of one stage; stop() may be called from another thread at any time."""

    def __init__(
        self,
        cmds: Sequence[str],
        cwd: str,
        on_line: Callable[[str], None],
        env: Mapping[str, str] | None = None,
        record: Record | None = None,
    ) -> None:
        self.cmds = list(cmds)
        self.cwd = cwd
        self.on_line = on_line
        self.env = dict(env) if env is not None else None
        self.record = record  # where the next lock holder finds the groups if this process dies
        self._proc: subprocess.Popen | None = None
        self._stopped = False
        self._lock = threading.Lock()

    def run(self) -> Ended:
        started = time.monotonic()
        ended = Ended()
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        try:
            for cmd in self.cmds:
                if self._stopped:
                    ended.interrupted = True
                    break
                code = self._run_one(cmd, tail)
                if code != 0 or self._stopped:
                    ended.returncode, ended.failed_cmd, ended.interrupted = code, cmd, self._stopped
                    break
        except OSError as exc:  # the shell itself could not start, or wdir is missing
            ended.returncode, ended.failed_cmd = 126, self.cmds[0]
            tail.append(f"could not start: {exc.strerror or exc}")
        ended.tail = list(tail)
        ended.seconds = time.monotonic() - started
        return ended

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Signal the running command's whole process group; start no further command."""
        with self._lock:
            self._stopped = True
            proc = self._proc
        if proc is not None:
            signal_group(proc, sig)

    @property
    def busy(self) -> bool:
        """Whether a command of the stage is running now."""
        with self._lock:
            return self._proc is not None and self._proc.poll() is None

    def _run_one(self, cmd: str, tail: deque[str]) -> int:
        # Its own session and process group, so that stopping it stops all of it, and so that the
        # group can be ended as one when pipetool dies: the watchdog and record of procgroups do
        # that. A parent-death signal (prctl PR_SET_PDEATHSIG) would reach only the shell, not the
        # commands it starts, would leave the group without the leader that proves whose it is,
        # and needs preexec_fn, which is unsafe with the threads stages run from.
        proc = subprocess.Popen(
            cmd,
            shell=True,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        with self._lock:
            self._proc = proc
            stopped = self._stopped
        if stopped:  # stop() ran between our check and the start
            signal_group(proc, signal.SIGTERM)
        assert proc.stdout is not None
        with tracked(proc.pid, self.record):
            for raw in proc.stdout:
                line = raw.decode("utf-8", errors="replace").rstrip("\n")
                tail.append(line)
                self.on_line(line)
            return proc.wait()


def signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
