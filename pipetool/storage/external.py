"""URL deps: the version of a file or folder outside the project, as its backend tells it.

A dep may be a URL (`s3://bucket/key`, `gs://…`, `azure://…`, `https://…`, any fsspec URL). Its
version decides staleness, and the lock records it under the name DVC 3 gives it in dvc.lock:
`etag` (S3, GCS, Azure, an HTTP server's ETag), `checksum` (an HTTP Content-MD5 or Digest), or
pipetool's own `xxh3` where the backend tells no version and the bytes are hashed, and for a
folder (the hash of the listing of its files' versions, ending in `.dir`, as a folder's hash
does). A `file://` URL is a local path outside the project: the Hasher hashes it as any dep.

fsspec and its backends are imported only when a URL dep is read; each URL is asked once per
command (`info()`, and a listing for a folder), each question bounded by TIMEOUT seconds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import xxhash

from ..errors import PipetoolError, RemoteError
from ..files.safepath import has_control_characters
from .hashing import CHUNK, HashInfo, manifest_hash

TIMEOUT = 30.0  # seconds one question to a URL's backend may take
CONTENT_KEY = "xxh3"
# The names a URL dep's version has in the lock, as DVC 3 writes them in dvc.lock (xxh3: pipetool's own).
VERSION_KEYS = ("etag", "checksum", "md5", "version_id", CONTENT_KEY)
# fsspec's info() fields that carry a version, and the lock's name for each.
_VERSION_FIELDS = (("etag", "etag"), ("content-md5", "checksum"), ("digest", "checksum"))
# scheme -> (the package that serves it, pipetool's extra that installs it)
_PACKAGES = {
    "s3": ("s3fs", "s3"),
    "gs": ("gcsfs", "gs"),
    "gcs": ("gcsfs", "gs"),
    "az": ("adlfs", "azure"),
    "abfs": ("adlfs", "azure"),
    "azure": ("adlfs", "azure"),
    "http": ("aiohttp", "http"),
    "https": ("aiohttp", "http"),
    "ssh": ("sshfs", "ssh"),
    "sftp": ("sshfs", "ssh"),
}
MAX_VERSION = 1024  # characters of a version read from a lock or a backend

Opener = Callable[[str], tuple[Any, str]]  # URL -> (fsspec file system, the path in it)


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0].lower()


def fsspec_url(url: str) -> str:
    """The URL as fsspec names it: DVC's `azure://container/key` is fsspec's `az://`."""
    return "az://" + url.split("://", 1)[1] if scheme_of(url) == "azure" else url


def missing_package(url: str, exc: ImportError) -> RemoteError:
    package, extra = _PACKAGES.get(scheme_of(url), (exc.name or str(exc), None))
    hint = f"pip install 'pipetool[{extra}]'" if extra else f"pip install {package}"
    return RemoteError(f"reading '{url}' needs the {package} package, which is not installed", hint=hint)


def open_url(url: str, options: dict | None = None) -> tuple[Any, str]:
    """The URL's fsspec file system (with these keyword options) and the path in it."""
    try:
        import fsspec.core

        fs, path = fsspec.core.url_to_fs(fsspec_url(url), **(options or {}))
    except ImportError as exc:
        raise missing_package(url, exc) from None
    except ValueError as exc:
        raise RemoteError(f"unsupported URL '{url}': {exc}") from None
    except PipetoolError:
        raise
    except Exception as exc:  # noqa: BLE001 - a backend refusing its settings
        raise RemoteError(f"cannot open '{url}': {describe(exc)}") from None
    return fs, path


def describe(exc: BaseException) -> str:
    """An exception as a few words on one line (its type when it says nothing)."""
    text = " ".join(str(exc).split())
    return text[:300] if text else type(exc).__name__


def bounded(call: Callable[[], Any], url: str, timeout: float) -> Any:
    """call() on a thread of its own, given up after timeout seconds (the thread is left to end)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            box["error"] = exc

    thread = threading.Thread(target=target, name="pipetool-url", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise RemoteError(f"'{url}' did not answer within {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def clean_version(value: Any) -> str | None:
    """A version as the lock keeps it: text without quotes around it or control characters."""
    if value is None or isinstance(value, (bool, dict, list)):
        return None
    text = str(value).strip().strip('"')
    if not text or len(text) > MAX_VERSION or has_control_characters(text):
        return None
    return text


def version_of(info: dict) -> tuple[str, str] | None:
    """(the lock's key, the version) from a backend's info() of a file, or None when it has none."""
    fields = {str(key).lower(): value for key, value in info.items()}
    for field, key in _VERSION_FIELDS:
        version = clean_version(fields.get(field))
        if version is not None:
            return key, version
    return None


def _size(info: dict) -> int | None:
    size = info.get("size")
    return size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None


def _unreachable(exc: FileNotFoundError) -> bool:
    """fsspec's HTTP backend reports any failure as FileNotFoundError; a refused or broken
    connection under it is not a missing file."""
    cause = exc.__cause__
    return isinstance(cause, OSError) and not isinstance(cause, FileNotFoundError)


class UrlVersions:
    """The versions of URL deps, each URL asked once per command."""

    def __init__(self, opener: Opener | None = None, timeout: float = TIMEOUT) -> None:
        self.opener = opener or open_url
        self.timeout = timeout
        self._memo: dict[str, HashInfo | None] = {}

    def info(self, url: str) -> HashInfo | None:
        """The URL's version (HashInfo.key names it), or None when nothing is there; RemoteError
        when the backend cannot be reached or answers with an error."""
        if url not in self._memo:
            self._memo[url] = self._ask(url)
        return self._memo[url]

    def forget(self, url: str) -> None:
        """Ask again next time (the source was just read anew)."""
        self._memo.pop(url, None)

    def _ask(self, url: str) -> HashInfo | None:
        fs, path = self.opener(url)
        try:
            info = bounded(lambda: fs.info(path), url, self.timeout)
            if info.get("type") == "directory":
                return self._folder(fs, path, url)
            found = version_of(info)
            if found is None:
                return HashInfo(self._content(fs, path, url), _size(info) or 0, key=CONTENT_KEY)
            return HashInfo(found[1], _size(info), key=found[0])
        except FileNotFoundError as exc:
            if _unreachable(exc):
                raise RemoteError(f"cannot reach '{url}': {describe(exc.__cause__)}") from None
            return None
        except PipetoolError:
            raise
        except ImportError as exc:
            raise missing_package(url, exc) from None
        except Exception as exc:  # noqa: BLE001 - whatever the backend raises, said in one line
            raise RemoteError(f"cannot read '{url}': {describe(exc)}") from None

    def _content(self, fs, path: str, url: str) -> str:
        """xxh3 of the bytes, for a backend that tells no version."""

        def read() -> str:
            hasher = xxhash.xxh3_128()
            with fs.open(path, "rb") as handle:
                while chunk := handle.read(CHUNK):
                    hasher.update(chunk)
            return hasher.hexdigest()

        return bounded(read, url, self.timeout)

    def _folder(self, fs, path: str, url: str) -> HashInfo:
        """A folder: the hash of its files' (relative path, version, size), as a directory's
        hash is the hash of its manifest."""
        found = bounded(lambda: fs.find(path, detail=True), url, self.timeout)
        base = path.rstrip("/") + "/"
        entries = []
        for name, info in sorted(found.items()):
            if info.get("type") == "directory" or not name.startswith(base):
                continue
            version = version_of(info)
            if version is None:
                version = (CONTENT_KEY, self._content(fs, name, url))
            entries.append((name[len(base) :], f"{version[0]}:{version[1]}", _size(info) or 0))
        return HashInfo(manifest_hash(entries), sum(size for _, _, size in entries), len(entries))
