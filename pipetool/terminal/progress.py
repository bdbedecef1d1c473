"""The live view of a repro on a terminal: the same lines as plain mode scroll above a status
area that shows the stages running now with their elapsed time, done / total, and a bar for
big hashing jobs. Imported only when stdout is a terminal (rich is not loaded otherwise).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from ..executor import StageRun
from ..planning.staleness import Reason
from ..planning.timings import seconds_text
from ..system.interrupts import HELD, Lock
from .report import NORMAL, ConsoleReporter, human_bytes


class LiveReporter(ConsoleReporter):
    def __init__(self, prefix_output: bool = False, verbosity: int = NORMAL, force_terminal: bool = False) -> None:
        super().__init__(prefix_output=prefix_output, verbosity=verbosity)
        self.console = Console(force_terminal=True if force_terminal else None, highlight=False)
        self._live: Live | None = None
        self._state = Lock()  # shared with the thread that redraws
        self._running: dict[str, tuple[float, Spinner]] = {}
        self._total = 0
        self._settled: set[str] = set()  # the stages done, failed or passed over: each counted once
        self._started = time.monotonic()
        self._hashing: list = []  # [label, total bytes, bytes done, files] while a big job runs

    # -- the frame ---------------------------------------------------------------------------
    def begin(self, total: int) -> None:
        self._total, self._settled, self._started = total, set(), time.monotonic()
        self._live = Live(console=self.console, get_renderable=self._render, refresh_per_second=8, transient=True)
        with HELD:  # rich's locks are shared with the thread that redraws
            self._live.start()

    def end(self) -> None:
        if self._live is not None:
            with HELD:
                self._live.stop()
            self._live = None

    def _write(self, text: str) -> None:
        # Above the status area; Text so that brackets in stage output are not read as markup.
        with HELD:
            self.console.print(Text(text), soft_wrap=True)

    def _render(self) -> Group:
        now = time.monotonic()
        with self._state:
            running = [(name, now - since, spinner) for name, (since, spinner) in self._running.items()]
            done, total, hashing = len(self._settled), self._total, list(self._hashing)
        grid = Table.grid(padding=(0, 1))
        for name, elapsed, spinner in running:
            grid.add_row(spinner, Text(name, style="bold"), Text(seconds_text(elapsed), style="cyan"))
        overall = Table.grid(padding=(0, 1))
        overall.add_row(
            ProgressBar(total=max(total, 1), completed=done, width=30),
            Text(f"{done}/{total} stages"),
            Text(seconds_text(now - self._started), style="dim"),
        )
        parts = [grid, overall] if running else [overall]
        if hashing:
            label, size, hashed, files = hashing
            bar = Table.grid(padding=(0, 1))
            bar.add_row(
                Text(f"Hashing {label}"),
                ProgressBar(total=max(size, 1), completed=hashed, width=30),
                Text(f"{human_bytes(hashed)} / {human_bytes(size)} ({files:,} files)"),
            )
            parts.append(bar)
        return Group(*parts)

    # -- stage events ------------------------------------------------------------------------
    def _settle(self, *names: str) -> None:
        """Count each stage once: one reported done may yet fail to store its outs."""
        with self._state:
            for name in names:
                self._running.pop(name, None)
            self._settled.update(names)

    def running(self, name: str, reasons: Sequence[Reason]) -> None:
        with self._state:
            self._running[name] = (time.monotonic(), Spinner("dots", style="green"))
        super().running(name, reasons)

    def succeeded(self, name: str, run: StageRun) -> None:
        self._settle(name)
        super().succeeded(name, run)

    def failed(self, name: str, message: str, tail: Sequence[str] = (), log: str | None = None) -> None:
        self._settle(name)
        super().failed(name, message, tail, log)

    def restored(self, name: str, reasons: Sequence[Reason]) -> None:
        self._settle(name)
        super().restored(name, reasons)

    def up_to_date(self, name: str) -> None:
        self._settle(name)
        super().up_to_date(name)

    def frozen(self, name: str, reasons: Sequence[Reason]) -> None:
        self._settle(name)
        super().frozen(name, reasons)

    def skipped(self, names: Sequence[str], because: str) -> None:
        self._settle(*names)
        super().skipped(names, because)

    # -- hashing -----------------------------------------------------------------------------
    def hash_start(self, label: str, total_bytes: int, files: int) -> None:
        with self._state:
            self._hashing = [label, total_bytes, 0, files]

    def hash_advance(self, nbytes: int) -> None:
        with self._state:
            if self._hashing:
                self._hashing[2] += nbytes

    def hash_end(self) -> None:
        with self._state:
            self._hashing = []
