"""The stage graph: edges from deps to the outs that make them, order, and overlap errors."""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import GraphError
from ..pipeline.stage import Stage


def _parents(path: str) -> Iterable[str]:
    while "/" in path:
        path = path.rsplit("/", 1)[0]
        yield path


@dataclass(frozen=True)
class Graph:
    """Stages in definition order; upstream/downstream as lists of stage indexes."""

    stages: tuple[Stage, ...]
    upstream: tuple[tuple[int, ...], ...]
    downstream: tuple[tuple[int, ...], ...]
    order: tuple[int, ...]  # topological; definition order breaks ties
    index: dict  # stage name -> index
    out_owner: dict  # out path -> stage index
    sorted_outs: tuple[str, ...] = ()

    def producers_of(self, dep: str) -> list[int]:
        """Stages whose outs equal dep, contain it, or lie inside it."""
        return list(_owners_of_dep(dep, self.out_owner, self.sorted_outs))

    def stage(self, name: str) -> Stage:
        return self.stages[self.index[name]]

    def producer(self, path: str) -> int | None:
        """The stage whose out is path or contains it."""
        if path in self.out_owner:
            return self.out_owner[path]
        for parent in _parents(path):
            if parent in self.out_owner:
                return self.out_owner[parent]
        return None

    def closure(self, roots: Iterable[int], direction: str) -> set[int]:
        """roots and everything up- or downstream of them."""
        edges = self.upstream if direction == "up" else self.downstream
        seen: set[int] = set()
        todo = list(roots)
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo.extend(edges[node])
        return seen


def build(stages: list[Stage]) -> Graph:
    """Connect each dep to the stage whose out equals it, contains it, or lies inside it."""
    index = {stage.name: i for i, stage in enumerate(stages)}
    out_owner = _out_owners(stages)
    sorted_outs = sorted(out_owner)
    upstream: list[list[int]] = []
    for i, stage in enumerate(stages):
        producers: dict[int, None] = {}
        for dep in stage.deps:
            for owner in _owners_of_dep(dep, out_owner, sorted_outs):
                if owner == i:
                    raise GraphError(
                        f"depends on its own out '{dep}'",
                        file=stage.file,
                        line=stage.line,
                        stage=stage.name,
                        hint="a stage cannot read what it writes; use 'persist: true' on the out instead",
                    )
                producers[owner] = None
        upstream.append(list(producers))
    downstream: list[list[int]] = [[] for _ in stages]
    for i, ups in enumerate(upstream):
        for up in ups:
            downstream[up].append(i)
    order = _topological(stages, upstream, downstream)
    return Graph(
        stages=tuple(stages),
        upstream=tuple(tuple(u) for u in upstream),
        downstream=tuple(tuple(d) for d in downstream),
        order=tuple(order),
        index=index,
        out_owner=out_owner,
        sorted_outs=tuple(sorted_outs),
    )


def _out_owners(stages: list[Stage]) -> dict[str, int]:
    owners: dict[str, int] = {}
    for i, stage in enumerate(stages):
        for path in stage.out_paths:
            if path in owners:
                other = stages[owners[path]]
                raise GraphError(
                    f"out '{path}' is also an out of stage '{other.name}'",
                    file=stage.file,
                    line=stage.line,
                    stage=stage.name,
                    hint="each path is made by exactly one stage",
                )
            owners[path] = i
    for path, i in owners.items():
        for parent in _parents(path):
            if parent in owners:
                outer = stages[owners[parent]]
                stage = stages[i]
                where = "its own" if owners[parent] == i else f"stage '{outer.name}''s"
                raise GraphError(
                    f"out '{path}' lies inside {where} out '{parent}'",
                    file=stage.file,
                    line=stage.line,
                    stage=stage.name,
                    hint="outs may not overlap; make the inner path a dep, or split the folder",
                )
    return owners


def _owners_of_dep(dep: str, out_owner: dict[str, int], sorted_outs: list[str] | tuple[str, ...]) -> Iterable[int]:
    if dep in out_owner:
        yield out_owner[dep]
        return
    for parent in _parents(dep):
        if parent in out_owner:
            yield out_owner[parent]
            return
    prefix = dep + "/"
    at = bisect.bisect_left(sorted_outs, prefix)
    while at < len(sorted_outs) and sorted_outs[at].startswith(prefix):
        yield out_owner[sorted_outs[at]]
        at += 1


def _topological(stages: list[Stage], upstream: list[list[int]], downstream: list[list[int]]) -> list[int]:
    waiting = [len(set(ups)) for ups in upstream]
    ready = [i for i, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for down in dict.fromkeys(downstream[node]):
            waiting[down] -= 1
            if waiting[down] == 0:
                heapq.heappush(ready, down)
    if len(order) < len(stages):
        raise _cycle_error(stages, upstream, set(order))
    return order


def _cycle_error(stages: list[Stage], upstream: list[list[int]], done: set[int]) -> GraphError:
    start = min(i for i in range(len(stages)) if i not in done)
    path: list[int] = []
    position: dict[int, int] = {}
    node = start
    while node not in position:
        position[node] = len(path)
        path.append(node)
        node = min(u for u in upstream[node] if u not in done)
    cycle = path[position[node] :]
    cycle.reverse()  # follow data flow: producer -> consumer
    names = [stages[i].name for i in cycle] + [stages[cycle[0]].name]
    first = stages[cycle[0]]
    return GraphError(
        "the stages form a cycle: " + " -> ".join(names),
        file=first.file,
        line=first.line,
        hint="a stage's deps may not depend on its own outs, directly or through others",
    )
