"""Progress of a transfer: a tqdm bar of bytes and objects on a terminal, nothing elsewhere."""

from __future__ import annotations

import os
import sys
import threading
from typing import TextIO


class Progress:
    """Thread-safe counts of objects and bytes moved; drawn only when stream is a terminal."""

    def __init__(self, label: str, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.label = label
        self.objects = 0
        self.total_objects = 0
        self._bar = None
        self._lock = threading.Lock()

    def expect(self, objects: int, nbytes: int) -> None:
        """More work is known: objects and bytes to add to the totals."""
        with self._lock:
            self.total_objects += objects
            if not self.enabled or objects == 0:
                return
            if self._bar is None:
                from tqdm import tqdm

                self._bar = tqdm(total=0, desc=self.label, unit="B", unit_scale=True, unit_divisor=1024,
                                 file=self.stream, leave=False, **_size(self.stream))
            self._bar.total += nbytes
            self._show()

    def advance(self, nbytes: int) -> None:
        """One object moved (or settled), with its bytes."""
        with self._lock:
            self.objects += 1
            if self._bar is not None:
                self._bar.update(nbytes)
                self._show()

    def _show(self) -> None:
        self._bar.set_postfix_str(f"{self.objects}/{self.total_objects} objects", refresh=True)

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None


def _size(stream: TextIO) -> dict[str, int]:
    """The terminal's columns and rows; a terminal that reports none (0 x 0) gets 80 x 24, since
    tqdm would hide a bar on a terminal it thinks has no rows."""
    try:
        size = os.get_terminal_size(stream.fileno())
        return {"ncols": size.columns or 80, "nrows": size.lines or 24}
    except (OSError, ValueError, AttributeError):
        return {"ncols": 80, "nrows": 24}
