"""The local executor: stage commands in shells on this machine, up to N at once."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from collections import deque

from ..stage import Stage
from . import OutputSink, StageRun

TAIL_LINES = 20
GRACE_SECONDS = 3.0


class LocalExecutor:
    def __init__(self, root: str, jobs: int, output: OutputSink) -> None:
        self.root = root
        self.jobs = max(1, jobs)
        self.output = output
        self._done: queue.Queue[StageRun] = queue.Queue()
        self._running: dict[str, subprocess.Popen | None] = {}
        self._lock = threading.Lock()
        self._cancelled = False

    @property
    def idle_slots(self) -> int:
        return self.jobs - len(self._running)

    def submit(self, stage: Stage) -> None:
        with self._lock:
            self._running[stage.name] = None
        threading.Thread(target=self._run, args=(stage,), daemon=True, name=stage.name).start()

    def wait(self) -> StageRun:
        while True:
            runs = self._collect(timeout=0.2)
            if runs:
                return runs[0]

    def cancel(self) -> list[StageRun]:
        """Stop running stages: SIGTERM to each process group, SIGKILL to what is left after
        a grace period (a child that ignores SIGTERM would otherwise hold the run open)."""
        self._cancelled = True
        with self._lock:
            procs = [p for p in self._running.values() if p is not None]
        for proc in procs:
            _signal_group(proc, signal.SIGTERM)
        runs: list[StageRun] = []
        deadline = time.monotonic() + GRACE_SECONDS
        while self._running and time.monotonic() < deadline:
            runs += self._collect(timeout=0.1)
        for proc in procs:
            _signal_group(proc, signal.SIGKILL)
        deadline = time.monotonic() + GRACE_SECONDS
        while self._running and time.monotonic() < deadline:
            runs += self._collect(timeout=0.1)
        return runs

    def _collect(self, timeout: float) -> list[StageRun]:
        try:
            run = self._done.get(timeout=timeout)
        except queue.Empty:
            return []
        with self._lock:
            self._running.pop(run.name, None)
        return [run]

    def _run(self, stage: Stage) -> None:
        started = time.monotonic()
        run = StageRun(stage.name)
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        try:
            for cmd in stage.cmd:
                if self._cancelled:
                    run.interrupted = True
                    break
                code = self._run_cmd(stage, cmd, tail)
                if code != 0 or self._cancelled:
                    run.returncode, run.failed_cmd, run.interrupted = code, cmd, self._cancelled
                    break
        except OSError as exc:  # the shell itself could not start, or wdir is missing
            run.returncode, run.failed_cmd = 126, stage.cmd[0]
            tail.append(f"could not start: {exc.strerror or exc}")
        run.tail = list(tail)
        run.seconds = time.monotonic() - started
        self._done.put(run)

    def _run_cmd(self, stage: Stage, cmd: str, tail: deque[str]) -> int:
        proc = subprocess.Popen(
            cmd,
            shell=True,
            cwd=os.path.join(self.root, stage.wdir),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so an interrupt stops all of it
        )
        with self._lock:
            self._running[stage.name] = proc
        if self._cancelled:  # cancel() ran between our check and the start
            _signal_group(proc, signal.SIGTERM)
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            tail.append(line)
            self.output(stage.name, line)
        return proc.wait()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
