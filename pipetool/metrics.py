"""Metrics and params of the workspace or of a git revision, flattened to `a.b` keys."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from .cache import Cache, CorruptObject
from .errors import LockError, PipetoolError
from .lock import read_all
from .pipelines import files_of
from .params import ParamsFiles, flatten
from .source import Source
from .stage import Stage
from .yamlfile import load_data


@dataclass
class FileValues:
    """One metrics or params file: its flattened values, or why they cannot be shown."""

    values: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def parse_metrics(text: str, path: str) -> dict[str, Any]:
    """Flatten a JSON, YAML or TOML metrics file; raises ValueError when it does not parse."""
    data = load_data(text, path)
    if isinstance(data, dict):
        return flatten(data)
    if isinstance(data, (int, float, str, bool)):
        return {"": data}
    raise ValueError("expected a mapping of metric names to values")


def metric_paths(stages: list[Stage]) -> list[str]:
    return [out.path for stage in stages for out in stage.outs if out.kind == "metric"]


def read_metrics(source: Source, stages: list[Stage], cache: Cache | None = None,
                 files: tuple[str, ...] | list[str] = ()) -> dict[str, FileValues]:
    """Every declared metrics file of these stages, and the files pipeline.yaml's top-level
    `metrics` lists, read through source.

    A file that git does not have at a revision (a cached out) is read from the cache by the
    hash that revision's pipeline.lock records.
    """
    result: dict[str, FileValues] = {}
    for path in dict.fromkeys([*metric_paths(stages), *files]):
        try:
            text = source.read_text(path)
            if text is None and getattr(source, "is_revision", False):
                text, why = _from_cache(source, path, cache)
            else:
                why = "missing (run 'pipetool repro')"
        except PipetoolError as exc:
            result[path] = FileValues(error=exc.message)
            continue
        if text is None:
            result[path] = FileValues(error=why)
            continue
        try:
            result[path] = FileValues(parse_metrics(text, path))
        except ValueError as exc:
            result[path] = FileValues(error=f"unreadable: {exc}")
    return result


def _from_cache(source: Source, path: str, cache: Cache | None) -> tuple[str | None, str]:
    """(text, or None with why) of a metrics file kept in the cache rather than in git."""
    try:
        entries = read_all(source, files_of(source))
    except LockError:
        entries = {}
    records = [r for e in entries.values() for r in e.outs if r.path == path]
    if not records:
        return None, "not in git at this revision, and its pipeline.lock does not record it"
    digest = records[0].hash
    if cache is not None and os.path.islink(cache.path(digest)):  # pipetool makes none; a clone can commit one
        return None, f"its cache object {digest} is a symlink: not read"
    try:
        data = cache.read_bytes(digest) if cache is not None else None
    except CorruptObject:
        return None, f"its cache object {digest} is corrupt"
    if data is None:
        return None, (f"not in git at this revision; its pipeline.lock names {digest}, "
                      "which the cache does not have")
    return data.decode("utf-8", errors="replace"), ""


def read_params(source: Source, stages: list[Stage], whole: tuple[str, ...] | list[str] = ()) -> dict[str, FileValues]:
    """The params the stages use, per params file, and every key of the `whole` files
    (pipeline.yaml's top-level `params`, which DVC shows whether or not a stage uses them)."""
    files = ParamsFiles(source)
    wanted: dict[str, set[str] | None] = dict.fromkeys(whole)
    for stage in stages:
        for dep in stage.params:
            if dep.keys is None or wanted.get(dep.file, set()) is None:
                wanted[dep.file] = None
            else:
                wanted.setdefault(dep.file, set()).update(dep.keys)
    result: dict[str, FileValues] = {}
    for file, keys in sorted(wanted.items()):
        try:
            data = files.data(file)
        except PipetoolError as exc:
            result[file] = FileValues(error=exc.message)
            continue
        if keys is None:
            result[file] = FileValues(flatten(data) if isinstance(data, dict) else {})
            continue
        values: dict[str, Any] = {}
        for key in sorted(keys):
            try:
                values.update(flatten(files.value(file, key), key))
            except KeyError:
                pass  # absent at this revision: shown as '-'
        result[file] = FileValues(values)
    return result
