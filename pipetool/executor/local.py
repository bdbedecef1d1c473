"""The local executor: stage commands in shells on this machine, in up to N slots at once.

A stage takes as many slots as its `resources: {cpus: N}` asks for; one that asks for more
slots than there are takes them all and runs alone, rather than never.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
import time

from ..pipeline.project import STATE_DIR
from ..pipeline.stage import Stage
from ..system.interrupts import HELD, POLL_SECONDS
from ..system.procgroups import Record, start_watchdog
from . import OutputSink, StageRun
from .command import GRACE_SECONDS, StageCommands


class LocalExecutor:
    def __init__(self, root: str, jobs: int, output: OutputSink) -> None:
        self.root = root
        self.jobs = max(1, jobs)
        self.output = output
        self._record = Record(os.path.join(root, STATE_DIR))  # for a takeover after pipetool's death
        # C queues: a Ctrl-C in the main thread never leaves one locked. Only the main thread
        # schedules, so what runs needs no lock.
        self._done: queue.SimpleQueue[StageRun] = queue.SimpleQueue()
        self._running: dict[str, tuple[StageCommands, int]] = {}  # name -> (commands, slots)
        # Threads that wait on the commands, kept for the whole run: at most `jobs` stages run
        # at once, and starting a thread per stage costs more than a short stage's overhead.
        self._todo: queue.SimpleQueue[tuple[str, StageCommands] | None] = queue.SimpleQueue()
        self._threads = 0

    @property
    def running(self) -> int:
        return len(self._running)

    def fits(self, stage: Stage) -> bool:
        return self._used() + self._slots(stage) <= self.jobs

    @property
    def full(self) -> bool:
        return self._used() >= self.jobs

    def _used(self) -> int:
        return sum(slots for _, slots in self._running.values())

    def _slots(self, stage: Stage) -> int:
        return min(stage.resources.slots, self.jobs)

    def open(self) -> None:
        """Nothing to prepare: stages run on this machine."""

    def submit(self, stage: Stage) -> None:
        output = self.output
        commands = StageCommands(
            stage.cmd, os.path.join(self.root, stage.wdir), lambda line: output(stage.name, line), record=self._record
        )
        # Held: a Ctrl-C between registering the stage and handing it to a thread would leave
        # cancel() waiting out both grace periods for a stage that never starts.
        with HELD:
            if not self._threads:
                start_watchdog()  # before the first thread: a fork is then safe and cheap
            self._running[stage.name] = (commands, self._slots(stage))
            if self._threads < len(self._running):
                self._threads += 1
                threading.Thread(target=self._work, daemon=True, name=f"stage-{self._threads}").start()
            self._todo.put((stage.name, commands))

    def wait(self) -> StageRun:
        while True:
            runs = self._collect(timeout=POLL_SECONDS)
            if runs:
                return runs[0]

    def cancel(self) -> list[StageRun]:
        """Stop running stages: SIGTERM to each process group, SIGKILL to what is left after
        a grace period (a child that ignores SIGTERM would otherwise hold the run open)."""
        running = [commands for commands, _ in self._running.values()]
        runs: list[StageRun] = []
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for commands in running:
                commands.stop(sig)
            deadline = time.monotonic() + GRACE_SECONDS
            while self._running and time.monotonic() < deadline:
                runs += self._collect(timeout=POLL_SECONDS)
        return runs

    def close(self) -> None:
        """Let the threads go; stages still running (after an interrupt) keep theirs until they end."""
        for _ in range(self._threads):
            self._todo.put(None)
        self._threads = 0
        self._record.close()

    def _collect(self, timeout: float) -> list[StageRun]:
        """The next ended run, if one ends within the timeout. Held: a run taken from the queue
        is taken off the running ones too (else cancel() would wait for it in vain)."""
        with HELD:
            try:
                run = self._done.get(timeout=timeout)
            except queue.Empty:
                return []
            self._running.pop(run.name, None)
        return [run]

    def _work(self) -> None:
        while (job := self._todo.get()) is not None:
            name, commands = job
            ended = commands.run()
            self._done.put(
                StageRun(name, ended.returncode, ended.failed_cmd, ended.tail, ended.seconds, ended.interrupted)
            )
