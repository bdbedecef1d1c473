"""Cached outs listed in the `.gitignore` beside them, so their data never reaches git by accident."""

from __future__ import annotations

import os
import posixpath
import re

from ..errors import ProjectError, SpecError
from ..files.fsutil import atomic_write, read_text
from ..files.safepath import Tree, UnsafePath, has_control_characters

_SPECIAL = frozenset("\\[]*?")  # git reads these in a line as pattern characters


def _entry(out_path: str) -> tuple[str, str]:
    """(the .gitignore file, relative to the project, and its line) for an out."""
    if has_control_characters(out_path):  # a newline would make two lines; git has no escape
        raise SpecError(
            f"the out {out_path!r} holds control characters, which a .gitignore line cannot hold",
            file="pipeline.yaml",
            hint="rename the out",
        )
    folder, name = posixpath.split(out_path)
    escaped = re.sub(r"([\\\[\]*?])", r"\\\1", name) if _SPECIAL.intersection(name) else name
    if escaped.endswith(" "):
        escaped = escaped[:-1] + "\\ "
    return posixpath.join(folder, ".gitignore") if folder else ".gitignore", f"/{escaped}"


def _by_file(out_paths: list[str]) -> dict[str, list[str]]:
    files: dict[str, list[str]] = {}
    for out_path in out_paths:
        relpath, line = _entry(out_path)
        files.setdefault(relpath, []).append(line)
    return files


def _checked(root: str, relpath: str) -> str:
    """Where a .gitignore is, never read or written through a symlink leading outside (a clone
    may commit one pointing at any file of the user's)."""
    try:
        return Tree(root).target(relpath)
    except UnsafePath as exc:
        raise ProjectError(
            f"{exc}; pipetool neither reads nor writes it",
            hint="replace that .gitignore (or the folder linked on its way) with a plain one",
        ) from None


def check(root: str, out_paths: list[str]) -> None:
    """ProjectError when a .gitignore that ignore() or unignore() would edit for these outs lies
    behind a symlink: for a command to refuse before it writes anything else."""
    for relpath in _by_file(out_paths):
        _checked(root, relpath)


def ignore(root: str, out_paths: list[str]) -> None:
    """Add each out to the .gitignore beside it (once); each file read and written at most once."""
    for relpath, wanted in _by_file(out_paths).items():
        full = _checked(root, relpath)
        lines = (read_text(full) or "").splitlines()
        present = set(lines)
        missing = [line for line in dict.fromkeys(wanted) if line not in present]
        if missing:
            os.makedirs(os.path.dirname(full) or ".", exist_ok=True)
            atomic_write(full, "\n".join(lines + missing) + "\n", durable=False)


def unignore(root: str, out_paths: list[str]) -> None:
    """Remove the entries of outs that went away; an emptied .gitignore is deleted."""
    for relpath, unwanted in _by_file(out_paths).items():
        full = _checked(root, relpath)
        lines = (read_text(full) or "").splitlines()
        drop = set(unwanted)
        kept = [line for line in lines if line not in drop]
        if len(kept) == len(lines):
            continue
        if any(kept):
            atomic_write(full, "\n".join(kept) + "\n", durable=False)
        else:
            os.remove(full)
