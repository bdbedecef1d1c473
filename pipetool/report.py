"""All terminal output of repro and status: the engine calls a reporter, never print."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import TextIO

from .executor import StageRun
from .staleness import Reason


class ConsoleReporter:
    """Human-readable lines; stage output prefixed by the stage's name when stages run in parallel."""

    def __init__(self, out: TextIO | None = None, prefix_output: bool = False) -> None:
        self.out = out or sys.stdout
        self.prefix_output = prefix_output
        self._lock = threading.Lock()

    def _write(self, text: str) -> None:
        with self._lock:
            self.out.write(text + "\n")
            self.out.flush()

    def stage_output(self, name: str, line: str) -> None:
        self._write(f"[{name}] {line}" if self.prefix_output else line)

    def running(self, name: str, reasons: Sequence[Reason]) -> None:
        self._write(f"Running stage '{name}': {_because(reasons)}")

    def would_run(self, name: str, reasons: Sequence[Reason]) -> None:
        self._write(f"Would run stage '{name}': {_because(reasons)}")

    def restored(self, name: str, reasons: Sequence[Reason]) -> None:
        self._write(f"Stage '{name}' restored from run-cache ({_because(reasons)})")

    def up_to_date(self, name: str) -> None:
        self._write(f"Stage '{name}' is up to date")

    def frozen(self, name: str, reasons: Sequence[Reason]) -> None:
        self._write(f"Stage '{name}' is frozen, not run (it is stale: {_because(reasons)})")

    def succeeded(self, name: str, run: StageRun) -> None:
        where = f" on worker {run.worker}" if run.worker else ""
        self._write(f"Stage '{name}' done in {run.seconds:.2f}s{where}")

    def failed(self, name: str, message: str, tail: Sequence[str] = ()) -> None:
        lines = [f"Stage '{name}' failed: {message}"]
        if tail:
            lines.append(f"  last {len(tail)} lines of its output:")
            lines += [f"  | {line}" for line in tail]
        self._write("\n".join(lines))

    def skipped(self, names: Sequence[str], because: str) -> None:
        if names:
            self._write(f"Skipped {_names(names)}: {because}")

    def warning(self, text: str) -> None:
        self._write(f"warning: {text}")

    def summary(self, ran: Sequence[str], failed: Sequence[str], skipped: Sequence[str],
                up_to_date: Sequence[str], dry: bool = False, restored: Sequence[str] = ()) -> None:
        if dry:
            self._write(f"{len(ran)} stage(s) would run, {len(up_to_date)} up to date")
            return
        if not ran and not failed and not skipped and not restored:
            self._write("Data and pipelines are up to date.")
            return
        parts = [f"{len(ran)} ran", f"{len(failed)} failed", f"{len(skipped)} skipped",
                 f"{len(up_to_date)} up to date"]
        if restored:
            parts.insert(1, f"{len(restored)} restored from run-cache")
        self._write("Summary: " + ", ".join(parts))


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


def failure_message(run: StageRun) -> str:
    """Whose fault, in one line: the stage's exit code, with 127 spelled out."""
    if run.problem:
        return run.problem
    cmd = f"'{run.failed_cmd}'" if run.failed_cmd else "its cmd"
    if run.returncode == 127:
        return f"command not found (exit code 127) running {cmd}"
    if run.returncode < 0:
        return f"{cmd} was killed by signal {-run.returncode}"
    return f"{cmd} exited with code {run.returncode}"
