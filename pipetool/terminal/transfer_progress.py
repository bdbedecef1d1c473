"""Progress of a transfer: a bar of bytes and objects on a terminal, nothing elsewhere.

The terminal side of remotes.progress.TransferProgress, for push, pull and fetch (and, through the
reporters of report.py, repro --pull). rich draws it (the library the live view of repro uses),
imported only when there is a terminal to draw on.
"""

from __future__ import annotations

import sys
from typing import TextIO

from ..system.interrupts import Lock


class TransferBar:
    """Thread-safe counts of objects and bytes moved; drawn only when stream is a terminal."""

    def __init__(self, label: str, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.label = label
        self.objects = 0
        self.total_objects = 0
        self._bar = None  # (rich Progress, its task id) once there is work to show
        self._lock = Lock()  # taken by the transfer threads and the main thread

    def transfer_expect(self, objects: int, nbytes: int) -> None:
        """More work is known: objects and bytes to add to the totals."""
        with self._lock:
            self.total_objects += objects
            if not self.enabled or objects == 0:
                return
            if self._bar is None:
                self._bar = _start(self.label, self.stream)
            bar, task = self._bar
            bar.update(task, total=(bar.tasks[0].total or 0) + nbytes, objects=self._objects_text())

    def transfer_advance(self, nbytes: int) -> None:
        """One object moved (or settled), with its bytes."""
        with self._lock:
            self.objects += 1
            if self._bar is not None:
                bar, task = self._bar
                bar.update(task, advance=nbytes, objects=self._objects_text())

    def _objects_text(self) -> str:
        return f"{self.objects}/{self.total_objects} objects"

    def transfer_end(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar[0].stop()
                self._bar = None


def _start(label: str, stream: TextIO):
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, TextColumn, TransferSpeedColumn
    from rich.progress import Progress as Bar

    bar = Bar(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[objects]}"),
        console=Console(file=stream, force_terminal=True),
        transient=True,
    )
    task = bar.add_task(label, total=0, objects="")
    bar.start()
    return bar, task
