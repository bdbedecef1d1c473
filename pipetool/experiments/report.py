"""What experiments show: a grid's lines under each experiment's name, how each one ended, and
the summary at the end. The library never prints; it calls this (the CLI calls it too)."""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from .grid import GridResult
    from .refs import Experiment


def saved_here(experiment: Experiment) -> str:
    """The line of an experiment run in the workspace (`exp run` without a grid); a grid's
    experiments run in worktrees and leave the workspace alone, so the grid says `saved` instead."""
    return (
        f"Experiment '{experiment.name}' saved (commit {experiment.sha[:7]}, {experiment.ref}); "
        "the workspace holds its results. Compare with 'pipetool exp show'."
    )


class GridReporter:
    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self._lock = threading.Lock()
        self.total = 0  # experiments in the grid, once begin() is called
        self.ended = 0

    def begin(self, total: int) -> None:
        """The grid's size: each ending line then says how far the grid is ('[3/8]')."""
        self.total, self.ended = total, 0

    def _count(self) -> str:
        self.ended += 1
        return f" [{self.ended}/{self.total}]" if self.total > 1 else ""

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

    def saved(self, name: str, sha: str, ref: str) -> None:
        """The one line of a saved experiment of a grid (its results are in its commit, not in the workspace)."""
        self._write(f"Experiment '{name}' saved (commit {sha[:7]}, {ref}){self._count()}")

    def failed(self, name: str, why: str) -> None:
        self._write(f"Experiment '{name}' failed: {why}{self._count()}")

    def warning(self, text: str) -> None:
        self._write(f"warning: {text}")

    def summary(self, result: GridResult) -> None:
        """What the grid saved and what failed (and, when all went well, what to do next)."""
        saved = result.saved
        self._write(
            f"\n{len(saved)} experiment(s) saved" + (": " + ", ".join(o.planned.name for o in saved) if saved else ".")
        )
        for outcome in result.failed:
            self._write(f"Failed: '{outcome.planned.name}' ({outcome.planned.describe()}): {outcome.why}")
        if saved and not result.failed and not result.interrupted:
            self._write(
                "Compare them with 'pipetool exp show'; keep one with 'pipetool exp apply NAME' or 'exp branch'."
            )

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
