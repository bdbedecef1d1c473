"""What a transfer tells about its progress: a protocol of its own, so that the reporters (and
the commands that merely name it) need not import the transfers."""

from __future__ import annotations

from typing import Protocol


class TransferProgress(Protocol):
    """Told how a push or fetch moves along (called from the transfer threads too)."""

    def transfer_expect(self, objects: int, nbytes: int) -> None:
        """More work is known: objects and bytes to add to the totals."""

    def transfer_advance(self, nbytes: int) -> None:
        """One object moved (or settled), with its bytes."""

    def transfer_end(self) -> None:
        """The transfer is over (also after an error)."""


class NoProgress:
    """A transfer nobody watches (a stage's transfers on a cluster are part of its run)."""

    def transfer_expect(self, objects: int, nbytes: int) -> None:
        pass

    def transfer_advance(self, nbytes: int) -> None:
        pass

    def transfer_end(self) -> None:
        pass
