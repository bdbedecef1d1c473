"""What the library tells the user about, as events: the library calls a reporter and never prints.

These protocols are all repro, verify, the executors and the transfers know of a reporter. The
terminal implementations (plain lines in report.py, the live view in progress.py, the transfer bar
in transfer_progress.py) are chosen by the command line (cli/reporters.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..executor import StageRun
from ..planning.staleness import Reason
from ..remotes.progress import TransferProgress
from ..storage.hashing import HashProgress


class Reporter(HashProgress, TransferProgress, Protocol):
    """Told about a repro as it goes: each stage's fate, its output, big hashing jobs, the summary."""

    def begin(self, total: int) -> None:
        """A run of up to total stages starts."""

    def end(self) -> None:
        """The run is over (also after a failure or an interrupt)."""

    def verbose(self, text: str) -> None:
        """A detail only -v shows (a stage's commands, its log file)."""

    def warning(self, text: str) -> None: ...

    def stage_output(self, name: str, line: str) -> None:
        """One line a running stage printed (called from the executor's threads)."""

    def would_run(self, name: str, reasons: Sequence[Reason], commands: Sequence[str] = ()) -> None:
        """A dry run would run the stage, with these commands (as they would run, interpolated)."""

    def running(self, name: str, reasons: Sequence[Reason]) -> None:
        """The stage starts."""

    def restored(self, name: str, reasons: Sequence[Reason]) -> None:
        """The stage's outs came from the run-cache instead of running it."""

    def up_to_date(self, name: str) -> None: ...

    def frozen(self, name: str, reasons: Sequence[Reason]) -> None:
        """A frozen stage was passed over; reasons are why it is stale (empty when it is not)."""

    def succeeded(self, name: str, run: StageRun) -> None: ...

    def failed(self, name: str, message: str, tail: Sequence[str] = (), log: str | None = None) -> None:
        """The stage failed: why, its last lines of output, and its log file."""

    def skipped(self, names: Sequence[str], because: str) -> None:
        """Stages that will not be started, for one reason."""

    def summary(
        self,
        ran: Sequence[str],
        failed: Sequence[str],
        skipped: Sequence[str],
        up_to_date: Sequence[str],
        dry: bool = False,
        restored: Sequence[str] = (),
    ) -> None: ...
