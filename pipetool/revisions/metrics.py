"""Metrics and params of the workspace or of a git revision, flattened to `a.b` keys."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import LockError, PipetoolError
from ..files.safepath import has_control_characters
from ..files.yamlfile import load_data
from ..pipeline.params import ParamsFiles, flatten
from ..pipeline.pipelines import files_of

if TYPE_CHECKING:  # the cache and the lock are read only for files git lacks: imported then
    from ..pipeline.source import Source
    from ..pipeline.stage import Stage
    from ..storage.cache import Cache

MAX_FOLDER_FILES = 10_000  # files one metrics, params or plots folder may hold


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


def folder_files(source: Source, path: str) -> list[str] | None:
    """The files inside path, recursively and sorted, when it is a folder of the project at this
    source (the working tree, or a git revision); None when it is not one (a file, or missing:
    the file's reader says why). DVC shows every file of a metrics, params or plots folder.

    A folder whose path or links lead out of the project is not listed (its reader refuses it);
    nor are linked folders inside it, nor names holding control characters (no file of a
    project has one; a terminal would obey them). PipetoolError when it holds more than
    MAX_FOLDER_FILES files."""
    if getattr(source, "is_revision", False):
        files = _revision_folder(source, path)
    else:
        files = _workspace_folder(source, path)
    if files is None:
        return None
    if len(files) > MAX_FOLDER_FILES:
        raise PipetoolError(f"a folder of more than {MAX_FOLDER_FILES} files: not read", file=path)
    return sorted(name for name in files if not has_control_characters(name))


def expand_folders(source: Source, paths: list[str] | tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    """(each path, a folder replaced by its files; why a folder could not be listed, by path)."""
    found: list[str] = []
    problems: dict[str, str] = {}
    for path in paths:
        try:
            files = folder_files(source, path)
        except PipetoolError as exc:
            problems[path] = exc.message
            continue
        found.extend([path] if files is None else files)
    return list(dict.fromkeys(found)), problems


def _workspace_folder(source: Source, path: str) -> list[str] | None:
    from ..pipeline.project import STATE_DIR

    top = os.path.join(source.root, path)
    if not os.path.isdir(top):
        return None
    check = getattr(source, "check", None)  # ProjectFiles: only folders inside the project
    if check is not None:
        try:
            check(path)
        except PipetoolError:
            return None
    files: list[str] = []
    for folder, subfolders, names in os.walk(top):  # never into linked folders
        subfolders[:] = [name for name in subfolders if name not in (".git", STATE_DIR)]
        relative = os.path.relpath(folder, source.root).replace(os.sep, "/")
        files.extend(f"{relative}/{name}" for name in names)
        if len(files) > MAX_FOLDER_FILES:
            break
    return files


def _revision_folder(source: Source, path: str) -> list[str] | None:
    """A folder's files at a git revision: git's tree of it, listed by `git ls-tree` (read
    only as far as the bound)."""
    import subprocess

    try:
        if not source.exists(path) or source.read_bytes(path) is not None:  # type: ignore[attr-defined]
            return None
    except PipetoolError:
        return None  # a link leading out of the revision: its reader says so
    tree = source.blob_id(path)  # type: ignore[attr-defined]
    if not tree or not all(c in "0123456789abcdef" for c in tree):
        return None
    command = ["git", "ls-tree", "-r", "-z", "--full-tree", tree]
    try:
        process = subprocess.Popen(command, cwd=source.root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except OSError:
        return None
    files: list[str] = []
    with process:
        assert process.stdout is not None
        rest = b""
        while len(files) <= MAX_FOLDER_FILES:
            chunk = process.stdout.read(1 << 16)
            if not chunk:
                break
            *records, rest = (rest + chunk).split(b"\0")
            files.extend(_tree_file(path, record) for record in records)
            files = [name for name in files if name]
        if len(files) > MAX_FOLDER_FILES:
            process.kill()
    if process.returncode != 0 and len(files) <= MAX_FOLDER_FILES:
        return None  # not a tree git can list: read as a file, whose reader says why
    return files


def _tree_file(folder: str, record: bytes) -> str:
    """The path of one `ls-tree -z` record ('<mode> <type> <id>\\t<name>') when it is a file
    (a blob: links too) with a UTF-8 name, else ''."""
    header, _, name = record.partition(b"\t")
    if header.split(b" ")[1:2] != [b"blob"]:
        return ""
    try:
        return f"{folder}/{name.decode('utf-8')}"
    except UnicodeDecodeError:
        return ""


def read_metrics(
    source: Source, stages: list[Stage], cache: Cache | None = None, files: tuple[str, ...] | list[str] = ()
) -> dict[str, FileValues]:
    """Every declared metrics file of these stages, and the files pipeline.yaml's top-level
    `metrics` lists, read through source; a folder among them stands for every file inside it.

    A file that git does not have at a revision (a cached out) is read from the cache by the
    hash that revision's pipeline.lock records; a cached folder, by its manifest.
    """
    return read_metric_files(source, [*metric_paths(stages), *files], lambda: cache)


def read_metric_files(
    source: Source, declared: list[str] | tuple[str, ...], cache_of: Callable[[], Cache | None]
) -> dict[str, FileValues]:
    """read_metrics of metrics files already listed (see declared.py); cache_of() gives the
    cache, asked for only when a revision's file is not in git."""
    paths, problems = expand_folders(source, declared)
    result = {path: FileValues(error=why) for path, why in problems.items()}
    for path in paths:
        cache = None
        try:
            text = source.read_text(path)
            if text is None and getattr(source, "is_revision", False):
                cache = cache_of()
                text, why = _from_cache(source, path, _FilesOnly(cache) if cache is not None else None)
            else:
                why = "missing (run 'pipetool repro')"
        except PipetoolError as exc:
            result[path] = FileValues(error=exc.message)
            continue
        except _CachedFolder as folder:
            result.update(_cached_folder(path, folder.digest, cache))
            continue
        result[path] = _parsed(text, path) if text is not None else FileValues(error=why)
    return result


def _parsed(text: str, path: str) -> FileValues:
    try:
        return FileValues(parse_metrics(text, path))
    except ValueError as exc:
        return FileValues(error=f"unreadable: {exc}")


class _CachedFolder(Exception):
    """The lock records a folder here: its files are in the cache, by its manifest."""

    def __init__(self, digest: str) -> None:
        super().__init__(digest)
        self.digest = digest


class _FilesOnly:
    """The cache as _from_cache reads it: a folder's manifest (a `.dir` object) is never read
    as a file's bytes, which do not hash to its name; Cache.read_bytes would call it corrupt
    and remove it from the cache. _CachedFolder says what it is instead."""

    def __init__(self, cache: Cache) -> None:
        self._cache = cache

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cache, name)

    def read_bytes(self, digest: str) -> bytes | None:
        from ..storage.hashing import DIR_SUFFIX

        if digest.endswith(DIR_SUFFIX):
            raise _CachedFolder(digest)
        return self._cache.read_bytes(digest)


def _cached_folder(path: str, digest: str, cache: Cache | None) -> dict[str, FileValues]:
    """Each file of a folder that a revision's lock records and the cache keeps, read from the
    cache (checked against its hash, as every cache read is)."""
    from ..storage.cache import CorruptObject

    try:
        entries = cache.manifest(digest) if cache is not None else None
    except (CorruptObject, FileNotFoundError):
        entries = None
    if entries is None:
        return {
            path: FileValues(
                error=f"not in git at this revision; its pipeline.lock names the folder "
                f"{digest}, which the cache does not have"
            )
        }
    if len(entries) > MAX_FOLDER_FILES:
        return {path: FileValues(error=f"a folder of more than {MAX_FOLDER_FILES} files: not read")}
    result = {}
    for relpath, file_digest, _ in entries:
        file = f"{path}/{relpath}"
        if has_control_characters(file):
            continue
        try:
            data = cache.read_bytes(file_digest)
        except CorruptObject:
            result[file] = FileValues(error=f"its cache object {file_digest} is corrupt")
            continue
        result[file] = (
            _parsed(data.decode("utf-8", errors="replace"), file)
            if data is not None
            else FileValues(error=f"not in git at this revision; the cache lacks its object {file_digest}")
        )
    return dict(sorted(result.items()))


def _from_cache(source: Source, path: str, cache: Cache | None) -> tuple[str | None, str]:
    """(text, or None with why) of a metrics file kept in the cache rather than in git."""
    from ..storage.cache import CorruptObject
    from ..storage.lock import read_all

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
        return None, (f"not in git at this revision; its pipeline.lock names {digest}, which the cache does not have")
    return data.decode("utf-8", errors="replace"), ""


def read_params(
    source: Source, stages: list[Stage], whole: tuple[str, ...] | list[str] = (), deps_only: bool = False
) -> dict[str, FileValues]:
    """Every key of the params files the stages use and of the `whole` files (pipeline.yaml's
    top-level `params`), as DVC's `params diff` lists them; deps_only: only the keys the stages
    use (DVC's --deps)."""
    files = ParamsFiles(source)
    whole_files, problems = expand_folders(source, () if deps_only else whole)
    wanted: dict[str, set[str] | None] = dict.fromkeys(whole_files)
    for stage in stages:
        for dep in stage.params:
            if not deps_only or dep.keys is None or wanted.get(dep.file, set()) is None:
                wanted[dep.file] = None
            else:
                wanted.setdefault(dep.file, set()).update(dep.keys)
    result = {path: FileValues(error=why) for path, why in problems.items()}
    for file, keys in sorted(wanted.items()):
        try:
            data = files.data(file)
        except PipetoolError as exc:
            result[file] = FileValues(error=exc.message)
            continue
        if keys is None:  # a whole file: its keys sorted, as the used keys below
            result[file] = FileValues(dict(sorted(flatten(data).items())) if isinstance(data, dict) else {})
            continue
        values: dict[str, Any] = {}
        for key in sorted(keys):
            try:
                values.update(flatten(files.value(file, key), key))
            except KeyError:
                pass  # absent at this revision: shown as '-'
        result[file] = FileValues(values)
    return result
