"""Command-line targets to stages: a stage name, a foreach/matrix group, or an out path."""

from __future__ import annotations

import os
import posixpath

from .errors import TargetError, did_you_mean
from .graph import Graph


def resolve(graph: Graph, targets: list[str], root: str, cwd: str | None = None) -> list[int]:
    """Stage indexes for targets, in the order given; unknown targets get suggestions."""
    chosen: dict[int, None] = {}
    for target in targets:
        for index in _resolve_one(graph, target, root, cwd or os.getcwd()):
            chosen[index] = None
    return list(chosen)


def _resolve_one(graph: Graph, target: str, root: str, cwd: str) -> list[int]:
    if target in graph.index:
        return [graph.index[target]]
    group = [i for i, s in enumerate(graph.stages) if s.name.split("@", 1)[0] == target]
    if group:
        return group
    path = _project_path(target, root, cwd)
    if path is not None:
        producer = graph.producer(path)
        if producer is not None:
            return [producer]
        prefix = "" if path == "." else path + "/"
        inside = sorted({i for out, i in graph.out_owner.items() if out.startswith(prefix)})
        if inside:
            return inside
    choices = list(graph.index) + list(graph.out_owner)
    hint = did_you_mean(target, choices) or "a target is a stage name or an out path; see 'pipetool dag'"
    raise TargetError(f"unknown target '{target}': no stage of that name makes that path", hint=hint)


def _project_path(target: str, root: str, cwd: str) -> str | None:
    full = os.path.normpath(os.path.join(cwd, target))
    rel = os.path.relpath(full, root)
    if rel == ".." or rel.startswith(".." + os.sep):
        return None
    return posixpath.normpath(rel.replace(os.sep, "/"))
