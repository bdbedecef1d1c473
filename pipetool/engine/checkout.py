"""Checkout: make the workspace's outs match pipeline.lock, from the cache."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import NamedTuple

from ..files.safepath import Tree, UnsafePath
from ..planning.plan import select
from ..storage.cache import Cache, CorruptObject
from ..storage.hashing import DIR_SUFFIX
from .workspace import Workspace

RESTORE_JOBS = 4  # outs restored at once (a big folder's restore has threads of its own too)


@dataclass
class CheckoutResult:
    restored: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    relinked: list[str] = field(default_factory=list)  # same bytes, now linked as cache.type asks
    missing: list[str] = field(default_factory=list)  # the cache lacks the locked bytes
    differs: list[str] = field(default_factory=list)  # of missing, those the workspace has other bytes of
    refused: list[str] = field(default_factory=list)  # differs, not in the cache: needs --force
    corrupt: list[str] = field(default_factory=list)  # a cache object's bytes do not match its hash
    unsafe: list[str] = field(default_factory=list)  # 'path: why': a symlink on its way leads outside

    @property
    def ok(self) -> bool:
        return not (self.missing or self.refused or self.corrupt or self.unsafe)

    @property
    def failed(self) -> int:
        return len(self.missing) + len(self.refused) + len(self.corrupt) + len(self.unsafe)


def checkout(
    ws: Workspace, targets: list[int] | None, force: bool = False, only_missing: bool = False
) -> CheckoutResult:
    """Restore every cached out whose workspace bytes differ from the lock; verify what it restores.
    An out whose bytes match but that is not linked as cache.type asks (a copy where hardlinks or
    symlinks are configured) is linked again from the cache.

    only_missing leaves every out that exists alone (repro --pull: an edited out stays stale).
    """
    entries = ws.locks.read()
    result = CheckoutResult()
    tree = Tree(ws.root)
    pending: list[_Restore] = []
    for index in select(ws.graph, targets):
        stage = ws.graph.stages[index]
        entry = entries.get(stage.name)
        cached = {out.path: out for out in stage.outs if out.cache}
        for record in entry.outs if entry else ():
            if only_missing and os.path.lexists(os.path.join(ws.root, record.path)):
                continue
            if record.path in cached:
                _checkout_one(ws, tree, record, force, result, pending, link=not cached[record.path].persist)
    for job in _restore(ws.cache, pending, result):
        ws.hasher.restored(
            job.path, job.digest, ws.cache.manifest(job.digest) if job.digest.endswith(DIR_SUFFIX) else None
        )
    return result


class _Restore(NamedTuple):
    """A restore decided on: the object, where it goes, and the list its path joins once done."""

    digest: str
    dest: str
    link: bool
    done: list[str]
    path: str


def _checkout_one(
    ws: Workspace, tree: Tree, record, force: bool, result: CheckoutResult, pending: list[_Restore], link: bool
) -> None:
    """Decide what the out needs (in this thread: the hasher and its state db are not shared);
    a restore or relink joins pending."""
    try:
        dest = tree.target(record.path)
    except UnsafePath as exc:
        result.unsafe.append(str(exc))
        return
    current = ws.hasher.info(record.path)
    try:
        if current is not None and current.hash == record.hash:
            # A copy is as cache.type asks whatever the cache holds: only links are looked at.
            relinkable = link and ws.cache.link_type in ("hardlink", "symlink")
            if relinkable and _has_all(ws.cache, record.hash) and not ws.cache.linked(record.hash, dest, link=link):
                pending.append(_Restore(record.hash, dest, link, result.relinked, record.path))
            else:
                result.unchanged.append(record.path)
        elif not _has_all(ws.cache, record.hash):
            result.missing.append(record.path)
            if current is not None:
                result.differs.append(record.path)
        elif current is not None and not force and not ws.cache.has(current.hash):
            result.refused.append(record.path)
        else:
            pending.append(_Restore(record.hash, dest, link, result.restored, record.path))
    except CorruptObject:
        result.corrupt.append(record.path)


def _restore(cache: Cache, pending: list[_Restore], result: CheckoutResult) -> list[_Restore]:
    """Make the restores decided, several outs side by side (a big file's copy, in the kernel,
    beside a folder's many small ones); each path joins its list in the order decided, or corrupt
    when its object turned out damaged. Returns the restores made."""

    def run(job: _Restore) -> bool:
        try:
            cache.checkout(job.digest, job.dest, link=job.link)
        except CorruptObject:
            return False
        return True

    if len(pending) < 2:
        done = [run(job) for job in pending]
    else:
        from ..system.interrupts import ordered, thread_pool

        with thread_pool(min(len(pending), RESTORE_JOBS), "checkout") as pool:
            done = ordered(pool, run, pending)
    for job, ok in zip(pending, done, strict=True):
        (job.done if ok else result.corrupt).append(job.path)
    return [job for job, ok in zip(pending, done, strict=True) if ok]


def _has_all(cache: Cache, digest: str) -> bool:
    """cache.has_all, a big directory's files found by listing the cache's two-character folders
    (Cache.present) instead of a stat each: 10,000 files are 256 listings."""
    if not digest.endswith(DIR_SUFFIX) or not cache.has(digest):
        return cache.has_all(digest)
    files = {file_digest for _, file_digest, _ in cache.manifest(digest)}
    return len(cache.present(list(files))) == len(files)
