"""Executors run stage commands and report back; they decide nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..stage import Stage

OutputSink = Callable[[str, str], None]  # (stage name, one line of output)


@dataclass
class StageRun:
    """How one stage's commands ended."""

    name: str
    returncode: int = 0
    failed_cmd: str | None = None
    tail: list[str] = field(default_factory=list)  # last lines of output, for failures
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.interrupted


class Executor(Protocol):
    def submit(self, stage: Stage) -> None:
        """Start the stage's commands."""

    def wait(self) -> StageRun:
        """Block until a submitted stage ends."""

    def cancel(self) -> list[StageRun]:
        """Stop every running stage (its whole process group); their runs, once ended."""

    @property
    def idle_slots(self) -> int:
        """How many more stages may start now."""
