"""Remote storage: named remotes in the config, and a remote's URL opened as an fsspec file system.

A remote holds objects in the local cache's layout (`ab/cdef…`, directory manifests `….dir`)
and run-cache entries under `runs/`, so a local-directory remote looks like a cache. fsspec and
the backends (s3fs, gcsfs, adlfs, sshfs, aiohttp) are imported only when a remote is opened.
"""

from __future__ import annotations

import errno
import itertools
import mmap
import os
import posixpath
import re
import stat
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import xxhash

from ..errors import RemoteError, did_you_mean
from ..files import trusted_cache
from ..files.fsutil import create_read_only, remove_quietly
from ..files.safepath import has_control_characters
from ..pipeline import config
from ..pipeline.project import Project
from ..storage.cache import CorruptObject, file_mode_mask
from ..storage.hashing import CHUNK
from ..system.forked import cores

RUNS_PREFIX = "runs"
TMP_MARK = ".tmp-"  # a name with this inside is an upload in progress, never an object
INDEX_PREFIX = "remote-index-"  # .pipetool/remote-index-<digest of the remote's location>: see RemoteIndex


@dataclass(frozen=True)
class Backend:
    """How one URL scheme is served: the fsspec class, the extra that installs it, its options."""

    module: str
    cls: str
    extra: str | None  # pipetool[extra]; None when nothing beyond fsspec is needed
    options: dict[str, str] = field(default_factory=dict)  # remote setting -> fsspec argument
    object_store: bool = False  # an upload becomes visible whole, or not at all
    read_only: bool = False
    # Transfers at once when -j is not given: a local directory is bound by this machine's
    # cores and disk, an object store, ssh or http by the round trips of its requests.
    jobs_per_core: int = 4
    max_jobs: int = 16

    def default_jobs(self) -> int:
        return max(1, min(self.max_jobs, self.jobs_per_core * cores()))


_S3 = {
    "endpointurl": "endpoint_url",
    "region": "region",
    "profile": "profile",
    "access_key_id": "key",
    "secret_access_key": "secret",
    "session_token": "token",
}
_GS = {"projectname": "project", "credentialpath": "token"}
_AZURE = {
    "account_name": "account_name",
    "account_key": "account_key",
    "connection_string": "connection_string",
    "sas_token": "sas_token",
}
_SSH = {"user": "username", "port": "port", "keyfile": "client_keys", "password": "password"}

BACKENDS: dict[str, Backend] = {
    "file": Backend("fsspec.implementations.local", "LocalFileSystem", None, jobs_per_core=1, max_jobs=4),
    "s3": Backend("s3fs", "S3FileSystem", "s3", _S3, object_store=True),
    "gs": Backend("gcsfs", "GCSFileSystem", "gs", _GS, object_store=True),
    "azure": Backend("adlfs", "AzureBlobFileSystem", "azure", _AZURE, object_store=True),
    "ssh": Backend("sshfs", "SSHFileSystem", "ssh", _SSH),
    "http": Backend("fsspec.implementations.http", "HTTPFileSystem", "http", read_only=True),
    "https": Backend("fsspec.implementations.http", "HTTPFileSystem", "http", read_only=True),
}
ALIASES = {"gcs": "gs", "az": "azure", "sftp": "ssh"}
# Secrets never go in the committed config: only in config.local or the environment.
CREDENTIALS = frozenset(
    {"access_key_id", "secret_access_key", "session_token", "account_key", "connection_string", "sas_token", "password"}
)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


@dataclass(frozen=True)
class RemoteConfig:
    name: str
    url: str
    options: dict[str, str]


def scheme(url: str) -> str:
    """The backend name of a URL: 'file' for a plain path; an unknown scheme is an error, and
    so is a URL holding control characters (it would reach terminals and config files)."""
    if has_control_characters(url):
        raise RemoteError(f"the remote URL {url!r} holds control characters", hint="give the URL without them")
    match = _SCHEME.match(url)
    if not match:
        return "file"
    name = ALIASES.get(match.group(1).lower(), match.group(1).lower())
    if name not in BACKENDS:
        raise RemoteError(
            f"unsupported remote URL '{url}'",
            hint="use a local path, or a URL starting with s3://, gs://, azure://, ssh:// or https://",
        )
    return name


def check_option(url: str, key: str, local: bool, value: str = "") -> None:
    """A setting the URL's backend knows, with a sensible value; a credential only in config.local."""
    if key == "url":
        scheme(value or url)
        return
    known = BACKENDS[scheme(url)].options
    if key not in known:
        choices = ", ".join(sorted(known)) or "none besides url"
        raise RemoteError(
            f"unknown setting '{key}' for a {scheme(url)} remote", hint=did_you_mean(key, known) or f"known: {choices}"
        )
    if key in CREDENTIALS and not local:
        raise RemoteError(
            f"'{key}' is a credential: it goes in .pipetool/config.local, never in the committed config",
            hint="add --local, or set it in the environment instead",
        )
    if key == "port" and not value.isdigit():
        raise RemoteError(f"'port' must be a number, not '{value}'")


# -- the config ------------------------------------------------------------------------------


def _section(state_dir: str) -> dict:
    """The merged `remote` section: name -> settings (whatever the files hold)."""
    section = config.sections(state_dir).get(config.REMOTE_SECTION) or {}
    if not isinstance(section, dict):
        raise RemoteError("'remote' must map remote names to their settings", file=config.display(False))
    return section


def remotes(state_dir: str) -> dict[str, RemoteConfig]:
    """Every usable remote of config and config.local merged (those with a url)."""
    result = {}
    for name, settings in _section(state_dir).items():
        if isinstance(settings, dict) and isinstance(settings.get("url"), str):
            options = {str(k): str(v) for k, v in settings.items() if k != "url"}
            result[str(name)] = RemoteConfig(str(name), settings["url"], options)
    return result


def _check_no_leak(state_dir: str, name: str) -> None:
    """A credential in the committed config is refused at use, so a secret that reached git is noticed."""
    committed = (config.load(state_dir).get(config.REMOTE_SECTION) or {}).get(name) or {}
    leaked = sorted(CREDENTIALS & set(committed))
    if leaked:
        raise RemoteError(
            f"remote '{name}': the credential '{leaked[0]}' is in the committed config",
            file=config.display(False),
            hint=f"remove it with 'pipetool remote modify --unset {name} {leaked[0]}', set it "
            "again with --local, and drop it from git's history",
        )


def _where(state_dir: str, name: str) -> str:
    in_local = name in (config.load(state_dir, local=True).get(config.REMOTE_SECTION) or {})
    in_committed = name in (config.load(state_dir).get(config.REMOTE_SECTION) or {})
    return config.display(in_local and not in_committed)


def default_name(state_dir: str) -> str | None:
    return config.read(state_dir)["core.remote"]


def resolve(state_dir: str, name: str | None) -> RemoteConfig:
    """The named remote, or the default one; clear errors for neither."""
    known = remotes(state_dir)
    if name is None:
        name = default_name(state_dir)
        if name is None:
            raise RemoteError(
                "no remote given and no default remote set",
                hint="name one with -r NAME, or set a default: pipetool remote add -d NAME URL",
            )
        if name not in known:
            raise RemoteError(
                f"the default remote '{name}' (core.remote) is not defined",
                hint="pipetool remote default NAME, or pipetool remote add NAME URL",
            )
    if name not in known and name in _section(state_dir):
        raise RemoteError(
            f"remote '{name}' has no 'url'",
            file=_where(state_dir, name),
            hint=f"pipetool remote add -f {name} URL, or pipetool remote remove {name}",
        )
    if name not in known:
        hint = did_you_mean(name, known) or (
            "known: " + ", ".join(sorted(known)) if known else "add one: pipetool remote add -d NAME URL"
        )
        raise RemoteError(f"unknown remote '{name}'", hint=hint)
    return known[name]


def add(state_dir: str, name: str, url: str, *, default: bool, local: bool, force: bool) -> None:
    scheme(url)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise RemoteError(f"'{name}' is not a valid remote name", hint="use letters, digits, '-', '_' and '.'")
    if name in remotes(state_dir) and not force:
        raise RemoteError(f"remote '{name}' already exists", hint="use -f to replace it, or 'remote modify'")
    data = config.load(state_dir, local)
    section = dict(data.get(config.REMOTE_SECTION) or {})
    section[name] = {"url": url}
    data[config.REMOTE_SECTION] = section
    if default:
        data["core"] = {**(data.get("core") or {}), "remote": name}
    config.save(state_dir, data, local)


def modify(state_dir: str, name: str, key: str, value: str | None, local: bool) -> None:
    """Set (None: unset) one setting of a remote, in config or config.local."""
    remote = resolve(state_dir, name)
    url = value if key == "url" and value is not None else remote.url
    if value is None:
        if key == "url":
            raise RemoteError("a remote cannot be without its url", hint=f"pipetool remote remove {name}")
    else:
        check_option(url, key, local, value)
    data = config.load(state_dir, local)
    section = dict(data.get(config.REMOTE_SECTION) or {})
    settings = dict(section.get(name) or {})
    if value is None:
        settings.pop(key, None)
    else:
        settings[key] = value
    section[name] = settings
    data[config.REMOTE_SECTION] = section
    config.save(state_dir, data, local)


def remove(state_dir: str, name: str) -> None:
    """Drop the remote from both files, and the default when it named it."""
    if name not in _section(state_dir):
        resolve(state_dir, name)  # the error, with a suggestion
    for local in (False, True):
        data = config.load(state_dir, local)
        section = dict(data.get(config.REMOTE_SECTION) or {})
        core = dict(data.get("core") or {})
        if name not in section and core.get("remote") != name:
            continue
        section.pop(name, None)
        if core.get("remote") == name:
            core.pop("remote")
        config.save(state_dir, {**data, config.REMOTE_SECTION: section, "core": core}, local)


def set_default(state_dir: str, name: str | None, local: bool) -> None:
    if name is not None:
        resolve(state_dir, name)
    config.write(state_dir, "core.remote", name, local)


# -- opening one -----------------------------------------------------------------------------


class Remote:
    """One remote opened: object and run-cache paths, and the few file operations transfers need."""

    def __init__(self, name: str, url: str, fs, root: str, backend: Backend, index: RemoteIndex | None = None) -> None:
        self.name = name
        self.url = url
        self._fs = fs  # None: a local directory's, made when first needed (most transfers use the os)
        self.root = root.rstrip("/") or "/"
        self.backend = backend
        self.index = index if index is not None else RemoteIndex(None, "")
        self._folders: set[str] = set()  # made already: one round trip per prefix, not per object
        self._umask_takes_read: bool | None = None  # whether a new 0444 file needs a chmod (see download)

    @property
    def fs(self):
        """The fsspec file system; a local remote's is imported (~0.1 s) only when asked for."""
        if self._fs is None:
            from fsspec.implementations.local import LocalFileSystem

            self._fs = LocalFileSystem(auto_mkdir=True)
        return self._fs

    @property
    def read_only(self) -> bool:
        return self.backend.read_only

    @property
    def local(self) -> bool:
        """A directory of this machine: objects are copied by the os, not through fsspec."""
        return self.backend is BACKENDS["file"]

    @property
    def default_jobs(self) -> int:
        return self.backend.default_jobs()

    def object_path(self, digest: str) -> str:
        """posixpath.join(root, digest[:2], digest[2:]), built directly: it runs once per object."""
        root = self.root if self.root != "/" else ""
        return f"{root}/{digest[:2]}/{digest[2:]}"

    def run_path(self, key: str) -> str:
        return posixpath.join(self.root, RUNS_PREFIX, key[:2], key[2:])

    def exists(self, path: str) -> bool:
        return bool(self.fs.exists(path))

    def list_prefix(self, prefix: str) -> set[str]:
        """Hashes of the objects under one two-character prefix: one listing request."""
        try:
            names = self.fs.ls(posixpath.join(self.root, prefix), detail=False)
        except FileNotFoundError:
            return set()
        return {prefix + posixpath.basename(n.rstrip("/")) for n in names if TMP_MARK not in n}

    def list_all(self) -> set[str]:
        """Hashes of every object on the remote, in one recursive listing."""
        try:
            paths = self.fs.find(self.root)
        except FileNotFoundError:
            return set()
        found = set()
        for path in paths:
            parts = posixpath.relpath(path.rstrip("/"), self.root).split("/")
            if len(parts) == 2 and len(parts[0]) == 2 and TMP_MARK not in parts[1]:
                found.add(parts[0] + parts[1])
        return found

    def run_keys(self) -> set[str]:
        """Keys of every run-cache entry on the remote."""
        base = posixpath.join(self.root, RUNS_PREFIX)
        try:
            paths = self.fs.find(base)
        except FileNotFoundError:
            return set()
        keys = set()
        for path in paths:
            parts = path.rstrip("/").split("/")
            if len(parts) >= 2 and len(parts[-2]) == 2 and TMP_MARK not in parts[-1]:
                keys.add(parts[-2] + parts[-1])
        return keys

    def upload(self, local_path: str, path: str) -> None:
        """Put a file at path so that it appears whole or not at all."""
        self._put(lambda target: self.fs.put_file(local_path, target), path)

    def upload_verified(self, local_path: str, path: str, digest: str) -> bool:
        """A local remote's upload of a cache file: its bytes copied under a temp name and hashed
        on the way (read once), renamed to path only when they hash to digest; False when they
        do not (nothing is left). CorruptObject when local_path is a link or not a plain file."""
        folder = os.path.dirname(path)
        if folder not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)
        tmp = f"{path}{TMP_MARK}{_temp_suffix()}"
        try:
            if copy_regular(local_path, tmp) == digest:
                os.replace(tmp, path)
                return True
        except BaseException:
            remove_quietly(tmp)
            raise
        remove_quietly(tmp)
        return False

    def upload_bytes(self, data: bytes, path: str) -> None:
        """Put bytes at path so that they appear whole or not at all."""
        self._put(lambda target: self.fs.pipe_file(target, data), path)

    def _put(self, write, path: str) -> None:
        if self.backend.object_store:
            write(path)  # an object store shows an upload only once complete
            return
        folder = posixpath.dirname(path)
        if folder not in self._folders:
            self.fs.makedirs(folder, exist_ok=True)
            self._folders.add(folder)
        tmp = f"{path}{TMP_MARK}{_temp_suffix()}"
        try:
            write(tmp)
            self.fs.mv(tmp, path)
        except BaseException:
            try:
                self.fs.rm_file(tmp)
            except Exception:  # noqa: BLE001 - the upload's own error is the one to report
                pass
            raise

    def download(self, path: str, local_path: str) -> str | None:
        """Copy the file at path to local_path (a new file); on a local remote the hash of the
        bytes copied (they were hashed on the way), else None. A local remote's copy is made
        read-only (0444, a cache object's mode) as it is opened, by one open file that reads,
        hashes and writes the bytes: a fetch adopts it with no chmod after."""
        if self.local:
            if self._umask_takes_read is None:  # once per remote opened, as an ingest asks once
                self._umask_takes_read = file_mode_mask() & 0o444 != 0
            return copy_regular(path, local_path, follow=True, read_only=True, chmod=self._umask_takes_read)
        self.fs.get_file(path, local_path)
        return None

    def read_bytes(self, path: str, limit: int | None = None) -> bytes:
        """A small file's bytes (a run-cache entry), with no local file between; ValueError when
        it holds more than limit bytes (nothing past limit + 1 is read)."""
        if limit is None:
            return self.fs.cat_file(path)
        data = self.fs.cat_file(path, start=0, end=limit + 1)
        if len(data) > limit:
            raise ValueError(f"{path} holds more than {limit} bytes")
        return data


class RemoteIndex:
    """Which objects a remote probably holds: those pipetool uploaded there, downloaded from there
    or saw in a listing of it, kept under .pipetool per remote location.

    A push trusts it (an object it names is not asked for again), so a no-op push costs no
    request per object. It can lie when someone deletes objects from the remote behind
    pipetool's back: `push --verify` and `status --remote` ask the remote itself and correct it,
    and `gc --cloud` drops what it deletes. The file is tagged with this user's secret
    (files/trusted_cache): a damaged, foreign or committed one is ignored, as is one written for
    another remote location.

    It also keeps, for each directory pipetool saw whole on the remote (its manifest and every
    file of it), the hashes of that directory's files: a push of that directory then needs
    neither the manifest read from the local cache nor any request. An entry lasts only while
    the index names its manifest and every one of its files: an object found missing (or deleted
    by `gc --cloud`) drops every directory entry naming it.
    """

    def __init__(self, path: str | None, location: str) -> None:
        self.path = path  # None: no index (nothing is remembered)
        self.location = location
        self._known: set[str] | None = None
        self._dirs: dict[str, frozenset[str]] = {}

    def known(self) -> set[str]:
        """The hashes the index names (empty when there is none it can trust)."""
        if self._known is None:
            value = trusted_cache.load(self.path, INDEX_PREFIX) if self.path else None
            ours = isinstance(value, dict) and value.get("remote") == self.location
            objects = value.get("objects") if ours else None
            self._known = set(objects) if isinstance(objects, frozenset) else set()
            dirs = value.get("dirs") if ours and self._known else None
            if isinstance(dirs, dict):
                self._dirs = {
                    digest: files
                    for digest, files in dirs.items()
                    if isinstance(files, frozenset) and digest in self._known and files <= self._known
                }
        return self._known

    def whole_dirs(self) -> dict[str, frozenset[str]]:
        """Manifest hash -> the hashes of its files, for each directory seen whole on the remote."""
        self.known()
        return self._dirs

    def update(
        self,
        present: Iterable[str] = (),
        absent: Iterable[str] = (),
        whole: dict[str, frozenset[str]] | None = None,
    ) -> None:
        """Record objects seen on the remote (present), found missing (absent), and directories
        seen whole (whole: manifest hash -> its files' hashes, all of them among present or the
        index), and save."""
        if not (present or absent or whole):
            return  # nothing learnt: not even read
        known = self.known()
        before = len(known), len(self._dirs)
        absent = set(absent)
        known.difference_update(absent)
        known.update(present)
        if absent:
            self._dirs = {d: files for d, files in self._dirs.items() if d in known and files <= known}
        for digest, files in (whole or {}).items():
            if digest in known and files <= known and self._dirs.get(digest) != files:
                self._dirs[digest] = files
                before = (-1, -1)
        if self.path and ((len(known), len(self._dirs)) != before or absent):
            same = {digest: digest for digest in known}  # one string per hash: pickled once, then referred to
            dirs = {same[d]: frozenset(same[f] for f in files) for d, files in self._dirs.items()}
            value = {"remote": self.location, "objects": frozenset(same), "dirs": dirs}
            trusted_cache.save(self.path, INDEX_PREFIX, value)


def index_path(state_dir: str, location: str) -> str:
    """Where the index of the remote at location lives: one file per location, so that a remote
    renamed or pointed elsewhere starts afresh."""
    return os.path.join(state_dir, INDEX_PREFIX + _sha256(location.encode()).hexdigest()[:24])


def _sha256(data: bytes):
    """SHA-256 without hashlib, whose OpenSSL costs a push or pull ~5 ms to load (CPython's own
    module: _sha256 up to 3.11, _sha2 since)."""
    try:
        from _sha2 import sha256
    except ImportError:
        try:
            from _sha256 import sha256
        except ImportError:  # another Python than CPython
            from hashlib import sha256
    return sha256(data)


class NotPlainFile(CorruptObject, OSError):
    """An object that is a link, a pipe or a folder where a plain file should be: refused unread
    (a transfer reports it as corrupt; a reader of one object as a file it cannot read)."""


def copy_regular(source: str, dest: str, follow: bool = False, read_only: bool = False, chmod: bool = True) -> str:
    """Copy a plain file to dest (made or emptied; never through a link) and return the hash of
    the bytes copied: read once into a buffer, hashed there and written from it. Anything but a
    plain file at source is refused (NotPlainFile) unread: no pipe is waited on; so is a link,
    unless follow (a link in a remote folder to the right bytes serves them, as a copy would).
    read_only makes dest a new file of mode 0444 (as a cache object is), set while it is open:
    no chmod by name after; chmod False says the umask takes no read bit away, so the mode given
    at its making is the mode."""
    try:
        src = os.open(source, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotPlainFile(f"{source} is a link") from None
        raise
    try:
        info = os.fstat(src)
        if not stat.S_ISREG(info.st_mode):
            raise NotPlainFile(f"{source} is not a plain file")
        dst = _open_target(dest, read_only, chmod)
        try:
            if info.st_size < CHUNK:  # the usual small object: one read, one write
                data = os.read(src, info.st_size + 1)
                _write_all(dst, memoryview(data))
                if len(data) <= info.st_size:
                    return xxhash.xxh3_128_hexdigest(data)
                hasher = xxhash.xxh3_128(data)  # it grew since its stat: copy what else there is
            else:
                hasher = xxhash.xxh3_128()
            buffer = _copy_buffer(CHUNK)
            view = memoryview(buffer)
            while count := os.readv(src, [buffer]):
                hasher.update(view[:count])
                _write_all(dst, view[:count])
        finally:
            os.close(dst)
    finally:
        os.close(src)
    return hasher.hexdigest()


def _open_target(dest: str, read_only: bool, chmod: bool) -> int:
    """dest opened for writing, made or emptied (never through a link); read_only: a new file of
    mode 0444 whatever the umask (fsutil.create_read_only)."""
    if read_only:
        return create_read_only(dest, chmod)
    return os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)


_TEMP_PREFIX = os.urandom(12).hex()  # a temp name of this process: these 24 hex digits and a count
_temp_count = itertools.count()


def _temp_suffix() -> str:
    """32 hex digits no other upload uses (os.urandom per file costs a system call)."""
    return f"{_TEMP_PREFIX}{next(_temp_count) & 0xFFFFFFFF:08x}"


def _write_all(fd: int, view: memoryview) -> None:
    written = 0
    while written < len(view):
        written += os.write(fd, view[written:])


_copy_buffers = threading.local()


def _copy_buffer(size: int) -> mmap.mmap:
    """A page-aligned buffer per thread, made once (an unaligned one halves the copy's speed)."""
    buffer = getattr(_copy_buffers, "buffer", None)
    if buffer is None:
        buffer = _copy_buffers.buffer = mmap.mmap(-1, size)
    return buffer


def open_remote(project: Project, name: str | None) -> Remote:
    """The named (or default) remote as a file system; a missing backend names its extra."""
    remote = resolve(project.state_dir, name)
    _check_no_leak(project.state_dir, remote.name)
    return open_config(remote, project.root, project.state_dir)


def without_secrets(project: Project, name: str | None) -> RemoteConfig:
    """The named (or default) remote as another machine can open it: a local path made absolute,
    and its settings without credentials (that machine has its own, from its environment or
    its backend's config files)."""
    remote = resolve(project.state_dir, name)
    url = remote.url
    if BACKENDS[scheme(url)] is BACKENDS["file"]:
        url = _local_root(url, project.root)
    options = {key: value for key, value in remote.options.items() if key not in CREDENTIALS}
    return RemoteConfig(remote.name, url, options)


def _local_root(url: str, base: str) -> str:
    return os.path.normpath(os.path.join(base, url[len("file://") :] if url.startswith("file://") else url))


def open_config(remote: RemoteConfig, base: str, state_dir: str | None = None) -> Remote:
    """A remote's settings opened as a file system (a relative local path is taken from base).
    state_dir: the project's, which keeps the remote's index; None (a worker without the
    project) keeps none."""

    def index(location: str) -> RemoteIndex:
        return RemoteIndex(index_path(state_dir, location) if state_dir else None, location)

    backend = BACKENDS[scheme(remote.url)]
    url = remote.url
    if backend is BACKENDS["file"]:
        root = _local_root(url, base)
        return Remote(remote.name, url, None, root, backend, index("file://" + root))
    try:
        import importlib

        cls = getattr(importlib.import_module(backend.module), backend.cls)
    except ImportError as exc:
        package = backend.module.split(".")[0] if backend.extra != "http" else "aiohttp"
        raise RemoteError(
            f"remote '{remote.name}' ({remote.url}) needs the {package} package, which is not installed "
            f"({exc.name or exc})",
            hint=f"pip install 'pipetool[{backend.extra}]'",
        ) from None
    if backend is BACKENDS["azure"]:
        url = "az://" + _SCHEME.sub("", url)
    kwargs = dict(cls._get_kwargs_from_urls(url))
    kwargs.update(_arguments(backend, remote.options))
    root = url.rstrip("/") if backend.read_only else cls._strip_protocol(url)
    try:
        fs = cls(**kwargs)
    except ImportError as exc:
        raise RemoteError(
            f"remote '{remote.name}' needs {exc.name or exc}", hint=f"pip install 'pipetool[{backend.extra}]'"
        ) from None
    except Exception as exc:  # noqa: BLE001 - a backend refusing its settings
        raise RemoteError(f"cannot open remote '{remote.name}' ({remote.url}): {exc}") from None
    location = f"{remote.url} {remote.options.get('endpointurl', '')}".strip()
    return Remote(remote.name, remote.url, fs, root, backend, index(location))


def _arguments(backend: Backend, options: dict[str, str]) -> dict:
    """Remote settings as the backend's keyword arguments."""
    kwargs: dict = {}
    for key, value in options.items():
        argument = backend.options.get(key)
        if argument is None:
            raise RemoteError(
                f"unknown setting '{key}' for this remote",
                file=".pipetool/config",
                hint="remove it: pipetool remote modify --unset NAME " + key,
            )
        if argument == "endpoint_url":
            kwargs[argument] = value
        elif argument == "region":
            kwargs.setdefault("client_kwargs", {})["region_name"] = value
        elif argument == "port":
            if not value.isdigit():
                raise RemoteError(f"remote setting 'port' must be a number, not '{value}'", file=".pipetool/config")
            kwargs[argument] = int(value)
        elif argument == "client_keys":
            kwargs[argument] = [os.path.expanduser(value)]
        else:
            kwargs[argument] = value
    return kwargs
