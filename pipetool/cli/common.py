"""What every command does first: find the project, load its workspace, resolve targets."""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def workspace():
    from ..project import find
    from ..workspace import open_workspace

    ws = open_workspace(find())
    try:
        yield ws
    finally:
        ws.close()


def target_indexes(ws, targets: list[str]) -> list[int] | None:
    from ..targets import resolve

    return resolve(ws.graph, targets, ws.root) if targets else None
