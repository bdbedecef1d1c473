"""What a grid of experiments shows while it runs: each experiment's lines under its name, and how
each one ended. The grid never prints; it calls this."""

from __future__ import annotations

import sys
import threading
from typing import TextIO


class GridReporter:
    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self._lock = threading.Lock()

    def _write(self, text: str) -> None:
        with self._lock:
            self.out.write(text + "\n")
            self.out.flush()

    def line(self, name: str, text: str) -> None:
        """One line of an experiment's own output (its repro), under its name."""
        self._write(f"[{name}] {text}")

    def started(self, name: str, what: str) -> None:
        self._write(f"Experiment '{name}' started: {what}")

    def shared(self, stages: list[str]) -> None:
        self._write(f"Running the stages no override touches once, before the experiments: {', '.join(stages)}")

    def saved(self, name: str, sha: str) -> None:
        self._write(f"Experiment '{name}' saved (commit {sha[:7]})")

    def failed(self, name: str, why: str) -> None:
        self._write(f"Experiment '{name}' failed: {why}")

    def writer(self, name: str) -> Prefixed:
        """A file-like object whose lines go out under name (for a ConsoleReporter)."""
        return Prefixed(self, name)


class Prefixed:
    def __init__(self, reporter: GridReporter, name: str) -> None:
        self.reporter = reporter
        self.name = name

    def write(self, text: str) -> None:
        for line in text.rstrip("\n").split("\n"):
            self.reporter.line(self.name, line)

    def flush(self) -> None:
        pass
