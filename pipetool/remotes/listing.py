"""The files of a remote as `gc --cloud` sees them: pipetool's own objects, run-cache entries and
unfinished uploads, each with its kind, size and time, and their removal. Only `gc` needs this;
a push or pull only asks which of its objects the remote holds (remote.py)."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from ..system.interrupts import ordered, thread_pool
from .remote import RUNS_PREFIX, TMP_MARK, Remote

# pipetool's own names inside a two-character folder: objects (and run entries) are the other 30
# hex digits of their hash, manifests end in .dir, and an upload's temp name adds 32 hex digits.
_OWN_NAME = re.compile(r"(?P<rest>[0-9a-f]{30}(?P<dir>\.dir)?)(?P<tmp>\.tmp-[0-9a-f]{32})?")
_PREFIX = re.compile(r"[0-9a-f]{2}")


@dataclass(frozen=True)
class Stored:
    """A file on the remote in one of pipetool's own name forms."""

    path: str
    kind: str  # "object", "run" or "temp" (an upload that never finished)
    name: str  # the object's hash or the entry's run key; for a temp file, what it was to become
    size: int
    modified: float | None  # seconds since the epoch; None when the backend tells no time


def stored_files(remote: Remote, jobs: int = 8) -> list[Stored]:
    """Every object, run-cache entry and upload left behind on the remote, with sizes and times.

    Only pipetool's own name forms two levels down (`ab/…`, `runs/ab/…`) are listed: a remote may
    hold other files, and a link on a local remote is never followed.
    """
    top = _listing(remote, remote.root)
    folders = [(info["name"], False) for info in top if _is_prefix(info)]
    runs = [info["name"] for info in top if _is_folder(info) and _basename(info) == RUNS_PREFIX]
    if runs:
        folders += [(info["name"], True) for info in _listing(remote, runs[0]) if _is_prefix(info)]
    with thread_pool(jobs) as pool:
        listings = ordered(pool, lambda folder: _listing(remote, folder[0]), folders)
    found = []
    for (folder, is_runs), infos in zip(folders, listings, strict=False):
        prefix = posixpath.basename(folder.rstrip("/"))
        found += [item for info in infos if (item := _own(info, prefix, is_runs)) is not None]
    return found


def remove_files(remote: Remote, paths: list[str]) -> None:
    """Delete these files from the remote (an object store takes many in one request)."""
    if paths:
        remote.fs.rm(paths)
        remote.index.update(absent=[name for path in paths if (name := _object_name(remote, path))])


def _object_name(remote: Remote, path: str) -> str | None:
    """The hash an object's path on the remote names (None for a run entry or a temp file)."""
    parts = posixpath.relpath(path.rstrip("/"), remote.root).split("/")
    if len(parts) == 2 and _PREFIX.fullmatch(parts[0]) and TMP_MARK not in parts[1]:
        return parts[0] + parts[1]
    return None


def _listing(remote: Remote, folder: str) -> list[dict]:
    try:
        return list(remote.fs.ls(folder, detail=True))
    except FileNotFoundError:
        return []


def _basename(info: dict) -> str:
    return posixpath.basename(str(info.get("name", "")).rstrip("/"))


def _is_folder(info: dict) -> bool:
    return info.get("type") == "directory" and not info.get("islink")


def _is_prefix(info: dict) -> bool:
    return _is_folder(info) and _PREFIX.fullmatch(_basename(info)) is not None


def _own(info: dict, prefix: str, is_runs: bool) -> Stored | None:
    """The file as pipetool's, or None when its name or kind is not one pipetool makes."""
    match = _OWN_NAME.fullmatch(_basename(info))
    if match is None or info.get("type") != "file" or info.get("islink") or (is_runs and match["dir"]):
        return None
    kind = "temp" if match["tmp"] else "run" if is_runs else "object"
    return Stored(str(info["name"]), kind, prefix + match["rest"], int(info.get("size") or 0), _modified(info))


def _modified(info: dict) -> float | None:
    """A listing's modification time, whichever key and type the backend gives it."""
    from datetime import datetime

    for key in ("mtime", "LastModified", "last_modified", "updated", "modified"):
        value = info.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return None
