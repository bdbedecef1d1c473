"""pipeline.yaml compiled once: the stages, their graph and the params they use, kept in
.pipetool and keyed by the bytes they came from.

Parsing and checking a big pipeline.yaml dominates a no-op status; while pipeline.yaml, the
params and vars files it read are byte-for-byte the same, the stages are too. A hit needs no
YAML parser at all (not even its import, nor that of the compiler, pipeline/spec.py). What only
a recompile reuses (each file's builds, see spec.load's `reuse`) is kept apart, in spec.builds,
so a hit does not read it: for a thousand pipeline files it was most of spec.cache.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, fields
from typing import Any

import xxhash

from ..errors import SpecError
from ..files import stamps, trusted_cache
from ..pipeline import pipelines
from ..pipeline.params import ParamsFiles
from ..pipeline.project import ProjectFiles
from ..pipeline.stage import Out, Resources, Stage
from . import graph as graph_mod
from .graph import Graph

CACHE_FILE = "spec.cache"
PARSED_FILE = "spec.parsed"
BUILDS_FILE = "spec.builds"  # read only to recompile
# Pickled stages are only good for the same shape of Stage, Out and Resources: a pipetool whose
# records gained or lost a field compiles afresh.
VERSION = repr((8, *([f.name for f in fields(record)] for record in (Stage, Out, Resources))))


class _Recording(ProjectFiles):
    """The project's files (none outside it: see ProjectFiles), remembering which were read or
    looked for."""

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.paths: set[str] = set()

    def read_text(self, relpath: str) -> str | None:
        self.paths.add(relpath)
        return super().read_text(relpath)

    def exists(self, relpath: str) -> bool:
        self.paths.add(relpath)
        return super().exists(relpath)


# relpath -> its stamp and the digest of its bytes; for a missing file, its folder's time instead
# of a stamp (None when the walk had none to trust)
Seen = dict[str, tuple[stamps.Stamp | int | None, str]]


def _key(root: str, paths: list[str], kept: Seen, folders: dict[str, int] | None = None) -> tuple[str, Seen]:
    """What the stages were compiled from, and each file's stamp and digest: a file whose stamp is
    the kept one is not read (a thousand pipeline files would otherwise be read by every command).
    A file that was missing is still missing while its folder's time is the one the walk saw
    then (folders: pipelines.walked's times of this walk): nothing was added to the folder since
    (each folder's params.yaml, looked for); else it costs one stat."""
    seen: Seen = {}
    base = os.path.join(root, "")
    folders = folders or {}
    for relpath in paths:
        full = base + relpath
        before = kept.get(relpath)
        if before is not None and before[1] == _MISSING:
            slash = relpath.rfind("/")
            folder_time = folders.get(relpath[: slash + 1])
            if folder_time is not None and before[0] == folder_time:
                seen[relpath] = before
                continue
            if not _exists(full):
                seen[relpath] = (folder_time, _MISSING)
                continue
        now, digest = stamps.unchanged(full, before)
        if digest is None:
            data = _file_bytes(full)
            digest = xxhash.xxh3_128_hexdigest(data)
            if data is _NOTHING and not _exists(full):
                now = folders.get(relpath[: relpath.rfind("/") + 1])
        seen[relpath] = (now, digest)
    text = "".join(f"{relpath}\0{digest}\0" for relpath, (_, digest) in seen.items())
    # The root first: the kept paths are relative to it.
    return xxhash.xxh3_128_hexdigest(os.path.abspath(root).encode() + b"\0" + text.encode()), seen


def _worth_keeping(seen: Seen, kept: Seen) -> bool:
    """Whether new entries save the next command work: a file read again (racy last time, or
    touched) now has a stamp, a missing one a folder time, to trust. A stamp or folder time from
    the last two seconds cannot be trusted, so the next command looks again either way: keeping
    it would rewrite a thousand pipeline files' stages after each repro that wrote outs into a
    folder, for nothing."""
    return any(now[0] is not None and now != kept.get(relpath) for relpath, now in seen.items())


def _exists(path: str) -> bool:
    """Whether anything is at path (not followed through a link), as _file_bytes would find it."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    return True


_NOTHING = b"\0missing"  # the bytes of a file that is not there
_MISSING = xxhash.xxh3_128_hexdigest(_NOTHING)


def _file_bytes(path: str) -> bytes:
    """A regular file's bytes. Not a device or pipe: a checkout can turn params.yaml into a link
    to /dev/zero, which would be read for ever (compiling then refuses it: see ProjectFiles)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return _NOTHING
    with open(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b"\0not a file"
        return handle.read()


@dataclass
class Compiled:
    stages: list[Stage]
    graph: Graph
    params: ParamsFiles
    files: list[str]  # the pipeline files, the root's first, then the pointer files (see pipelines.py)
    warnings: tuple[str, ...] = ()  # what loading took but does not act on (spec.load), one line each


def load(root: str, state_dir: str, files: list[str] | None = None, allow_empty: bool = False) -> Compiled:
    """The project's stages, graph and params, from the cache when nothing they were compiled
    from changed. files: the pipeline and pointer files (default: those pipelines.discover
    finds); a pointer file gives its data stage (storage/pointer.py). allow_empty: a project
    with neither is one with no stages, not an error (`pipetool add` starts one)."""
    folders: dict[str, int] = {}
    if files is None:
        files, folders = pipelines.walked(root, state_dir)
    if not files and not allow_empty:
        raise SpecError(
            "no pipeline.yaml in this project",
            file=pipelines.PIPELINE_FILE,
            hint="create one with a 'stages:' mapping, or run pipetool from the project's folder",
        )
    path = os.path.join(state_dir, CACHE_FILE)
    cached = _read(path)
    lenient = allow_empty or bool(pipelines.pointer_files(files))  # an empty pipeline.yaml is no error
    if cached and cached["files"] == files and (lenient or not cached.get("lenient")):
        key, seen = _key(root, cached["paths"], cached["seen"], folders)
        if key == cached["key"]:
            if _worth_keeping(seen, cached["seen"]):
                _write(path, {**cached, "seen": seen})
            return Compiled(
                cached["stages"],
                cached["graph"],
                ParamsFiles(ProjectFiles(root), cached["params"]),
                files,
                cached["warnings"],
            )
    from ..pipeline import config, spec  # a hit needs none of it

    source = _Recording(root)
    params = ParamsFiles(source)
    parsed = _parsed_pipelines(source, files, os.path.join(state_dir, PARSED_FILE))
    here = os.path.abspath(root)
    builds_path = os.path.join(state_dir, BUILDS_FILE)
    kept_builds = _read(builds_path) if cached and cached["root"] == here else None
    earlier = kept_builds["builds"] if kept_builds and kept_builds.get("key") == cached["key"] else {}
    builds: dict[str, tuple[str | None, spec.Builds]] = {}
    stages: list[Stage] = []
    warnings: list[str] = []
    parsing = config.parsing(state_dir)
    pointers = pipelines.pointer_files(files)
    for file in pipelines.pipeline_files(files):
        data, digest = parsed[file]
        if data is None and digest is not None and lenient:
            continue  # an empty pipeline.yaml (as `pipetool init` writes) beside tracked data
        reuse = earlier.get(file)
        builds[file] = (digest, spec.Builds())
        stages += spec.load(
            source,
            file,
            parsed=data,
            params=params,
            reuse=reuse[1] if reuse and reuse[0] == digest else None,
            builds=builds[file][1],
            parsing=parsing,
            warnings=warnings,
        )
    stages += _data_stages(source, pointers)
    graph = graph_mod.build(stages)
    for file in sorted({param.file for stage in stages for param in stage.params}):
        try:
            params.data(file)
        except SpecError:
            pass  # reported when a command needs the file; not kept meanwhile
    # The config's parsing settings shape the cmds: its files are part of the key too.
    paths = sorted(source.paths | {os.path.relpath(file, root) for file in config.files(state_dir)})
    key, seen = _key(root, paths, {}, folders)
    # The builds first: they belong to the spec.cache of this key (a run killed between the two
    # writes leaves builds that no spec.cache's key names, which a recompile does not take).
    _write(builds_path, {"version": VERSION, "key": key, "builds": builds})
    _write(
        path,
        {
            "version": VERSION,
            "key": key,
            "seen": seen,
            "paths": paths,
            "files": files,
            "stages": stages,
            "graph": graph,
            "params": params.parsed(),
            "root": here,
            "warnings": tuple(warnings),
            "lenient": lenient,
        },
    )
    params.source = ProjectFiles(root)
    return Compiled(stages, graph, params, files, tuple(warnings))


def _parsed_pipelines(source: _Recording, files: list[str], path: str) -> dict[str, tuple[Any, str | None]]:
    """Each pipeline file's YAML and the digest of its bytes, kept apart by them: when only a
    params file changed (the usual edit), a big pipeline is not parsed again."""
    from ..pipeline import spec

    cached = _read(path)
    known = cached["files"] if cached and isinstance(cached.get("files"), dict) else {}
    result: dict[str, tuple[Any, str | None]] = {}
    changed = False
    files = pipelines.pipeline_files(files)
    for file in files:
        text = source.read_text(file)
        if text is None:
            result[file] = (None, None)  # spec.load says what is missing
            continue
        digest = xxhash.xxh3_128_hexdigest(text.encode())
        if file in known and known[file][0] == digest:
            result[file] = (known[file][1], digest)
            continue
        result[file] = (spec.parse_file(source, file), digest)
        changed = True
    if changed or set(known) != set(files):
        _write(path, {"version": VERSION, "files": {f: (d, data) for f, (data, d) in result.items()}})
    return result


def _data_stages(source: _Recording, files: list[str]) -> list[Stage]:
    """The data stage of each pointer file (read through source, so its bytes are in the key)."""
    from ..storage import pointer

    stages = []
    for file in files:
        text = source.read_text(file)
        if text is not None:  # gone since the walk
            stages.append(pointer.parse(text, file).stage())
    return stages


def _read(path: str) -> dict | None:
    cached = trusted_cache.load(path, os.path.basename(path))
    if isinstance(cached, dict) and cached.get("version") == VERSION:
        return cached
    return None  # no cache, an unusable one, or one this user's pipetool did not write: compile afresh


def _write(path: str, record: dict) -> None:
    trusted_cache.save(path, os.path.basename(path), record)
