"""Moving cache objects between the local cache and a remote: which objects a set of lock entries
needs (directory manifests expanded), which of them each side lacks, and parallel transfers.

Only what the other side lacks moves. Existence is checked in batches: a few objects one request
each; more by listing the remote, whole when it is small, else each two-character prefix once.
Downloads are verified against their hash before they enter the cache; uploads are verified
before they leave it. Nothing partial is ever visible under an object's name on either side: temp
names, then a rename (object stores show an upload only once it is complete). A directory's manifest
is uploaded after all its files, so a manifest on the remote means the whole directory is there.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, NamedTuple

from ..errors import RemoteError, SpecError
from ..files.fsutil import remove_quietly
from ..files.yamlfile import load_json
from ..pipeline.stage import Stage
from ..storage.cache import Cache, CorruptObject
from ..storage.hashing import DIR_SUFFIX
from ..storage.lock import LockEntry
from ..storage.manifest_shelf import ManifestShelf, distinct
from ..storage.runcache import Record, RunCache, out_hashes, well_formed
from ..system.interrupts import completed, guarded, ordered, thread_pool
from .progress import TransferProgress
from .remote import Remote

if TYPE_CHECKING:  # concurrent.futures takes ~5 ms to import: a transfer with nothing to move needs none
    from concurrent.futures import Executor

EXISTS_LIMIT = 16  # up to this many objects, ask for each; beyond, list the prefixes they fall in
# A remote estimated (from one prefix) to hold at most this many objects is listed whole in one
# recursive listing (an object store pages 1,000 keys a request), else prefix by prefix, in parallel.
LIST_WHOLE_UP_TO = 16_384
# A run-cache entry names a stage's outs: a few hundred bytes each. A remote's bigger one is refused unread.
MAX_RUN_ENTRY_BYTES = 1 << 20


class Item(NamedTuple):
    """An object wanted: the out path (or path inside a directory out) it holds, and its size."""

    name: str
    size: int


@dataclass
class TransferResult:
    moved: int = 0  # objects transferred
    nbytes: int = 0
    present: int = 0  # already on the receiving side
    runs: int = 0  # run-cache entries transferred
    missing: list[str] = field(default_factory=list)  # neither side has it
    corrupt: list[str] = field(default_factory=list)  # bytes that do not hash to their name: refused
    failed: list[str] = field(default_factory=list)  # 'name: error'
    missing_hashes: list[str] = field(default_factory=list)  # the hashes of missing, in the same order
    # hash -> the revisions whose lock names it (filled by the caller, for its report)
    revisions: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.corrupt or self.failed)


# -- what is wanted (pure) ---------------------------------------------------------------------


def wanted(stages: Iterable[Stage], entries: Mapping[str, LockEntry]) -> dict[str, Item]:
    """Hash -> item of every cached out the lock records for these stages (what checkout needs)."""
    result: dict[str, Item] = {}
    for stage in stages:
        entry = entries.get(stage.name)
        if entry is None or entry.dropped_in_merge:
            continue
        cached = {out.path for out in stage.outs if out.cache}
        for record in entry.outs:
            if record.path in cached:
                result.setdefault(record.hash, Item(record.path, record.size))
    return result


def absent_outs(root: str, stages: Iterable[Stage], entries: Mapping[str, LockEntry]) -> dict[str, Item]:
    """The wanted objects of outs that the workspace does not have at all (for repro --pull)."""
    return {
        digest: item
        for digest, item in wanted(stages, entries).items()
        if not os.path.lexists(os.path.join(root, item.name))
    }


# -- existence ---------------------------------------------------------------------------------


def remote_has(remote: Remote, digests: Iterable[str], pool: Executor) -> set[str]:
    """Which of the objects the remote holds, in as few requests as the count allows."""
    digests = sorted(set(digests))
    if not digests:
        return set()
    try:
        if len(digests) <= EXISTS_LIMIT or remote.read_only:
            flags = ordered(pool, lambda d: remote.exists(remote.object_path(d)), digests)
            return {d for d, present in zip(digests, flags, strict=True) if present}
        prefixes = sorted({d[:2] for d in digests})
        found = remote.list_prefix(prefixes[0])
        if len(prefixes) > EXISTS_LIMIT and len(found) * 256 <= LIST_WHOLE_UP_TO:
            found = remote.list_all()
        else:
            for names in ordered(pool, remote.list_prefix, prefixes[1:]):
                found |= names
        return found & set(digests)
    except Exception as exc:  # noqa: BLE001 - whatever the backend raises, the user needs the remote named
        raise unreachable(remote, exc) from None


def unreachable(remote: Remote, exc: Exception) -> RemoteError:
    return RemoteError(
        f"cannot read remote '{remote.name}' ({remote.url}): {_describe(exc)}",
        hint="check the URL, the network and the credentials; 'pipetool remote list' shows the settings",
    )


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


# -- running many small jobs -------------------------------------------------------------------


def _pool(jobs: int, pool: Executor | None) -> contextlib.AbstractContextManager:
    """The caller's pool, or a new one of `jobs` threads for this transfer, started at its first task."""
    return contextlib.nullcontext(pool) if pool is not None else _LazyPool(jobs)


class _LazyPool:
    """A pool of threads started (as `thread_pool` starts one) only when a task comes: a transfer
    with nothing to move starts no thread and does not import concurrent.futures (~5 ms). The
    block is guarded from the start (system.interrupts), as a pool's is: before the first task,
    and with no task at all when forked processes move the objects, this thread takes the
    progress bar's lock, which a Ctrl-C must not leave held."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self._stack = contextlib.ExitStack()
        self._pool: Executor | None = None

    def submit(self, work, /, *args, **kwargs):
        if self._pool is None:
            self._pool = self._stack.enter_context(thread_pool(self.jobs, "transfer"))
        return self._pool.submit(work, *args, **kwargs)

    def __enter__(self) -> _LazyPool:
        self._stack.enter_context(guarded())
        return self

    def __exit__(self, *exc) -> bool | None:
        return self._stack.__exit__(*exc)  # the pool's end first, then the guard's


def _each(
    pool: Executor,
    work: Callable[[str], None],
    digests: Iterable[str],
    names: Mapping[str, Item],
    result: TransferResult,
    batch: int = 1,
) -> set[str]:
    """Run work on every digest in the pool, batch digests to a task (many small copies on a
    local remote cost less than a task each); the ones that succeeded. A Ctrl-C cancels what has
    not started and lets running transfers end cleanly (their temp files removed)."""
    digests = list(digests)
    if not digests:
        return set()
    groups = [digests[i : i + batch] for i in range(0, len(digests), max(1, batch))]

    def run(group: list[str]) -> list[tuple[str, BaseException | None]]:
        outcomes: list[tuple[str, BaseException | None]] = []
        for digest in group:
            try:
                work(digest)
                outcomes.append((digest, None))
            except Exception as error:  # noqa: BLE001 - each object's error is reported by its name
                outcomes.append((digest, error))
        return outcomes

    done: set[str] = set()
    for group, future in completed(pool, run, groups):
        error = future.exception()
        for digest, failure in future.result() if error is None else [(d, error) for d in group]:
            if failure is None:
                done.add(digest)
            elif isinstance(failure, CorruptObject):
                result.corrupt.append(names[digest].name)
            elif isinstance(failure, FileNotFoundError):
                result.missing.append(names[digest].name)
                result.missing_hashes.append(digest)
            else:
                result.failed.append(f"{names[digest].name}: {_describe(failure)}")
    return done


def _batch(remote: Remote, count: int, jobs: int) -> int:
    """Objects per task: one on a remote across the network (each waits on its own requests),
    up to 64 on a local one, still leaving every thread several tasks."""
    if not remote.local:
        return 1
    return max(1, min(64, count // (4 * max(1, jobs))))


def _manifest(shelf: ManifestShelf, digest: str) -> list[tuple[str, str, int]] | None:
    """A directory's entries from the local cache (a kept checked copy, when there is one);
    None when absent or damaged."""
    return shelf.entries(digest)


_hash_of = itemgetter(1)  # a manifest entry's hash: 10,000 taken in C, not in a comprehension


def _add_files(files: dict[str, Item], item: Item, entries: list[tuple[str, str, int]]) -> None:
    for relpath, digest, size in entries:
        files.setdefault(digest, Item(f"{item.name}/{relpath}", size))


# -- push --------------------------------------------------------------------------------------


def push(
    cache: Cache,
    remote: Remote,
    want: dict[str, Item],
    jobs: int,
    progress: TransferProgress,
    runs: RunCache | None = None,
    pool: Executor | None = None,
    verify: bool = False,
) -> TransferResult:
    """Upload the wanted objects the remote lacks (with runs: the run-cache too). pool: threads
    to use instead of `jobs` new ones (a caller that transfers a little many times keeps one).

    What the remote's index says it holds is not asked for again; with verify, the remote is
    asked about every object and the index corrected. Files go first, then the manifests whose
    files are all on the remote, then run entries whose objects all are: the remote never names
    what it lacks.
    """
    if remote.read_only:
        raise RemoteError(
            f"remote '{remote.name}' ({remote.url}) is read-only",
            hint="push to an s3, gs, azure, ssh or local-directory remote",
        )
    result = TransferResult()
    want = dict(want)
    run_records = runs.records() if runs is not None else {}
    for record in run_records.values():
        for path, digest, size in out_hashes(record):
            want.setdefault(digest, Item(path, size))
    # Directories the index saw whole on the remote: their manifests are not even read here.
    whole = {} if verify else {d: files for d, files in remote.index.whole_dirs().items() if d in want}
    files, manifests = _expand_local(cache, {d: item for d, item in want.items() if d not in whole}, result)
    names = {**files, **{d: want[d] for d in manifests}}
    with _pool(jobs, pool) as pool:
        trusted = set() if verify else remote.index.known() & set(names)
        asked = set(names) - trusted
        seen = remote_has(remote, asked, pool)
        on_remote = trusted | seen
        on_remote_too = set(whole).union(*whole.values()) - on_remote
        result.present = len(on_remote) + len(on_remote_too)
        sent = _upload(cache, remote, [d for d in files if d not in on_remote], names, pool, jobs, progress, result)
        there = on_remote | on_remote_too | sent
        complete = [d for d, inside in manifests.items() if d not in on_remote and inside <= there]
        sent |= _upload(cache, remote, complete, names, pool, jobs, progress, result)
        there |= sent
        seen_whole = {d: frozenset(inside) for d, inside in manifests.items() if d in there and inside <= there}
        remote.index.update(present=seen | sent, absent=asked - seen, whole=seen_whole)
        if run_records:
            result.runs = _push_runs(remote, run_records, there, pool, result)
    return result


def _expand_local(
    cache: Cache, want: dict[str, Item], result: TransferResult
) -> tuple[dict[str, Item], dict[str, set[str]]]:
    """(file objects, directory manifest -> its files) from the local cache's manifests."""
    files: dict[str, Item] = {}
    manifests: dict[str, set[str]] = {}
    shelf = ManifestShelf(cache)
    for digest, item in want.items():
        if not digest.endswith(DIR_SUFFIX):
            files.setdefault(digest, item)
            continue
        entries = _manifest(shelf, digest)
        if entries is None and cache.has(digest):
            result.corrupt.append(item.name)
            continue
        _add_files(files, item, entries or [])
        manifests[digest] = {d for _, d, _ in entries or []}
    shelf.save()
    return files, manifests


def _upload(
    cache: Cache,
    remote: Remote,
    digests: list[str],
    names: Mapping[str, Item],
    pool: Executor,
    jobs: int,
    progress: TransferProgress,
    result: TransferResult,
) -> set[str]:
    """Upload the objects the local cache has (each verified first); the ones that arrived."""
    have = cache.present(digests)
    absent = [d for d in digests if d not in have]
    result.missing += [names[d].name for d in absent]
    result.missing_hashes += absent
    todo = [d for d in digests if d in have]
    sizes = {d: _size(cache, d, names[d]) for d in todo}
    progress.transfer_expect(len(todo), sum(sizes.values()))

    def upload(digest: str) -> None:
        if remote.local and not digest.endswith(DIR_SUFFIX):
            try:  # checked while it is copied: read once
                ok = remote.upload_verified(cache.path(digest), remote.object_path(digest), digest)
            except CorruptObject:
                ok = False
            if not ok:
                cache.discard(digest)
                raise CorruptObject(digest)
        else:
            if not cache.check(digest):
                raise CorruptObject(digest)
            remote.upload(cache.path(digest), remote.object_path(digest))
        progress.transfer_advance(sizes[digest])

    def threads(digests: list[str]) -> set[str]:
        return _each(pool, upload, digests, names, result, _batch(remote, len(digests), jobs))

    def store(digest: str) -> bool:  # a local remote's upload in a process of _in_processes
        return not digest.endswith(DIR_SUFFIX) and remote.upload_verified(
            cache.path(digest), remote.object_path(digest), digest
        )

    sent = (
        _beside_threads(todo, _in_processes(todo, sizes, progress, store), threads) if remote.local else threads(todo)
    )
    result.moved += len(sent)
    result.nbytes += sum(sizes[d] for d in sent)
    return sent


def _size(cache: Cache, digest: str, item: Item) -> int:
    """A file object's size as its lock or manifest records it (no stat each); a manifest's (its
    item's size is its folder's), or a size not recorded, from the file."""
    if item.size and not digest.endswith(DIR_SUFFIX):
        return item.size
    return os.path.getsize(cache.path(digest))


def _push_runs(
    remote: Remote, records: dict[str, Record], there: set[str], pool: Executor, result: TransferResult
) -> int:
    """Upload the run entries the remote lacks, once every object they name is there."""
    try:
        known = remote.run_keys()
    except Exception as exc:  # noqa: BLE001
        raise unreachable(remote, exc) from None
    todo = [
        key
        for key, record in records.items()
        if key not in known and all(digest in there for _, digest, _ in out_hashes(record))
    ]
    names = {key: Item(f"run-cache entry {key}", 0) for key in todo}

    def upload(key: str) -> None:
        remote.upload_bytes(json.dumps(records[key], sort_keys=True).encode(), remote.run_path(key))

    return len(_each(pool, upload, todo, names, result))


# -- fetch -------------------------------------------------------------------------------------


def fetch(
    cache: Cache,
    remote: Remote,
    want: dict[str, Item],
    jobs: int,
    progress: TransferProgress,
    runs: RunCache | None = None,
    pool: Executor | None = None,
) -> TransferResult:
    """Download the wanted objects the local cache lacks, each verified before it enters
    (pool: as for push).

    Manifests the cache lacks come first, then the files of every wanted directory.
    """
    result = TransferResult()
    want = dict(want)
    sizes: dict[str, int] = {}
    received: dict[str, int] = {}  # bytes of each object that came, manifests too (as push counts them)

    def download(digest: str) -> None:
        tmp = cache.temp_path(digest)
        try:
            # a local remote's: hashed on the way, into a file made read-only as it was opened
            hashed = remote.download(remote.object_path(digest), tmp)
            size = os.path.getsize(tmp)
        except BaseException:
            remove_quietly(tmp)
            raise
        if not cache.adopt(digest, tmp, hashed, read_only=hashed is not None):  # removes tmp either way
            raise CorruptObject(digest)
        received[digest] = size
        progress.transfer_advance(sizes.get(digest, 0))

    shelf = ManifestShelf(cache)
    with _pool(jobs, pool) as pool:
        if runs is not None:
            result.runs = _fetch_runs(runs, remote, want, pool, result)
        files = {d: item for d, item in want.items() if not d.endswith(DIR_SUFFIX)}
        dirs = [d for d in want if d.endswith(DIR_SUFFIX)]
        # A directory the cache held whole, its folders unchanged since: neither its entries nor
        # a listing of its folders is needed (a no-op pull of 10,000 files spent 8 ms on them).
        whole = {digest: run for digest in dirs if (run := shelf.whole(digest)) is not None}
        manifests = [d for d in dirs if d not in whole and _manifest(shelf, d) is None]
        progress.transfer_expect(len(manifests), 0)
        got = _each(pool, download, manifests, want, result)
        listed = {
            digest: (want[digest], shelf.entries(digest) or cache.manifest(digest))
            for digest in dirs
            if digest in got or (digest not in manifests and digest not in whole)
        }
        inside = {digest: set(map(_hash_of, entries)) for digest, (_, entries) in listed.items()}
        every = set(files).union(*inside.values())
        stamps = shelf.folder_stamps(d for digest in listed for d in inside[digest])
        have = cache.present(list(every))  # listed after the stamps: a change since moves them
        for digest, (item, entries) in listed.items():  # names only for what moves (10,000 cost ~5 ms)
            if inside[digest] <= have:
                shelf.mark_whole(digest, inside[digest], stamps)
            else:
                _add_files(files, item, [entry for entry in entries if entry[1] not in have])
        shelf.save()
        todo = [d for d in files if d not in have]
        sizes.update((d, files[d].size) for d in todo)
        progress.transfer_expect(len(todo), sum(sizes.values()))

        def threads(digests: list[str]) -> set[str]:
            return _each(pool, download, digests, files, result, _batch(remote, len(digests), jobs))

        if remote.local:
            got_files = _local_fetch(cache, todo, sizes, received, progress, remote, threads)
        else:
            got_files = threads(todo)
    filled = {
        digest: inside[digest] for digest in listed if not inside[digest] <= have and inside[digest] <= have | got_files
    }
    if filled:
        _mark_filled(shelf, cache, filled)
    remote.index.update(present=got | got_files, absent=result.missing_hashes)
    result.moved = len(got) + len(got_files)
    result.nbytes = sum(received.get(d, 0) for d in (*got, *got_files))
    result.present = len(dirs) - len(manifests) + distinct(every, whole.values()) - len(todo)
    return result


def _local_fetch(
    cache: Cache, todo: list[str], sizes: dict[str, int], received: dict[str, int], progress, remote: Remote, threads
) -> set[str]:
    """The objects fetched from a local remote: in processes (_in_processes), each small one
    checked against its name as it is stored (ingest.Ingest.put_checked), each big one copied
    and hashed on the way; any object not stored there goes to threads(digests)."""
    if not todo:
        return set()
    from ..storage.ingest import SMALL, Ingest

    os.makedirs(cache.dir, exist_ok=True)
    object_path = remote.object_path
    ingest = Ingest(cache, "copy")

    def store(digest: str) -> bool:
        if _small(sizes.get(digest), SMALL):
            return ingest.put_checked(object_path(digest), digest)
        tmp = cache.temp_path(digest)
        try:
            hashed = remote.download(object_path(digest), tmp)
        except BaseException:
            remove_quietly(tmp)
            raise
        return cache.adopt(digest, tmp, hashed, read_only=True)

    try:
        done = _in_processes(todo, sizes, progress, store, ingest.make_folders)
    finally:
        ingest.close()
    cache.verified(done)
    received.update((digest, sizes.get(digest) or 0) for digest in done)
    return _beside_threads(todo, done, threads)


def _beside_threads(todo: list[str], done: set[str], threads: Callable[[list[str]], set[str]]) -> set[str]:
    """What processes moved, and what the transfer's threads move of the rest (and tell about)."""
    return done | threads([d for d in todo if d not in done] if done else todo)


def _in_processes(
    todo: list[str], sizes: dict[str, int], progress, store: Callable[[str], bool], prepare: Callable | None = None
) -> set[str]:
    """The objects that store(digest) put in place, for a transfer between local folders of
    thousands of small objects: taken in chunks by this process and a forked one per other core
    (at most 4) as each is free, the big ones (over a MiB) first, one a chunk. Creating files is
    kernel work the cores share, while threads take turns at the Python work between. An object
    store() refuses or fails on (damaged, gone, a disk full) is not in the answer, nor the
    chunks of a process that failed: the caller's threads take those and tell what is wrong; no
    process is started for fewer objects, nor prepare() called, which readies what the
    processes share."""
    from ..storage.ingest import FORK_FROM, SMALL
    from ..system.forked import chunked, cores, taken_in_turn

    small = [d for d in todo if _small(sizes.get(d), SMALL)]
    processes = min(cores(), 4)
    if processes < 2 or len(small) < FORK_FROM or not hasattr(os, "fork"):
        return set()
    if prepare is not None:
        prepare()
    small_set = set(small)

    def work(chunk: list[str], advance: Callable[[int], None] | None) -> bytes:
        flags = bytearray(len(chunk))
        for i, digest in enumerate(chunk):
            try:
                stored = store(digest)
            except Exception:  # noqa: BLE001 - the threads' try tells it
                stored = False
            if stored:
                flags[i] = 1
                if advance is not None:  # this process's chunk: its bar moves as it goes
                    advance(sizes.get(digest) or 0)
        return bytes(flags)

    done: set[str] = set()
    chunks = [[d] for d in todo if d not in small_set] + chunked(small)
    taken = taken_in_turn(chunks, work, progress.transfer_advance, processes)
    for chunk, (flags, here) in zip(chunks, taken, strict=True):
        if flags is None or len(flags) != len(chunk):
            continue  # its process failed
        moved = [digest for digest, flag in zip(chunk, flags, strict=True) if flag]
        done.update(moved)
        if not here:
            progress.transfer_advance(sum(sizes.get(digest) or 0 for digest in moved))
    return done


def _small(size: object, limit: int) -> bool:
    """Whether a size recorded for an object (a number from a lock, a manifest or a run entry)
    says it is at most limit bytes."""
    return isinstance(size, int) and size <= limit


def _mark_filled(shelf: ManifestShelf, cache: Cache, filled: dict[str, set[str]]) -> None:
    """Directories this fetch completed, their folders stamped and listed as the next fetch
    would do it: that one then stats the folders instead of listing them (a no-op pull right
    after a pull)."""
    files = set().union(*filled.values())
    stamps = shelf.folder_stamps(files, settle=True)
    have = cache.present(list(files))  # listed after the stamps: a change since moves them
    for digest, inside in filled.items():
        if inside <= have:
            shelf.mark_whole(digest, inside, stamps)
    shelf.save()


def _fetch_runs(runs: RunCache, remote: Remote, want: dict[str, Item], pool: Executor, result: TransferResult) -> int:
    """Download the run entries the local run-cache lacks; the objects they name join want."""
    try:
        keys = remote.run_keys()
    except Exception as exc:  # noqa: BLE001
        raise unreachable(remote, exc) from None
    todo = sorted(keys - set(runs.records()))
    names = {key: Item(f"run-cache entry {key}", 0) for key in todo}

    def download(key: str) -> None:
        try:
            record = load_json(remote.read_bytes(remote.run_path(key), MAX_RUN_ENTRY_BYTES), key)
        except (SpecError, ValueError, UnicodeDecodeError):
            raise CorruptObject(key) from None
        if not well_formed(record):
            raise CorruptObject(key)
        fetched[key] = record

    fetched: dict[str, Record] = {}
    got = _each(pool, download, todo, names, result)
    for key in sorted(got):
        runs.add(key, fetched[key])
        for path, digest, size in out_hashes(fetched[key]):
            want.setdefault(digest, Item(path, size))
    runs.flush()
    return len(got)


# -- where each object is ------------------------------------------------------------------------


def locate(cache: Cache, remote: Remote, want: Mapping[str, Item], jobs: int) -> dict[str, tuple[bool, bool]]:
    """Hash -> (in the local cache, on the remote), a directory counting only when whole."""
    inside: dict[str, set[str]] = {}
    shelf = ManifestShelf(cache)
    for digest in want:
        if digest.endswith(DIR_SUFFIX):
            inside[digest] = {d for _, d, _ in _manifest(shelf, digest) or []}
    shelf.save()
    with thread_pool(jobs, "transfer") as pool:
        asked = set(want) | set().union(*inside.values())
        on_remote = remote_has(remote, asked, pool)
    where = {}
    for digest in want:
        try:
            local = cache.has_all(digest)
        except CorruptObject:
            local = False
        remote_ok = digest in on_remote and inside.get(digest, set()) <= on_remote
        where[digest] = (local, remote_ok)
    whole = {d: frozenset(files) for d, files in inside.items() if where[d][1]}
    remote.index.update(present=on_remote, absent=asked - on_remote, whole=whole)  # what the remote said
    return where
