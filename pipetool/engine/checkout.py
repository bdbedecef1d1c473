"""Checkout: make the workspace's outs match pipeline.lock, from the cache."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..files.safepath import Tree, UnsafePath
from ..planning.plan import select
from ..storage.cache import CorruptObject
from .workspace import Workspace


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
    for index in select(ws.graph, targets):
        stage = ws.graph.stages[index]
        entry = entries.get(stage.name)
        cached = {out.path: out for out in stage.outs if out.cache}
        for record in entry.outs if entry else ():
            if only_missing and os.path.lexists(os.path.join(ws.root, record.path)):
                continue
            if record.path in cached:
                _checkout_one(ws, tree, record, force, result, link=not cached[record.path].persist)
    return result


def _checkout_one(ws: Workspace, tree: Tree, record, force: bool, result: CheckoutResult, link: bool) -> None:
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
            if relinkable and ws.cache.has_all(record.hash) and not ws.cache.linked(record.hash, dest, link=link):
                ws.cache.checkout(record.hash, dest, link=link)
                result.relinked.append(record.path)
            else:
                result.unchanged.append(record.path)
        elif not ws.cache.has_all(record.hash):
            result.missing.append(record.path)
            if current is not None:
                result.differs.append(record.path)
        elif current is not None and not force and not ws.cache.has(current.hash):
            result.refused.append(record.path)
        else:
            ws.cache.checkout(record.hash, dest, link=link)
            result.restored.append(record.path)
    except CorruptObject:
        result.corrupt.append(record.path)
