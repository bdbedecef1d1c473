"""Terminal output of repro and verify in plain lines (what CI logs and pipes get): a Reporter
(reporter.py) the command line hands to the library, which never prints.

The live view for terminals (progress.py) builds on this one; cli/reporters.py chooses between them.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import TextIO

from ..executor import StageRun
from ..planning.staleness import Reason
from .transfer_progress import TransferBar

QUIET, NORMAL, VERBOSE = 0, 1, 2


class ConsoleReporter:
    """Human-readable lines; stage output prefixed by the stage's name when stages run in parallel.

    Quiet keeps only failures and warnings (stage output still goes to its log); verbose adds
    each stage's commands and its log file. A transfer (repro --pull's fetch) shows as the bar of
    push and pull, on stderr when it is a terminal.
    """

    def __init__(
        self,
        out: TextIO | None = None,
        prefix_output: bool = False,
        verbosity: int = NORMAL,
        transfer_label: str = "fetch",
    ) -> None:
        self.out = out or sys.stdout
        self.prefix_output = prefix_output
        self.verbosity = verbosity
        self._lock = threading.Lock()
        self._transfer = TransferBar(transfer_label)

    def _write(self, text: str) -> None:
        with self._lock:
            self.out.write(text + "\n")
            self.out.flush()

    def _say(self, text: str) -> None:
        """A line that -q leaves out."""
        if self.verbosity > QUIET:
            self._write(text)

    def begin(self, total: int) -> None:
        """A run of up to total stages starts."""

    def end(self) -> None:
        """The run is over (also after a failure or an interrupt)."""

    def verbose(self, text: str) -> None:
        if self.verbosity >= VERBOSE:
            self._write(text)

    def stage_output(self, name: str, line: str) -> None:
        self._say(f"[{name}] {line}" if self.prefix_output else line)

    def running(self, name: str, reasons: Sequence[Reason]) -> None:
        self._say(f"Running stage '{name}': {_because(reasons)}")

    def would_run(self, name: str, reasons: Sequence[Reason], commands: Sequence[str] = ()) -> None:
        """The stage's line, then each command indented under it as `-v` shows a running one
        (a command of several lines: its further lines indented under its first)."""
        self._write(f"Would run stage '{name}': {_because(reasons)}")
        for command in commands:
            first, *rest = command.splitlines() or [""]
            self._write(f"  $ {first}")
            for line in rest:
                self._write(f"    {line}")

    def restored(self, name: str, reasons: Sequence[Reason]) -> None:
        self._say(f"Stage '{name}' restored from run-cache ({_because(reasons)})")

    def up_to_date(self, name: str) -> None:
        self._say(f"Stage '{name}' is up to date")

    def frozen(self, name: str, reasons: Sequence[Reason]) -> None:
        """A frozen stage was passed over; it is mentioned only when it is stale."""
        if reasons:
            self._say(f"Stage '{name}' is frozen, not run (it is stale: {_because(reasons)})")

    def succeeded(self, name: str, run: StageRun) -> None:
        where = f" on worker {run.worker}" if run.worker else ""
        self._say(f"Stage '{name}' done in {run.seconds:.2f}s{where}")

    def failed(self, name: str, message: str, tail: Sequence[str] = (), log: str | None = None) -> None:
        lines = [f"Stage '{name}' failed: {message}"]
        if tail:
            lines.append(f"  last {len(tail)} lines of its output:")
            lines += [f"  | {line}" for line in tail]
        if log:
            lines.append(f"  all of its output: {log} (or 'pipetool logs {name}')")
        self._write("\n".join(lines))

    def skipped(self, names: Sequence[str], because: str) -> None:
        if names:
            self._write(f"Skipped {_names(names)}: {because}")

    def warning(self, text: str) -> None:
        self._write(f"warning: {text}")

    def hash_start(self, label: str, total_bytes: int, files: int) -> None:
        """Hashing something big starts (see hashing.PROGRESS_BYTES); plain mode says so once."""
        self._say(f"Hashing {label}: {human_bytes(total_bytes)} in {files:,} file(s)")

    def hash_advance(self, nbytes: int) -> None:
        """nbytes more were hashed (called from hashing threads)."""

    def hash_end(self) -> None:
        """The big hashing job is over."""

    def transfer_expect(self, objects: int, nbytes: int) -> None:
        self._transfer.transfer_expect(objects, nbytes)

    def transfer_advance(self, nbytes: int) -> None:
        self._transfer.transfer_advance(nbytes)

    def transfer_end(self) -> None:
        self._transfer.transfer_end()

    def summary(
        self,
        ran: Sequence[str],
        failed: Sequence[str],
        skipped: Sequence[str],
        up_to_date: Sequence[str],
        dry: bool = False,
        restored: Sequence[str] = (),
    ) -> None:
        if dry:
            self._write(f"{len(ran)} stage(s) would run, {len(up_to_date)} up to date")
            return
        if self.verbosity == QUIET:
            return
        if not ran and not failed and not skipped and not restored:
            self._write("Data and pipelines are up to date.")
            return
        parts = [f"{len(ran)} ran", f"{len(failed)} failed", f"{len(skipped)} skipped", f"{len(up_to_date)} up to date"]
        if restored:
            parts.insert(1, f"{len(restored)} restored from run-cache")
        self._write("Summary: " + ", ".join(parts))


def human_bytes(size: float) -> str:
    """1.2 GB: decimal units, as file managers show sizes."""
    if size < 1000:
        return f"{size:.0f} B"
    for unit in ("KB", "MB", "GB"):
        size /= 1000
        if round(size, 1) < 1000:
            return f"{size:.1f} {unit}"
    return f"{size / 1000:.1f} TB"


def _because(reasons: Sequence[Reason]) -> str:
    """Reasons in one line; those of one kind share their label: 'changed outs: deleted a, deleted b'."""
    parts: list[str] = []
    label = None
    for text in (str(r) for r in reasons):
        head, _, rest = text.partition(": ")
        if rest and head == label:
            parts[-1] += f", {rest}"
        else:
            parts.append(text)
            label = head if rest else None
    return "; ".join(parts)


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:10])
    more = f" and {len(names) - 10} more" if len(names) > 10 else ""
    return shown + more
