"""pipeline.yaml compiled once: the stages kept in .pipetool, keyed by the bytes they came from.

Parsing and checking a big pipeline.yaml dominates a no-op status; while pipeline.yaml, the
params and vars files it read are byte-for-byte the same, the stages are too.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import fields

import xxhash

from . import spec
from .lock import atomic_write_bytes
from .source import FileSource
from .stage import Out, Resources, Stage

CACHE_FILE = "spec.cache"
# Pickled stages are only good for the same shape of Stage, Out and Resources: a pipetool whose
# records gained or lost a field compiles afresh.
VERSION = repr((1, *([f.name for f in fields(record)] for record in (Stage, Out, Resources))))


class _Recording(FileSource):
    """A working-tree source that remembers which files were read or looked for."""

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.paths: set[str] = set()

    def read_text(self, relpath: str) -> str | None:
        self.paths.add(relpath)
        return super().read_text(relpath)

    def exists(self, relpath: str) -> bool:
        self.paths.add(relpath)
        return super().exists(relpath)


def _key(root: str, paths: list[str]) -> str:
    hasher = xxhash.xxh3_128(os.path.abspath(root).encode() + b"\0")  # paths are made relative to it
    for relpath in paths:
        try:
            with open(os.path.join(root, relpath), "rb") as handle:
                data = handle.read()
        except OSError:
            data = b"\0missing"
        hasher.update(f"{relpath}\0{len(data)}\0".encode() + data)
    return hasher.hexdigest()


def load(root: str, state_dir: str) -> list[Stage]:
    """The project's stages, from the cache when nothing they were compiled from changed."""
    path = os.path.join(state_dir, CACHE_FILE)
    try:
        with open(path, "rb") as handle:
            cached = pickle.load(handle)
        if cached["version"] == VERSION and cached["key"] == _key(root, cached["paths"]):
            return cached["stages"]
    except (OSError, pickle.UnpicklingError, EOFError, KeyError, TypeError, AttributeError, ValueError):
        pass  # no cache, or an unusable one: compile afresh
    source = _Recording(root)
    stages = spec.load(source)
    paths = sorted(source.paths)
    record = {"version": VERSION, "key": _key(root, paths), "paths": paths, "stages": stages}
    try:
        atomic_write_bytes(path, pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:
        pass
    return stages
