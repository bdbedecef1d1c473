"""Where to draw each stage of the graph: layers by longest path from the sources, left to right,
and an order within each layer that crosses few edges (barycenter sweeps). Pure; linear in the
stages and edges per sweep, plus a sort per layer, so 1,000 stages take milliseconds."""

from __future__ import annotations

from dataclasses import dataclass

from .graph import Graph

SWEEPS = 4  # down and up passes of the barycenter heuristic


@dataclass(frozen=True)
class Layout:
    """x: the layer (0 for stages with no upstream), y: the row within the drawing, per stage index
    of the selection; rows of a layer shorter than the tallest are centred on it."""

    x: dict[int, int]
    y: dict[int, float]
    layers: int
    rows: int  # the tallest layer's stages


def layered(graph: Graph, selected: list[int] | None = None) -> Layout:
    """The layout of the selected stages (all by default; topological order, as select gives)."""
    order = list(graph.order) if selected is None else selected
    chosen = set(order)
    ups = {i: [u for u in dict.fromkeys(graph.upstream[i]) if u in chosen] for i in order}
    downs = {i: [d for d in dict.fromkeys(graph.downstream[i]) if d in chosen] for i in order}
    layer: dict[int, int] = {}
    for i in order:  # every upstream stage comes first
        layer[i] = 1 + max((layer[u] for u in ups[i]), default=-1)
    count = 1 + max(layer.values(), default=-1)
    layers: list[list[int]] = [[] for _ in range(count)]
    for i in order:
        layers[layer[i]].append(i)
    position = {i: rank for column in layers for rank, i in enumerate(column)}
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        columns = range(1, count) if down else range(count - 2, -1, -1)
        neighbours = ups if down else downs
        for c in columns:
            _reorder(layers[c], neighbours, position)
    rows = max((len(column) for column in layers), default=0)
    y = {i: rank + (rows - len(column)) / 2 for column in layers for rank, i in enumerate(column)}
    return Layout(x=layer, y=y, layers=count, rows=rows)


def _reorder(column: list[int], neighbours: dict[int, list[int]], position: dict[int, int]) -> None:
    """Sort a layer by the mean position of each stage's neighbours in the layer swept from; a
    stage without any there keeps its place (ties keep the earlier order)."""
    keys = {}
    for rank, i in enumerate(column):
        near = neighbours[i]
        keys[i] = sum(position[n] for n in near) / len(near) if near else rank
    column.sort(key=lambda i: keys[i])
    for rank, i in enumerate(column):
        position[i] = rank


def crossings(graph: Graph, layout: Layout) -> int:
    """How many pairs of edges between adjacent layers cross (for tests and comparisons); edges
    that skip layers are counted between their ends' rows."""
    edges = [(u, d) for d in layout.x for u in graph.upstream[d] if u in layout.x]
    found = 0
    for a, (u1, d1) in enumerate(edges):
        for u2, d2 in edges[a + 1 :]:
            if (layout.x[u1], layout.x[d1]) != (layout.x[u2], layout.x[d2]):
                continue
            if (layout.y[u1] - layout.y[u2]) * (layout.y[d1] - layout.y[d2]) < 0:
                found += 1
    return found
