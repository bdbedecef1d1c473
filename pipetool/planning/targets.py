"""Command-line targets to stages: a stage name or address, a foreach/matrix group, a pipeline
file, an out path, or a folder of pipeline files."""

from __future__ import annotations

import os
import posixpath

from ..errors import TargetError, did_you_mean
from ..pipeline.pipelines import PIPELINE_FILE, address
from .graph import Graph


def resolve(graph: Graph, targets: list[str], root: str, cwd: str | None = None) -> list[int]:
    """Stage indexes for targets, in the order given; unknown targets get suggestions.

    Paths, and a pipeline file before ':' (`sub/pipeline.yaml:train`), are relative to cwd, or,
    when that names nothing, to the project's root (as DVC users type them from a subfolder); a
    bare name is a stage of the project's pipeline.yaml, or else of the pipeline file in cwd.
    """
    chosen: dict[int, None] = {}
    for target in targets:
        for index in _resolve_one(graph, target, root, cwd or os.getcwd()):
            chosen[index] = None
    return list(chosen)


def default_file(files: list[str], root: str, cwd: str | None = None) -> str | None:
    """The pipeline file a command without targets takes, as DVC takes dvc.yaml of the current
    folder: the nearest at or above cwd (None outside the project, or with none there)."""
    folder = _project_path(".", root, cwd or os.getcwd())
    while folder is not None:
        file = PIPELINE_FILE if folder == "." else f"{folder}/{PIPELINE_FILE}"
        if file in files:
            return file
        folder = None if folder == "." else (posixpath.dirname(folder) or ".")
    return None


def of_file(graph: Graph, file: str) -> list[int]:
    return [i for i, stage in enumerate(graph.stages) if stage.file == file]


def _resolve_one(graph: Graph, target: str, root: str, cwd: str) -> list[int]:
    head, colon, name = target.partition(":")
    if colon and posixpath.basename(head.rstrip("/")) == PIPELINE_FILE:
        for file in candidates(head, root, cwd):
            found = _named(graph, address(file, name))
            if found:
                return found
    else:
        found = _named(graph, target)
        here = _project_path(PIPELINE_FILE, root, cwd)
        if not found and here is not None and here != PIPELINE_FILE:
            found = _named(graph, address(here, target))  # a stage of the pipeline file in cwd
        if found:
            return found
        for path in candidates(target, root, cwd):
            found = _of_path(graph, path)
            if found:
                return found
    groups = {stage.name.split("@", 1)[0] for stage in graph.stages if "@" in stage.name}
    choices = {c: None for c in [*graph.index, *sorted(groups), *graph.out_owner] if c != target}
    hint = (
        did_you_mean(target, choices)
        or "a target is a stage name, a pipeline file (or file:stage), an out path or a folder; see 'pipetool dag'"
    )
    raise TargetError(f"unknown target '{target}': no stage of that name makes that path", hint=hint)


def _named(graph: Graph, name: str) -> list[int]:
    """The stage of that name, or the stages of that foreach/matrix group."""
    if name in graph.index:
        return [graph.index[name]]
    return [i for i, s in enumerate(graph.stages) if s.name.split("@", 1)[0] == name]


def _of_path(graph: Graph, path: str) -> list[int]:
    """A pipeline file's stages; the stage making an out; those making outs inside a folder,
    else the stages of the pipeline files inside it."""
    if posixpath.basename(path) == PIPELINE_FILE:
        found = of_file(graph, path)
        if found:
            return found
    producer = graph.producer(path)
    if producer is not None:
        return [producer]
    prefix = "" if path == "." else path + "/"
    inside = sorted({i for out, i in graph.out_owner.items() if out.startswith(prefix)})
    if inside:
        return inside
    return [i for i, stage in enumerate(graph.stages) if stage.file.startswith(prefix)]


def candidates(target: str, root: str, cwd: str) -> list[str]:
    """A path target in the project: relative to cwd first, then relative to the project's root."""
    paths = [_project_path(target, root, cwd)]
    if not os.path.isabs(target):
        paths.append(_project_path(target, root, root))
    return list(dict.fromkeys(p for p in paths if p is not None))


def _project_path(target: str, root: str, cwd: str) -> str | None:
    full = os.path.normpath(os.path.join(cwd, target))
    rel = os.path.relpath(full, root)
    if rel == ".." or rel.startswith(".." + os.sep):
        return None
    return posixpath.normpath(rel.replace(os.sep, "/"))
