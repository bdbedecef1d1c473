"""Pickled copies of what pipetool parsed, read back only when this user's pipetool wrote them.

Unpickling runs code, and a repository can commit any file into `.pipetool/` (`git add -f`).
So each copy carries a keyed BLAKE2b tag made with a per-user secret kept outside every project
(`$XDG_CACHE_HOME/pipetool/key`, 0600); a copy whose tag does not verify is never unpickled.
Without a usable secret, no copies are read or written: slower, still correct.
"""

from __future__ import annotations

import os
import pickle
import stat
from typing import Any

from .fsutil import atomic_write_bytes, read_regular, remove_quietly

try:  # the keyed hash alone: hashlib and hmac load OpenSSL, ~5 ms of every command's start-up
    from _blake2 import blake2b
    from _operator import _compare_digest as compare_digest
except ImportError:  # another Python than CPython
    from hashlib import blake2b
    from hmac import compare_digest

_MAGIC = b"pipetool-tagged-pickle-1\n"
_KEY_SIZE = 32
_TAG_SIZE = 32
_keys: dict[str, bytes | None] = {}  # key file -> its secret (None: unusable), once per process


def key_path() -> str | None:
    """Where this user's secret lives, outside any project; None without a home."""
    base = os.environ.get("XDG_CACHE_HOME") or ""
    if not os.path.isabs(base):  # the XDG rule: a relative value is ignored
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "pipetool", "key")


def load(path: str, purpose: str) -> Any | None:
    """The object saved at path for this purpose, or None when there is none this user's
    pipetool wrote (absent, damaged, forged, from another pipetool, or no secret)."""
    key = _key(path)
    if key is None:
        return None
    try:
        data = read_regular(path)
    except OSError:
        return None
    if data is None:
        return None
    head, tag, body = data[: len(_MAGIC)], data[len(_MAGIC) : len(_MAGIC) + _TAG_SIZE], data[len(_MAGIC) + _TAG_SIZE :]
    if head != _MAGIC or not compare_digest(tag, _tag(key, purpose, body)):
        return None
    try:
        return pickle.loads(body)  # noqa: S301 - tagged with this user's secret: pipetool wrote it
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, TypeError, ValueError, KeyError):
        return None  # written by a pipetool whose classes differ: parse afresh


def save(path: str, purpose: str, value: Any) -> None:
    """Keep value at path for load(); quietly nothing when there is no secret or no room."""
    key = _key(path)
    if key is None:
        return
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        atomic_write_bytes(path, _MAGIC + _tag(key, purpose, body) + body, durable=False)
    except OSError:
        pass  # a read-only state folder: no copy, still correct


class Shelf:
    """A dict kept at path whose values are pickled one by one: a save pickles only the values set
    since the load (the rest keep their bytes), and a value is unpickled only when it is asked
    for. For a thousand locks of which a command changes one, that is one pickle, not a thousand."""

    def __init__(self, path: str, purpose: str) -> None:
        self.path, self.purpose = path, purpose
        loaded = load(path, purpose)
        self._raw: dict[str, bytes] = loaded if isinstance(loaded, dict) else {}
        self._live: dict[str, Any] = {}
        self.changed = False

    def get(self, key: str) -> Any | None:
        if key not in self._live:
            raw = self._raw.get(key)
            if not isinstance(raw, bytes):
                return None
            try:
                self._live[key] = pickle.loads(raw)  # noqa: S301 - inside a copy tagged by this user's secret
            except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, TypeError, ValueError):
                self._live[key] = None
        return self._live[key]

    def set(self, key: str, value: Any) -> None:
        """Keep value (again, after changing it in place) for the next save."""
        self._live[key] = value
        self._raw.pop(key, None)
        self.changed = True

    def save(self, keys: set[str]) -> None:
        """Write the values of these keys (the others are dropped), then start counting changes anew."""
        values = {}
        for key in keys:
            if key in self._raw:
                values[key] = self._raw[key]
            elif self._live.get(key) is not None:
                values[key] = self._raw[key] = pickle.dumps(self._live[key], protocol=pickle.HIGHEST_PROTOCOL)
        save(self.path, self.purpose, values)
        self.changed = False


def _tag(key: bytes, purpose: str, body: bytes) -> bytes:
    mac = blake2b(key=key, digest_size=_TAG_SIZE, person=b"pipetool")
    mac.update(purpose.encode() + b"\0")
    mac.update(body)
    return mac.digest()


def _key(path: str) -> bytes | None:
    """The secret for copies kept at path; none when it lies in the project those copies are
    in (a CI job may set XDG_CACHE_HOME inside the checkout, where a clone could have put one)."""
    key_file = key_path()
    if key_file is None:
        return None
    project = os.path.dirname(os.path.dirname(os.path.realpath(path)))  # <project>/.pipetool/<copy>
    if (os.path.realpath(key_file) + os.sep).startswith(project + os.sep):
        return None
    if key_file not in _keys:
        key = _read_key(key_file)
        if key is None and _make_key(key_file):
            key = _read_key(key_file)
        _keys[key_file] = key
    return _keys[key_file]


def _read_key(path: str) -> bytes | None:
    """The secret, only from a regular file of this user's that nobody else can read or write."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
            return None
        data = os.read(fd, _KEY_SIZE + 1)
    finally:
        os.close(fd)
    return data if len(data) == _KEY_SIZE else None


def _make_key(path: str) -> bool:
    """Create the secret whole or not at all: a private temp file, then a link that fails when
    another process made the key first (that one is used)."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, os.urandom(_KEY_SIZE))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(tmp, path)
    except FileExistsError:
        pass  # made meanwhile by another pipetool
    except OSError:
        return False
    finally:
        remove_quietly(tmp)
    return True
