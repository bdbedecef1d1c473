"""Reading one tracked file of any revision without checking anything out: where its bytes are
(the workspace, git, or a cache object named by the revision's locks, a folder's file through its
manifest), and a binary stream of them from the cache or a remote, checked against their hash.

The cache and remotes are untrusted: an object is hashed through the very file handle that is
then handed out, and a manifest is checked for its form and hash before any path in it is used.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

import xxhash

from ..errors import PipetoolError, RemoteError
from ..files.safepath import UnsafePath, project_relative
from ..pipeline.pipelines import files_of
from ..pipeline.project import Project, ProjectFiles
from ..storage.cache import MAX_MANIFEST_BYTES, Cache, CorruptObject, checked_manifest
from ..storage.hashing import CHUNK, DIR_SUFFIX
from ..storage.lock import read_all
from .datadiff import read_manifest, tracked
from .git import WORKSPACE, Revisions


class PathMissingError(PipetoolError, FileNotFoundError):
    """A path the revision neither tracks as data nor holds in git (nor the workspace has).

    A FileNotFoundError too, so `except FileNotFoundError` catches it as it would for open()."""


@dataclass(frozen=True)
class Located:
    """Where one file's bytes of one revision are: exactly one of the three is set."""

    path: str  # project-relative
    label: str  # the revision, or 'workspace'
    workspace: str | None = None  # a full path in the working tree
    git: bytes | None = None  # the file as git keeps it at the revision
    digest: str | None = None  # a cache object, named by the revision's locks
    folder_digest: str | None = None  # the folder's manifest the object was found through


def project_path(root: str, path: str) -> str:
    """A path as the API takes it (relative to the project's root, or absolute inside it),
    made a clean project-relative one; PathMissingError for one outside the project."""
    try:
        return project_relative(root, path, root)
    except UnsafePath:
        raise PathMissingError(f"'{path}' is not a file of the project at {root}") from None


def locate(project: Project, path: str, rev: str | None, remote_manifest=None) -> Located:
    """Where path's bytes are at rev (None: the workspace, where a file on disk wins). A tracked
    out (or a file inside a tracked folder) comes before git's copy, as DVC reads it.
    remote_manifest(digest) supplies a folder's manifest the cache lacks (or None)."""
    relpath = project_path(project.root, path)
    revisions = Revisions(project.root)
    label, source = revisions.source(rev)
    if label == WORKSPACE:
        full = os.path.join(project.root, relpath)
        if os.path.isfile(full):
            ProjectFiles(project.root).check(relpath)  # nothing outside the project through a link
            return Located(relpath, label, workspace=full)
    label, source, stages = revisions.load(rev)
    outs = tracked(stages, read_all(source, files_of(source)))
    found = _in_outs(relpath, outs, revisions.cache, remote_manifest)
    if found is not None:
        digest, folder = found
        return Located(relpath, label, digest=digest, folder_digest=folder)
    if label != WORKSPACE:
        data = source.read_bytes(relpath)
        if data is not None:
            return Located(relpath, label, git=data)
    raise PathMissingError(
        f"'{relpath}' is neither tracked data nor a file in git at {label}",
        hint="name a cached out, a file inside a tracked folder, or a file git keeps",
    )


def _in_outs(relpath: str, outs: dict, cache: Cache, remote_manifest) -> tuple[str, str | None] | None:
    """(object, the folder's manifest it came through) of a tracked path, or None."""
    entry = outs.get(relpath)
    if entry is not None:
        if entry.is_dir:
            raise PathMissingError(f"'{relpath}' is a tracked folder, not a file", hint="open a file inside it")
        return entry.hash, None
    for out, entry in outs.items():
        if not (entry.is_dir and relpath.startswith(out + "/")):
            continue
        files = read_manifest(cache, entry.hash)
        if files is None and remote_manifest is not None:
            files = remote_manifest(entry.hash)
        if files is None:
            raise PipetoolError(
                f"'{relpath}' lies in the tracked folder {out}/, whose manifest {entry.hash} neither the "
                "cache nor a remote has",
                hint="run 'pipetool fetch' for that revision, or pass remote=",
            )
        inside = relpath[len(out) + 1 :]
        for name, digest, _ in files:
            if name == inside:
                return digest, entry.hash
        raise PathMissingError(f"'{relpath}' is not in the tracked folder {out}/ at that revision")
    return None


def remote_manifest(remote, digest: str) -> list[tuple[str, str, int]] | None:
    """A folder's manifest read from a remote, checked for its form and hash; None when the
    remote does not have it. RemoteError when it is damaged."""
    try:
        data = remote.read_bytes(remote.object_path(digest), MAX_MANIFEST_BYTES)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise RemoteError(f"cannot read {digest} from remote '{remote.name}': {exc}") from None
    entries = checked_manifest(data, digest)
    if entries is None:
        raise RemoteError(f"the manifest {digest} on remote '{remote.name}' is corrupt: refused")
    return entries


def open_object(cache: Cache, digest: str, remote: Callable[[], Any] | None = None) -> BinaryIO:
    """A binary stream of a file object, from the cache (a damaged object is removed and skipped)
    or else from the remote that remote() opens (None: there is none); its bytes are checked
    against the hash before it is returned."""
    if digest.endswith(DIR_SUFFIX):
        raise PipetoolError(f"{digest} is a folder's manifest, not a file")
    handle = None
    try:
        path = cache.path(digest)
        if stat.S_ISREG(os.lstat(path).st_mode):  # a link committed into the cache is not followed
            handle = open(path, "rb")  # noqa: SIM115 - handed to the caller
    except (FileNotFoundError, NotADirectoryError, CorruptObject):
        pass
    if handle is not None:
        if _hashes_to(handle, digest):
            return handle
        handle.close()
        cache.discard(digest)
    opened = remote() if remote is not None else None
    if opened is None:
        raise PipetoolError(
            f"the cache has no (undamaged) object {digest}, and no remote is set",
            hint="pass remote=, set a default remote ('pipetool remote add -d'), or run 'pipetool fetch'",
        )
    return _from_remote(opened, digest)


def _from_remote(remote, digest: str) -> BinaryIO:
    """The object downloaded into a temporary file (unlinked at once: it goes when closed)."""
    fd, tmp = tempfile.mkstemp(prefix="pipetool-object-")
    os.close(fd)
    try:
        try:
            remote.download(remote.object_path(digest), tmp)
        except FileNotFoundError:
            raise PipetoolError(f"neither the cache nor remote '{remote.name}' has the object {digest}") from None
        except OSError as exc:
            raise RemoteError(f"cannot read {digest} from remote '{remote.name}': {exc}") from None
        handle = open(tmp, "rb")  # noqa: SIM115 - handed to the caller
    finally:
        os.remove(tmp)
    if not _hashes_to(handle, digest):
        handle.close()
        raise RemoteError(f"the object {digest} on remote '{remote.name}' is corrupt (its bytes do not match its hash)")
    return handle


def _hashes_to(handle: BinaryIO, digest: str) -> bool:
    """Whether the open file's bytes hash to digest; it is rewound for reading."""
    hasher = xxhash.xxh3_128()
    while chunk := handle.read(CHUNK):
        hasher.update(chunk)
    handle.seek(0)
    return hasher.hexdigest() == digest
