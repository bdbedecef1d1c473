"""Pure planning: which stages a command covers, and which may start as others finish."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable

from .graph import Graph


def select(graph: Graph, targets: Iterable[int] | None, *, single: bool = False, downstream: bool = False) -> list[int]:
    """Stage indexes in topological order: the targets with their upstream (or downstream)."""
    if targets is None:
        chosen = set(range(len(graph.stages)))
    elif single:
        chosen = set(targets)
    else:
        chosen = graph.closure(targets, "down" if downstream else "up")
    return [i for i in graph.order if i in chosen]


class Schedule:
    """A stage is ready once every selected stage upstream of it has finished.

    When a stage fails, everything downstream of it in the selection is skipped.
    """

    def __init__(self, graph: Graph, selected: list[int]) -> None:
        self.graph = graph
        self.position = {stage: pos for pos, stage in enumerate(selected)}
        self.waiting = {i: len({u for u in graph.upstream[i] if u in self.position}) for i in selected}
        self.ready: list[int] = [self.position[i] for i in selected if self.waiting[i] == 0]
        heapq.heapify(self.ready)
        self.order = selected
        self.unfinished = set(selected)
        self.skipped: set[int] = set()
        self.started: set[int] = set()

    def pop_ready(self, fits: Callable[[int], bool] | None = None, before: int | None = None) -> int | None:
        """The first ready stage in definition order that fits (all fit without `fits`), or None.

        A stage that does not fit yet stays ready and lets a later one that fits go first. With
        `before` (a stage still finishing), only a stage that would come first even once that one
        has finished: starting it early keeps the order a run would have had without it.
        """
        limit = len(self.order) if before is None else self._first_unblocked(before)
        passed: list[int] = []
        found = None
        while self.ready and self.ready[0] < limit:
            position = heapq.heappop(self.ready)
            stage = self.order[position]
            if stage in self.skipped:
                continue
            if fits is None or fits(stage):
                found = stage
                self.started.add(stage)
                break
            passed.append(position)
        for position in passed:
            heapq.heappush(self.ready, position)
        return found

    def _first_unblocked(self, stage: int) -> int:
        """The position of the first stage that stage's finishing would make ready."""
        return min(
            (
                self.position[down]
                for down in self.graph.downstream[stage]
                if self.waiting.get(down) == 1 and down not in self.skipped
            ),
            default=len(self.order),
        )

    def finish(self, stage: int, ok: bool = True) -> list[int]:
        """Mark stage done; returns the stages skipped because it failed."""
        self.unfinished.discard(stage)
        if not ok:
            return self._skip_downstream(stage)
        for down in dict.fromkeys(self.graph.downstream[stage]):
            if down in self.waiting:
                self.waiting[down] -= 1
                if self.waiting[down] == 0 and down not in self.skipped:
                    heapq.heappush(self.ready, self.position[down])
        return []

    def _skip_downstream(self, stage: int) -> list[int]:
        skipped = []
        for down in self.graph.closure([stage], "down") - {stage}:
            if down in self.unfinished and down not in self.skipped:
                self.skipped.add(down)
                self.unfinished.discard(down)
                skipped.append(down)
        return sorted(skipped, key=self.position.__getitem__)

    def abandon(self) -> list[int]:
        """Give up on every stage not started yet (stop after a failure without -k)."""
        left = sorted(self.unfinished - self.started, key=self.position.__getitem__)
        self.unfinished -= set(left)
        self.skipped.update(left)
        self.ready.clear()
        return left

    @property
    def done(self) -> bool:
        return not self.unfinished
