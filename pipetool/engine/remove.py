"""`remove`: take stages out of their pipeline file, or tracked data's pointer files out of the
project, with their lock entries and .gitignore lines; the data itself only when asked.

A stage leaves its pipeline file line by line (yamledit.remove_entries), so the rest of the file
keeps its comments and layout. A foreach/matrix group goes as a whole: its members are written by
one entry, so removing one member alone cannot be written down.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field

from ..errors import SpecError, TargetError, did_you_mean
from ..files import yamlfile
from ..files.fsutil import atomic_write, read_text
from ..files.safepath import Tree, UnsafePath
from ..pipeline.pipelines import PIPELINE_FILE, POINTER_SUFFIX, address, split
from ..pipeline.yamledit import remove_entries
from ..planning.targets import candidates, default_file
from ..storage import gitignore
from ..storage.cache import remove_path
from ..storage.pointer import read as read_pointer
from .workspace import Workspace


@dataclass(frozen=True)
class RemovedEntry:
    file: str  # the pipeline file it was written in
    key: str  # its name there: a stage, or a foreach/matrix group
    stages: tuple[str, ...]  # the stages it made (addresses)
    outs: tuple[str, ...]  # their outs, project-relative

    @property
    def group(self) -> bool:
        """A foreach/matrix group (its stages are key@...), not a stage."""
        return any(_member_of(name, self.key) for name in self.stages)


@dataclass(frozen=True)
class RemovedPointer:
    file: str  # the pointer file, project-relative
    outs: tuple[str, ...]  # the data it tracked, project-relative


@dataclass
class RemoveResult:
    entries: list[RemovedEntry] = field(default_factory=list)
    pointers: list[RemovedPointer] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # outs and data deleted (with outs=True)
    kept: list[str] = field(default_factory=list)  # outs and data left in the workspace that exist


def remove(ws: Workspace, targets: list[str], *, outs: bool = False, cwd: str | None = None) -> RemoveResult:
    """Remove each target: a stage or group name (`file:name` for another folder's), a pointer
    file, or the data path a pointer file tracks. Every target is resolved and every file checked
    before anything is written; outs=True also deletes the outs or the tracked data."""
    cwd = cwd or os.getcwd()
    entries: dict[tuple[str, str], RemovedEntry] = {}
    pointers: dict[str, RemovedPointer] = {}
    for target in targets:
        entry = _entry(ws, target, cwd)
        if entry is not None:
            entries.setdefault((entry.file, entry.key), entry)
            continue
        pointer = _pointer(ws.root, target, cwd)
        if pointer is None:
            raise _unknown(ws, target)
        pointers.setdefault(pointer.file, pointer)
    edited = {}
    for file in dict.fromkeys(file for file, _ in entries):
        text = read_text(os.path.join(ws.root, file)) or ""
        edited[file] = remove_entries(text, file, "stages", [key for f, key in entries if f == file])
    locked = ws.locks.read() if entries else {}  # a lock that cannot be read stops it here, before any write
    result = RemoveResult(list(entries.values()), list(pointers.values()))
    paths = [path for entry in result.entries for path in entry.outs] + [p for ptr in result.pointers for p in ptr.outs]
    gitignore.check(ws.root, paths)  # a .gitignore behind a symlink stops it here too
    for file, text in edited.items():
        atomic_write(os.path.join(ws.root, file), text)
    removed = {name for entry in result.entries for name in entry.stages}
    if removed:
        ws.locks.commit(locked, keep=[name for name in ws.graph.index if name not in removed])
    for pointer in result.pointers:
        os.remove(os.path.join(ws.root, pointer.file))
    gitignore.unignore(ws.root, paths)
    tree = Tree(ws.root)
    for path in paths:
        if not os.path.lexists(os.path.join(ws.root, path)):
            continue
        if not outs:
            result.kept.append(path)
            continue
        try:
            remove_path(tree.target(path))
        except UnsafePath:
            result.kept.append(path)  # a symlink on its way leads outside: never deleted through it
            continue
        result.deleted.append(path)
    return result


def _entry(ws: Workspace, target: str, cwd: str) -> RemovedEntry | None:
    """The pipeline file entry a stage or group name names, or None; TargetError for a
    foreach/matrix member (the group is what can be removed)."""
    head, colon, name = target.partition(":")
    if colon and posixpath.basename(head.rstrip("/")) == PIPELINE_FILE:
        files, key = candidates(head, ws.root, cwd), name
    else:
        files, key = [PIPELINE_FILE, default_file(ws.files, ws.root, cwd)], target
    for file in dict.fromkeys(f for f in files if f in ws.files):
        own = [stage for stage in ws.graph.stages if stage.file == file]
        if "@" in key and any(split(stage.name)[1] == key for stage in own):
            group = key.split("@", 1)[0]
            count = sum(1 for stage in own if _member_of(stage.name, group))
            raise TargetError(
                f"'{target}' is one of the {count} stages the foreach/matrix '{group}' generates; "
                "a member cannot be removed alone",
                hint=f"remove the whole group with 'pipetool remove {address(file, group)}', "
                f"or change its foreach/matrix values in {file}",
            )
        if key in _written(ws.root, file):  # an entry of its `stages:` (not a stage made another way)
            stages = [stage for stage in own if split(stage.name)[1] == key or _member_of(stage.name, key)]
            return RemovedEntry(file, key, tuple(s.name for s in stages), tuple(o.path for s in stages for o in s.outs))
    return None


def _written(root: str, file: str) -> list[str]:
    """The names under `stages:` in a pipeline file."""
    data = yamlfile.parse(read_text(os.path.join(root, file)) or "", file)
    stages = data.get("stages") if isinstance(data, dict) else None
    return [str(name) for name in stages] if isinstance(stages, dict) else []


def _unknown(ws: Workspace, target: str) -> TargetError:
    groups = {stage.name.split("@", 1)[0] for stage in ws.graph.stages if "@" in stage.name}
    hint = did_you_mean(target, [*ws.graph.index, *sorted(groups)]) or (
        "a target is a stage or foreach/matrix group name (path/pipeline.yaml:name for another folder's), "
        f"a pointer file (*{POINTER_SUFFIX}) or the data it tracks; see 'pipetool stage list'"
    )
    return TargetError(f"unknown target '{target}': no stage, group or tracked data of that name", hint=hint)


def _member_of(name: str, group: str) -> bool:
    short = split(name)[1]
    return "@" in short and short.split("@", 1)[0] == group


def _pointer(root: str, target: str, cwd: str) -> RemovedPointer | None:
    """The pointer file a target names (itself, or the data path it tracks), read and checked as
    untrusted input; None when the target is no pointer file."""
    for path in candidates(target, root, cwd):
        # a pointer file is always named *.pipetool: a tracked file's own path is data, never read
        file = path if path.endswith(POINTER_SUFFIX) else path + POINTER_SUFFIX
        full = os.path.join(root, file)
        if os.path.isfile(full) and not os.path.islink(full):
            try:
                Tree(root).target(file)  # never a file that a linked folder puts outside the project
            except UnsafePath as exc:
                raise SpecError(f"the pointer file {exc}", file=file) from None
            tracked = read_pointer(root, file)
            if tracked is None:
                raise SpecError("not a pointer file: expected 'outs:' with a path", file=file, line=1)
            return RemovedPointer(file, (tracked.path,))
    return None
