"""Where project files are read from: the working tree, or (see git.py) a git revision.

Spec and params loading read through a source, so the same code serves both.
"""

from __future__ import annotations

import os
from typing import Protocol

from ..errors import SpecError


class Source(Protocol):
    root: str  # the project folder in the working tree (for making absolute paths relative)

    def read_text(self, relpath: str) -> str | None:
        """A project file's text, or None when it does not exist."""

    def exists(self, relpath: str) -> bool:
        """Whether the project has this file."""


class FileSource:
    """Project files as they are in the working tree."""

    def __init__(self, root: str) -> None:
        self.root = root

    def read_text(self, relpath: str) -> str | None:
        try:
            with open(os.path.join(self.root, relpath), encoding="utf-8") as handle:
                return handle.read()
        except FileNotFoundError:
            return None
        except UnicodeDecodeError:
            raise SpecError("not a UTF-8 text file", file=relpath) from None
        except OSError as exc:
            raise SpecError(f"cannot read: {exc.strerror}", file=relpath) from None

    def exists(self, relpath: str) -> bool:
        return os.path.exists(os.path.join(self.root, relpath))


def as_source(root_or_source: str | Source) -> Source:
    return FileSource(root_or_source) if isinstance(root_or_source, str) else root_or_source
