"""The one check a path from data passes before pipetool writes, removes, links or chmods there.

Paths come from places a user does not control: a cloned repository's lock and symlinks, a
directory manifest or a run-cache entry fetched from a remote. A path is safe when it is
relative, clean (no `..`, `.`, empty parts or control characters) and no symlink on its way
leads outside the project.
"""

from __future__ import annotations

import os
import re

# Control characters (newline and tab among them): no line of .gitignore or the lock can hold one.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# A URL (s3://, https://, file://...): a dep outside the project, never a path pipetool writes.
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# git's folder (its hooks run code) and pipetool's own state: never written from data, in any case.
PRIVATE_FOLDERS = frozenset({".git", ".pipetool"})


def is_url(path: object) -> bool:
    """Whether a dep is a URL such as s3://bucket/key: read by its backend, never a project path."""
    return isinstance(path, str) and _URL.match(path) is not None


def has_control_characters(text: str) -> bool:
    """Whether a path or name holds a character that no line of .gitignore or the lock can."""
    return _CONTROL.search(text) is not None


class UnsafePath(ValueError):
    """A path that would reach outside its folder, or that no file name should have."""


def clean(path: object) -> str:
    """path itself when it is a clean relative '/'-path without control characters (a path a
    lock or pipeline.yaml may name); UnsafePath otherwise."""
    if isinstance(path, str) and has_control_characters(path):
        raise UnsafePath(f"{path!r} holds a control character")
    return relative(path)


def relative(path: object) -> str:
    """path itself when it is a relative '/'-path that stays below its folder: not absolute, no
    '..', '.' or empty parts (any other name a file system allows is fine); UnsafePath otherwise."""
    if not isinstance(path, str) or not path or "\0" in path:
        raise UnsafePath(f"{path!r} is not a path")
    if path.startswith("/"):
        raise UnsafePath(f"'{path}' is absolute")
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise UnsafePath(f"'{path}' is not a clean relative path (no '..', '.' or empty parts)")
    return path


def project_relative(root: str, path: str, cwd: str) -> str:
    """A path the user typed (relative to cwd, or absolute) as a clean project-relative path;
    UnsafePath when it is the project's root or lies outside it. The folders on the way are
    resolved, so a cwd reached through a link still counts as inside."""
    full = os.path.normpath(os.path.join(cwd, path))
    folder, name = os.path.split(full)
    rel = os.path.relpath(os.path.join(os.path.realpath(folder), name), os.path.realpath(root))
    return clean(rel.replace(os.sep, "/"))


class Tree:
    """A project folder that hands out full paths to write at, each checked once.

    The real path of each folder on the way is looked up once per command: a checkout of
    20,000 files in a few folders resolves a few folders.
    """

    def __init__(self, root: str) -> None:
        self.root = root
        self.real = os.path.realpath(root)
        self._folders: dict[str, str] = {}

    def target(self, relpath: str) -> str:
        """root/relpath, to be written or removed; UnsafePath when relpath is not clean, names a
        .git or .pipetool folder, or a symlink (a folder on the way, or the path itself) leads
        outside the project or into its .git or .pipetool folder."""
        full = os.path.join(self.root, clean(relpath))
        private = next((part for part in relpath.split("/") if part.casefold() in PRIVATE_FOLDERS), None)
        if private is not None:  # any case: .GIT is .git on a case-insensitive file system
            raise UnsafePath(f"'{relpath}' lies in a {private} folder, which pipetool never writes from data")
        folder, _ = os.path.split(full)
        real_folder = self._folders.get(folder)
        if real_folder is None:
            real_folder = self._folders[folder] = os.path.realpath(folder)
        if not self._inside(real_folder):
            raise UnsafePath(f"'{relpath}' leads outside the project through a symlink (to {real_folder})")
        if self._private(real_folder):
            raise UnsafePath(f"'{relpath}' leads into the project's .git or .pipetool folder through a symlink")
        if os.path.islink(full):
            real = os.path.realpath(full)
            if not self._inside(real):
                raise UnsafePath(f"'{relpath}' is a symlink leading outside the project (to {real})")
            if self._private(real):
                raise UnsafePath(f"'{relpath}' is a symlink leading into the project's .git or .pipetool folder")
        return full

    def _inside(self, real: str) -> bool:
        return real == self.real or real.startswith(self.real + os.sep)

    def _private(self, real: str) -> bool:
        """Whether a real path is the project's .git or .pipetool folder, or lies in one."""
        below = real[len(self.real) + 1 :] if real.startswith(self.real + os.sep) else ""
        return below.split(os.sep, 1)[0].casefold() in PRIVATE_FOLDERS
