"""URL deps and `get-url`: a URL opened with the settings of the remote it lies under, and
downloaded whole or not at all.

A URL under a configured remote's URL (`s3://bucket/raw/x.csv` under a remote `s3://bucket`)
is opened with that remote's settings and credentials (endpoint, region, keys in
config.local), the longest such URL winning; any other URL with fsspec's defaults (the
environment's credentials).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import PipetoolError, RemoteError
from ..files.safepath import UnsafePath, clean
from ..storage.cache import RESTORING, remove_path
from ..storage.external import TIMEOUT, bounded, describe, missing_package, open_url
from .progress import TransferProgress
from .remote import BACKENDS, _arguments, _check_no_leak, remotes, scheme


def url_options(state_dir: str | None, url: str) -> dict:
    """The fsspec options of the remote whose URL is the longest prefix of url ({} when none)."""
    if state_dir is None or not os.path.isdir(state_dir):
        return {}
    best = None
    for remote in remotes(state_dir).values():
        base = remote.url.rstrip("/")
        if "://" not in base or not (url == base or url.startswith(base + "/")):
            continue
        if best is None or len(base) > len(best.url.rstrip("/")):
            best = remote
    if best is None:
        return {}
    _check_no_leak(state_dir, best.name)
    return _arguments(BACKENDS[scheme(best.url)], best.options)


def opener(state_dir: str | None) -> Callable[[str], tuple[Any, str]]:
    """open(url) -> (file system, path) with the settings of the remote the URL lies under."""
    return lambda url: open_url(url, url_options(state_dir, url))


@dataclass(frozen=True)
class Downloaded:
    path: str  # where it went
    files: int
    bytes: int
    folder: bool


def download(
    url: str,
    dest: str,
    state_dir: str | None = None,
    progress: TransferProgress | None = None,
    force: bool = False,
    timeout: float = TIMEOUT,
) -> Downloaded:
    """Copy the file or folder at url to dest (a path on this machine): into dest + RESTORING
    first, renamed into place once complete, so dest is never half a download. An existing
    dest is replaced only with force."""
    fs, path = opener(state_dir)(url)
    try:
        info = bounded(lambda: fs.info(path), url, timeout)
        folder = info.get("type") == "directory"
        files = _listing(fs, path, url, timeout) if folder else [("", path, info.get("size"))]
    except FileNotFoundError:
        raise RemoteError(f"'{url}' does not exist (or cannot be reached)") from None
    except PipetoolError:
        raise
    except ImportError as exc:
        raise missing_package(url, exc) from None
    except Exception as exc:  # noqa: BLE001 - whatever the backend raises, said in one line
        raise RemoteError(f"cannot read '{url}': {describe(exc)}") from None
    if os.path.lexists(dest) and not force:
        raise RemoteError(f"'{dest}' exists already", hint="use --force to replace it")
    tmp = dest + RESTORING  # as a restore is written beside its out
    remove_path(tmp)  # one a killed download left
    parent = os.path.dirname(os.path.abspath(dest))
    os.makedirs(parent, exist_ok=True)
    total = sum(size or 0 for _, _, size in files)
    if progress is not None:
        progress.transfer_expect(len(files), total)
    try:
        for relpath, source, size in files:
            target = os.path.join(tmp, relpath) if folder else tmp
            os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
            _get(fs, source, target, url)
            if progress is not None:
                progress.transfer_advance(size or os.path.getsize(target))
        if folder and not files:
            os.makedirs(tmp, exist_ok=True)
        remove_path(dest)
        os.replace(tmp, dest)
    except BaseException:
        remove_path(tmp)
        raise
    finally:
        if progress is not None:
            progress.transfer_end()
    return Downloaded(dest, len(files), total, folder)


def _get(fs, source: str, target: str, url: str) -> None:
    try:
        fs.get_file(source, target)
    except PipetoolError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the backend raises, said in one line
        raise RemoteError(f"cannot download '{url}': {describe(exc)}") from None


def _listing(fs, path: str, url: str, timeout: float) -> list[tuple[str, str, int | None]]:
    """(relative path, path in fs, size) of every file below a folder; a name that would lead
    out of the download's folder is refused."""
    found = bounded(lambda: fs.find(path, detail=True), url, timeout)
    base = path.rstrip("/") + "/"
    files = []
    for name, info in sorted(found.items()):
        if info.get("type") == "directory" or not name.startswith(base):
            continue
        relpath = name[len(base) :]
        try:
            clean(relpath)
        except UnsafePath as exc:
            raise RemoteError(f"'{url}' lists a file pipetool will not write: {exc}") from None
        size = info.get("size")
        files.append((relpath, name, size if isinstance(size, int) else None))
    return files
