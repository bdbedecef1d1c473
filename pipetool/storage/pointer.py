"""Pointer files: the committed record of a path that `pipetool add` tracks and no stage makes.

`data/images.pipetool` is DVC 3's `data/images.dvc` with pipetool's hash key (as pipeline.lock
writes it): one out, its path relative to the pointer file's folder. DVC's optional keys are
read and written back as they were. Inside pipetool a pointer file is a data stage addressed by
its own path: no cmd, no deps, one out, and its lock entry is the pointer's `outs`.

Pointer files come from clones: they are read as untrusted input, like pipeline.lock.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from ..errors import LockError, SpecError
from ..files import safepath, yamlfile
from ..files.fsutil import atomic_write, read_regular
from ..pipeline.pipelines import POINTER_SUFFIX, folder_of, is_pointer
from ..pipeline.stage import Out, Stage
from .lock import LockEntry, PathRecord, record_problem

MAX_POINTER_BYTES = 1 << 20  # a pointer holds one record and a few notes
TOP_KEYS = ("desc", "meta", "frozen")  # DVC's optional top-level keys, kept on rewrite
OUT_KEYS = ("desc", "type", "labels", "meta", "cache", "push")  # DVC's optional keys of an out
_RECORD_KEYS = ("path", "xxh3", "size", "nfiles")
_HINT = "fix it, or track the path anew with 'pipetool add'"


@dataclass(frozen=True)
class Pointer:
    file: str  # the pointer file, project-relative
    record: PathRecord  # the tracked path, project-relative, with its hash and size
    top: tuple[tuple[str, Any], ...] = ()  # kept optional top-level keys, in TOP_KEYS order
    extra: tuple[tuple[str, Any], ...] = ()  # kept optional keys of the out, in OUT_KEYS order
    line: int = 1  # where the out is written

    @property
    def path(self) -> str:
        return self.record.path

    @property
    def cache(self) -> bool:
        return dict(self.extra).get("cache", True) is not False

    @property
    def push(self) -> bool:
        """DVC's `push: false`: `push` leaves the data on this machine."""
        return dict(self.extra).get("push", True) is not False

    @property
    def frozen(self) -> bool:
        return dict(self.top).get("frozen") is True

    def entry(self) -> LockEntry:
        """Its lock entry: the data stage's one out."""
        return LockEntry(cmd=(), outs=(self.record,))

    def stage(self) -> Stage:
        """Its data stage: no cmd, no deps, one out."""
        desc = dict(self.top).get("desc")
        return Stage(
            name=self.file,
            cmd=(),
            outs=(Out(self.path, cache=self.cache),),
            frozen=self.frozen,
            desc=desc if isinstance(desc, str) else None,
            line=self.line,
        )

    def with_record(self, record: PathRecord) -> Pointer:
        return replace(self, record=record)


def pointer_of(path: str) -> str:
    """The pointer file of a tracked path: `data/images` -> `data/images.pipetool`."""
    return path + POINTER_SUFFIX


def new(path: str, record: PathRecord) -> Pointer:
    return Pointer(pointer_of(path), record)


def parse(text: str, file: str) -> Pointer:
    """A pointer file's content, checked as untrusted input; LockError naming the file and line."""

    def fail(message: str, line: int | None) -> LockError:
        return LockError(message, file=file, line=line, hint=_HINT)

    try:
        data = yamlfile.parse(text, file, max_bytes=MAX_POINTER_BYTES)
    except SpecError as exc:
        raise LockError(exc.message, file=exc.file, line=exc.line, column=exc.column, hint=_HINT) from None
    if not isinstance(data, dict) or not isinstance(data.get("outs"), list):
        raise fail("not a pointer file (expected 'outs:' with one path)", getattr(data, "line", 1) or 1)
    outs = data["outs"]
    if len(outs) != 1 or not isinstance(outs[0], dict):
        raise fail("a pointer file records exactly one out (path, xxh3, size)", data.line_of("outs"))
    out = outs[0]
    unknown = [key for key in out if key not in _RECORD_KEYS + OUT_KEYS]
    if unknown or "md5" in out:
        key = "md5" if "md5" in out else unknown[0]
        raise fail(f"unknown key '{key}' in the out (pipetool records 'xxh3')", out.line_of(key))
    for key in data:
        if key != "outs" and key not in TOP_KEYS:
            raise fail(f"unknown key '{key}'", data.line_of(key))
    written = out.get("path")
    try:
        safepath.clean(written)
    except safepath.UnsafePath as exc:
        raise fail(
            f"the tracked path {exc}: it must be clean, relative to the pointer file's folder and inside the project",
            out.line_of("path"),
        ) from None
    folder = folder_of(file)
    in_project = written if folder == "." else posixpath.join(folder, written)
    parts = {part.casefold() for part in f"{file}/{in_project}".split("/")}  # .GIT is .git where case is ignored
    if safepath.PRIVATE_FOLDERS.intersection(parts) or is_pointer(in_project):
        raise fail(f"pipetool does not track '{in_project}'", out.line_of("path"))
    problem = record_problem(in_project, out.get("xxh3"), out.get("size"), out.get("nfiles"))
    if problem is not None:
        raise fail(problem[1], out.line_of(problem[0]))
    if out.get("nfiles") is not None and not out["xxh3"].endswith(".dir"):
        raise fail("'nfiles' is for a folder's hash (ending in '.dir')", out.line_of("nfiles"))
    for flag in ("cache", "push"):
        if flag in out and not isinstance(out[flag], bool):
            raise fail(f"'{flag}' must be true or false, not {out[flag]!r}", out.line_of(flag))
    if "frozen" in data and not isinstance(data["frozen"], bool):
        raise fail(f"'frozen' must be true or false, not {data['frozen']!r}", data.line_of("frozen"))
    return Pointer(
        file=file,
        record=PathRecord(in_project, out["xxh3"], out["size"], out.get("nfiles")),
        top=tuple((key, _plain(data[key])) for key in TOP_KEYS if key in data),
        extra=tuple((key, _plain(out[key])) for key in OUT_KEYS if key in out),
        line=out.line_of("path"),
    )


def _plain(value: Any) -> Any:
    """Parsed YAML as plain dicts and lists (kept in pickles and written back)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def render(pointer: Pointer) -> str:
    """The pointer file's text: the same pointer always gives the same bytes."""
    record = pointer.record
    out: dict[str, Any] = {
        "path": posixpath.relpath(record.path, folder_of(pointer.file)),
        "xxh3": record.hash,
        "size": record.size,
    }
    if record.nfiles is not None:
        out["nfiles"] = record.nfiles
    out.update(pointer.extra)
    return yamlfile.dump({"outs": [out], **dict(pointer.top)})


def read(root: str, file: str) -> Pointer | None:
    """A pointer file of the working tree (a regular file, never followed through a link), or None."""
    text = read_text(root, file)
    return parse(text, file) if text is not None else None


def read_text(root: str, file: str) -> str | None:
    """A pointer file's text, as read() reads it, unparsed."""
    try:
        data = read_regular(os.path.join(root, file), MAX_POINTER_BYTES + 1)
    except OSError as exc:
        raise LockError(f"cannot read it: {exc.strerror or exc}", file=file, hint=_HINT) from None
    return data.decode("utf-8", errors="replace") if data is not None else None


def read_at(source: Any, file: str) -> Pointer | None:
    """A pointer file through a source (a git revision, the working tree), or None."""
    text = source.read_text(file)
    return parse(text, file) if text is not None else None


def stages_at(source: Any, files: list[str]) -> list[Stage]:
    """The data stages of the pointer files among files (pipelines.files_of's), read through source."""
    found = (read_at(source, file) for file in files if is_pointer(file))
    return [tracked.stage() for tracked in found if tracked is not None]


def not_pushed(names: Iterable[str], text_of: Callable[[str], str | None]) -> set[str]:
    """The data stages among names whose pointer file (its text as text_of reads it: the
    working tree's or a revision's) says `push: false`. A text with neither the word `push` nor a
    backslash (an escape could spell it) cannot, and is not parsed: a no-op push of tracked data
    reads its entries from the lock layer's kept parses and need not import YAML (~10 ms)."""
    found = set()
    for name in names:
        text = text_of(name) if is_pointer(name) else None
        if text is not None and ("push" in text or "\\" in text) and not parse(text, name).push:
            found.add(name)
    return found


def write(root: str, pointer: Pointer) -> bool:
    """Write the pointer file when its text changes; whether it did."""
    full = safepath.Tree(root).target(pointer.file)
    text = render(pointer)
    try:
        if read_regular(full, MAX_POINTER_BYTES + 1) == text.encode():
            return False
    except OSError:
        pass  # written anew below
    atomic_write(full, text)
    return True
