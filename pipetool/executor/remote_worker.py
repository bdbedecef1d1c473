"""What runs on a Dask worker that does not see the repository: one stage in a scratch folder, its
inputs and outputs moved through the project's remote by hash.

The task names the stage's deps and params files by path and hash, never their bytes. The worker
brings each object from the remote into its own object cache (a folder in the worker's local
directory, shared by the tasks of that worker, each object checked against its hash before it is
kept, one download per object per worker), copies the deps into a scratch folder, runs the
commands there, hashes the outs, uploads them (checked again before they leave; the remote shows
an object only whole) and only then reports their hashes. The scratch folder goes at the end,
also when the stage fails.

A worker that dies under a stage is seen by the next attempt through markers on the remote
(`tmp/dask-RUN/…`): each attempt leaves one before its commands start, so an attempt that finds
more than `retries` earlier ones fails instead of running again.
"""

from __future__ import annotations

import fcntl
import os
import posixpath
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple

import xxhash
from distributed import get_worker

from ..files.safepath import UnsafePath, relative
from ..remotes import transfer
from ..remotes.progress import NoProgress
from ..remotes.remote import Remote, RemoteConfig, open_config
from ..storage.cache import Cache, CorruptObject
from ..storage.hashing import Hasher, HashInfo, manifest_hash
from .command import GRACE_SECONDS, Ended, StageCommands
from .dask_worker import WORKER_ENV, _Output, _running, _running_lock, died_message

CACHE_FOLDER = "pipetool-objects"  # in the worker's local directory
JOBS = 4  # parallel transfers of one task
ATTEMPTS = "tmp"  # on the remote: tmp/dask-RUN/STAGE/ holds one marker per attempt
UNDECLARED = (
    "without a shared file system only the stage's declared deps and params files are on the "
    "worker: if its cmd reads another file of the project, declare it as a dep"
)


class Input(NamedTuple):
    """A dep (or params file) of the stage: where it goes in the scratch folder, and what it holds."""

    path: str
    hash: str
    size: int
    nfiles: int | None = None


@dataclass(frozen=True)
class RemoteTask:
    """Everything a worker needs to run one stage without the repository: small, whatever the data."""

    stage: str
    cmds: tuple[str, ...]
    wdir: str
    inputs: tuple[Input, ...]
    outs: tuple[str, ...]
    remote: RemoteConfig  # its URL and settings, no credentials: the worker has its own
    run_id: str
    retries: int = 0


@dataclass
class RemoteResult:
    ended: Ended
    worker: str
    output: list[str] = field(default_factory=list)
    dropped: int = 0
    outs: dict[str, HashInfo] = field(default_factory=dict)  # on the remote, whole
    missing: list[str] = field(default_factory=list)  # declared outs the cmd did not make
    problem: str | None = None
    downloaded: int = 0  # objects this task brought into the worker's cache


# Objects downloaded by this worker process, by hash: the proof of one download per object.
_downloads: Counter[str] = Counter()
_downloads_lock = threading.Lock()


def cache_stats() -> dict[str, int]:
    """Hash -> how many times this worker downloaded the object (run with Client.run)."""
    with _downloads_lock:
        return dict(_downloads)


# The commands running in this worker process, by the run (the client) that started them, and
# the runs told to stop (a task of theirs that starts later runs nothing).
_by_run: dict[str, set[StageCommands]] = {}
_stopped: set[str] = set()


def stop_run(run_id: str) -> int:
    """Stop the commands of one run (run with Client.run when the client is interrupted):
    SIGTERM now, SIGKILL after the grace period; how many there were."""
    with _running_lock:
        _stopped.add(run_id)
        commands = list(_by_run.pop(run_id, ()))
    for command in commands:
        command.stop(signal.SIGTERM)

    def kill() -> None:
        deadline = time.monotonic() + GRACE_SECONDS
        while any(c.busy for c in commands) and time.monotonic() < deadline:
            time.sleep(0.05)
        for command in commands:
            if command.busy:
                command.stop(signal.SIGKILL)

    if commands:
        threading.Thread(target=kill, daemon=True).start()
    return len(commands)


def attempts_folder(remote: Remote, run_id: str) -> str:
    return posixpath.join(remote.root, ATTEMPTS, f"dask-{run_id}")


def run_remote_stage(task: RemoteTask) -> RemoteResult:
    """The Dask task of one stage on a worker without the repository."""
    worker = get_worker()
    address = worker.address
    try:
        remote = open_config(task.remote, worker.local_directory)
    except Exception as exc:  # noqa: BLE001 - a backend missing on this worker, or refusing its settings
        return RemoteResult(Ended(), address, problem=f"worker {address} cannot open the remote: {exc}")
    try:
        died = _attempt(remote, task, address)
    except Exception as exc:  # noqa: BLE001 - whatever the backend raises
        return RemoteResult(Ended(), address, problem=f"worker {address} cannot write to the remote: {exc}")
    if len(died) > task.retries:
        return RemoteResult(Ended(), address, problem=died_message(died, task.retries))
    cache = Cache(os.path.join(worker.local_directory, CACHE_FOLDER))
    scratch = tempfile.mkdtemp(prefix="pipetool-stage-", dir=worker.local_directory)
    try:
        return _run_in(scratch, task, remote, cache, address)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _attempt(remote: Remote, task: RemoteTask, address: str) -> list[str]:
    """Leave this attempt's marker; the workers of the earlier attempts (each died under it)."""
    folder = posixpath.join(attempts_folder(remote, task.run_id), xxhash.xxh3_64_hexdigest(task.stage.encode()))
    remote.fs.invalidate_cache(folder)
    try:
        names = sorted(posixpath.basename(p.rstrip("/")) for p in remote.fs.ls(folder, detail=False))
    except FileNotFoundError:
        names = []
    earlier = []
    for name in names:
        try:
            earlier.append(remote.read_bytes(posixpath.join(folder, name), 4096).decode())
        except (OSError, ValueError, UnicodeDecodeError):
            earlier.append("a worker")
    remote.upload_bytes(address.encode(), posixpath.join(folder, f"{len(names):04d}-{uuid.uuid4().hex}"))
    return earlier


def _run_in(scratch: str, task: RemoteTask, remote: Remote, cache: Cache, address: str) -> RemoteResult:
    try:
        downloaded = materialize(cache, remote, task.inputs, scratch)
    except _InputProblem as problem:
        return RemoteResult(Ended(), address, problem=str(problem))
    for path in (task.wdir, *(os.path.dirname(out) for out in task.outs)):  # as outs.prepare makes them
        os.makedirs(os.path.join(scratch, path), exist_ok=True)
    output = _Output()
    commands = StageCommands(
        task.cmds, os.path.join(scratch, task.wdir), output.append, env={**os.environ, WORKER_ENV: address}
    )
    with _running_lock:
        if task.run_id in _stopped:
            return RemoteResult(Ended(interrupted=True), address)
        _running.add(commands)
        _by_run.setdefault(task.run_id, set()).add(commands)
    try:
        ended = commands.run()
    finally:
        with _running_lock:
            _running.discard(commands)
            running = _by_run.get(task.run_id, set())
            running.discard(commands)
            if not running:
                _by_run.pop(task.run_id, None)
    result = RemoteResult(ended, address, list(output.lines), output.total - len(output.lines), downloaded=downloaded)
    if ended.returncode != 0 or ended.interrupted:
        return result
    try:
        result.outs, result.missing = _upload_outs(scratch, task.outs, cache, remote)
    except _InputProblem as problem:
        result.problem = str(problem)
    return result


class _InputProblem(Exception):
    """Why the stage's files could not be moved; one line."""


def materialize(cache: Cache, remote: Remote, inputs: tuple[Input, ...], scratch: str) -> int:
    """Put each input in the scratch folder from the worker's cache, downloading (under the
    cache's lock, each object checked) what the cache lacks; the number of objects downloaded."""
    want = {item.hash: transfer.Item(item.path, item.size) for item in inputs}
    downloaded = _fetch(cache, remote, want)
    for item in inputs:
        try:
            dest = os.path.join(scratch, relative(item.path))
        except UnsafePath as exc:
            raise _InputProblem(f"the task names a dep outside its folder: {exc}") from None
        try:
            cache.checkout(item.hash, dest, link=False)
        except Exception as exc:  # noqa: BLE001 - a damaged object (then removed) or a disk error
            raise _InputProblem(f"could not put dep '{item.path}' in the worker's scratch folder: {exc}") from None
    return downloaded


def _fetch(cache: Cache, remote: Remote, want: dict[str, transfer.Item]) -> int:
    if all(_cached(cache, digest) for digest in want):
        return 0  # the usual case once a worker has the data: no lock, no request
    os.makedirs(cache.dir, exist_ok=True)
    counted = _Counting(remote)
    with open(os.path.join(cache.dir, "lock"), "w") as lock:  # one download per object per worker
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            result = transfer.fetch(cache, counted.remote, want, JOBS, NoProgress(), pool=_transfers())
        except Exception as exc:  # noqa: BLE001 - the remote cannot be read
            raise _InputProblem(f"could not get the stage's deps from remote '{remote.name}': {exc}") from None
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    if not result.ok:
        what = (
            [f"{name} (not on the remote)" for name in result.missing]
            + [f"{name} (its bytes do not match its hash: refused)" for name in result.corrupt]
            + result.failed
        )
        raise _InputProblem(f"could not get the stage's deps from remote '{remote.name}': {', '.join(what)}")
    return counted.count


def _cached(cache: Cache, digest: str) -> bool:
    try:
        return cache.has_all(digest)
    except CorruptObject:  # a damaged manifest (removed): fetched again
        return False


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _transfers() -> ThreadPoolExecutor:
    """The worker process's threads for transfers, shared by its tasks (see remote_client)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(JOBS, thread_name_prefix="pipetool-transfer")
        return _pool


class _Counting:
    """The remote with each object download counted (here and in the worker's stats)."""

    def __init__(self, remote: Remote) -> None:
        self.count = 0
        self._lock = threading.Lock()
        self._download = remote.download
        self.remote = Remote(remote.name, remote.url, remote.fs, remote.root, remote.backend)
        self.remote.download = self._counted

    def _counted(self, path: str, local_path: str) -> str | None:
        hashed = self._download(path, local_path)  # a local remote's download hashes on the way
        digest = "".join(path.rstrip("/").split("/")[-2:])
        with self._lock:
            self.count += 1
        with _downloads_lock:
            _downloads[digest] += 1
        return hashed


def _upload_outs(
    scratch: str, outs: tuple[str, ...], cache: Cache, remote: Remote
) -> tuple[dict[str, HashInfo], list[str]]:
    """Hash the outs, keep them in the worker's cache, upload what the remote lacks (checked
    before it leaves); their hashes once all are on the remote, and the outs that are missing."""
    hasher = Hasher(scratch, None)
    found: dict[str, HashInfo] = {}
    missing: list[str] = []
    want: dict[str, transfer.Item] = {}
    for path in outs:
        full = os.path.join(scratch, path)
        if os.path.isdir(full) and not os.path.islink(full):
            entries = hasher.dir_entries(path)
            info = HashInfo(manifest_hash(entries), sum(size for _, _, size in entries), len(entries))
        else:
            entries = None
            info = hasher.info(path)
        if info is None:
            missing.append(path)
            continue
        cache.store(full, info.hash, entries, link=False)
        found[path] = info
        want[info.hash] = transfer.Item(path, info.size or 0)
    if missing:
        return found, missing
    try:
        result = transfer.push(cache, remote, want, JOBS, NoProgress(), pool=_transfers())
    except Exception as exc:  # noqa: BLE001 - the remote cannot be written
        raise _InputProblem(f"could not upload its outs to remote '{remote.name}': {exc}") from None
    if not result.ok:
        problems = ", ".join(result.missing + result.corrupt + result.failed)
        raise _InputProblem(f"could not upload its outs to remote '{remote.name}': {problems}")
    return found, missing
