"""Garbage collection: cache objects and run-cache entries that no kept lock needs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .cache import CorruptObject
from .hashing import DIR_SUFFIX
from .lock import LockEntry, parse
from .runcache import out_hashes
from .workspace import Workspace


@dataclass
class Garbage:
    objects: list[tuple[str, int]] = field(default_factory=list)  # (hash, size)
    runs: list[str] = field(default_factory=list)  # keys of run-cache entries

    @property
    def size(self) -> int:
        return sum(size for _, size in self.objects)


def referenced(ws: Workspace, locks: Iterable[dict[str, LockEntry]]) -> set[str]:
    """Hashes of every out in the locks, with the files of directory manifests."""
    hashes: set[str] = set()
    for entries in locks:
        for entry in entries.values():
            hashes.update(record.hash for record in entry.outs)
    for digest in [h for h in hashes if h.endswith(DIR_SUFFIX) and ws.cache.has(h)]:
        try:
            hashes.update(file_digest for _, file_digest, _ in ws.cache.manifest(digest))
        except CorruptObject:
            pass  # its files stay unreferenced; checkout reports the manifest itself
    return hashes


def find_garbage(ws: Workspace, revision_lock_texts: Iterable[str] = ()) -> Garbage:
    """What gc would remove: objects no kept lock names, and run-cache entries naming them."""
    locks = [ws.locks.read()] + [parse(text) for text in revision_lock_texts]
    keep = referenced(ws, locks)
    garbage = Garbage(objects=[(h, size) for h, size in ws.cache.objects() if h not in keep])
    runs = ws.runs.records()  # well-formed ones: the others go too
    garbage.runs = [key for key in ws.runs.keys()
                    if key not in runs or not {digest for _, digest, _ in out_hashes(runs[key])} <= keep]
    return garbage


def collect(ws: Workspace, garbage: Garbage) -> None:
    for digest, _ in garbage.objects:
        ws.cache.remove(digest)
    ws.runs.remove(garbage.runs)
