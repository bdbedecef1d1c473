"""Importing a DVC repository: its pipelines, its lock state (verified, never rerun) and its remotes.

`dvc.yaml` is already pipetool's format, so it is copied as `pipeline.yaml`. `dvc.lock` records
md5 hashes; pipetool's lock records xxh3. A dep or out whose bytes still have the md5 DVC
recorded is hashed again with pipetool's hashing, so a project that DVC saw as up to date is up
to date for pipetool without running anything; anything else is reported with its reason. A
.dvc file that only tracks data becomes a pointer file beside it (storage/pointer.py), checked
the same way.

dvc.lock, .dvc files and .dvc/config come from the repository and are not trusted: they are
checked for their form and bounded in size, their paths are only ever compared with the paths
dvc.yaml declares, and nothing is read outside the repository or written outside the folders
of its dvc.yaml and .dvc files and .pipetool/. Nothing is written until everything has been read and
checked; DVC's own files are never changed. The module returns plain data and never prints.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import LockError, PipetoolError, ProjectError, RemoteError, SpecError
from ..files import fsutil, safepath, yamlfile
from ..pipeline.project import STATE_DIR, Project, ProjectFiles
from ..pipeline.spec import PIPELINE_FILE, Builds, load, normalize
from ..pipeline.stage import Stage
from ..remotes import remote
from ..storage import gitignore, lock, pointer
from ..storage.external import VERSION_KEYS as URL_VERSION_KEYS
from ..storage.hashing import PROGRESS_BYTES, PROGRESS_FILES, Hasher, HashProgress, HashTally

DVC_DIR = ".dvc"
DVC_YAML = "dvc.yaml"
DVC_LOCK = "dvc.lock"
MAX_DVC_FILE_BYTES = 64 * 2**20  # dvc.yaml, dvc.lock
MAX_SMALL_FILE_BYTES = 2**20  # .dvc files, .dvc/config
_MD5 = re.compile(r"[0-9a-f]{32}(?:\.dir)?")
_CHUNK = 2**20  # DVC's read size: its legacy text rule is applied per chunk of this size
_TEXT_CHARS = bytes(range(32, 127)) + b"\n\r\t\f\b"
# What DVC leaves out of a directory's hash by default (.dvcignore may add more).
_IGNORED_NAMES = frozenset({".git", ".hg", ".dvc"})
_SKIPPED_FOLDERS = frozenset({".git", ".hg", DVC_DIR, STATE_DIR})
_LOCK_HINT = "run 'dvc repro' with DVC 3 to write it again, or fix the file"


# -- what an import finds and does ------------------------------------------------------------


@dataclass(frozen=True)
class DvcRecord:
    """A dep or out as dvc.lock records it; legacy: DVC 2's md5 of text with CRLF as LF."""

    path: str
    md5: str  # a URL dep's version, named by key
    size: int | None
    nfiles: int | None
    legacy: bool
    key: str = "md5"  # a URL dep's: etag, checksum... (as pipetool's lock names them too)


@dataclass(frozen=True)
class DvcStage:
    cmd: str | tuple[str, ...]
    deps: tuple[DvcRecord, ...]
    outs: tuple[DvcRecord, ...]
    params: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class StageImport:
    """One stage: the entry written to pipeline.lock (None: none), and why it is stale."""

    name: str
    entry: lock.LockEntry | None
    reasons: tuple[str, ...] = ()

    @property
    def up_to_date(self) -> bool:
        return self.entry is not None and not self.reasons


@dataclass(frozen=True)
class PipelineImport:
    folder: str  # relative to the repository root, '/'-separated; '.' for the root
    text: bytes  # dvc.yaml, as written
    stages: tuple[StageImport, ...]
    stage_records: tuple[tuple[Stage, lock.LockEntry], ...] = ()  # what is stored in the cache

    def path(self, name: str) -> str:
        return name if self.folder == "." else f"{self.folder}/{name}"


@dataclass(frozen=True)
class RemoteImport:
    name: str
    url: str
    settings: dict[str, str]  # for the committed config
    local_settings: dict[str, str]  # for config.local: credentials, and what DVC kept local
    local: bool  # the remote itself goes to config.local
    default: bool
    left_out: tuple[str, ...] = ()  # DVC settings pipetool has no use for
    skipped: str | None = None  # why it is not imported at all


@dataclass(frozen=True)
class TrackedData:
    path: str  # the data, relative to the repository root
    dvc_file: str
    tracked: pointer.Pointer | None = None  # the pointer file it becomes; None: not converted
    problem: str | None = None  # why it is not converted


@dataclass
class ImportResult:
    root: str
    dry: bool
    pipelines: list[PipelineImport] = field(default_factory=list)
    tracked: list[TrackedData] = field(default_factory=list)
    remotes: list[RemoteImport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    md5_tally: HashTally = field(default_factory=HashTally)
    tally: HashTally = field(default_factory=HashTally)  # pipetool's own hashing

    @property
    def outs_to_store(self) -> int:
        """The verified outs that go into pipetool's cache (so that checkout and push have them)."""
        stages = sum(len(entry.outs) for p in self.pipelines for _, entry in p.stage_records)
        return stages + sum(1 for item in self.tracked if item.tracked is not None)


# -- the entry point ----------------------------------------------------------------------------


def find_root(start: str) -> str:
    """The nearest folder at or above start with a .dvc folder: the DVC repository's root."""
    folder = os.path.abspath(start)
    while True:
        if os.path.isdir(os.path.join(folder, DVC_DIR)) and not os.path.islink(os.path.join(folder, DVC_DIR)):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            raise ProjectError(
                f"not a DVC repository: no {DVC_DIR} folder in {os.path.abspath(start)} or above",
                hint="run 'pipetool import-dvc' inside the DVC repository to import",
            )
        folder = parent


def import_dvc(
    root: str, *, dry: bool = False, force: bool = False, progress: HashProgress | None = None
) -> ImportResult:
    """Read and verify everything first, then (unless dry) write pipeline.yaml and pipeline.lock
    beside each dvc.yaml, store the verified outs in pipetool's cache, and add the remotes."""
    result = ImportResult(root=root, dry=dry)
    dvc_yamls, dvc_files = _discover(root)
    if not dvc_yamls and not dvc_files:
        raise ProjectError(
            f"no {DVC_YAML} in the DVC repository {root}", hint="nothing to import; 'pipetool init' starts a pipeline"
        )
    _refuse_existing(root, dvc_yamls, force)
    sources = [(folder, *_read_pipeline(root, folder)) for folder in dvc_yamls]
    tracked = _tracked(root, dvc_files, result.notes)
    state_dir = None if dry else Project(root).ensure_state_dir()
    result.remotes = _remotes(root, state_dir, force)
    state = _open_state(state_dir)
    try:
        verifier = _Verifier(root, progress, result.md5_tally)
        hasher = Hasher(root, state)  # storing the outs reuses what it hashed
        hasher.progress = progress
        for folder, text, stages, looked_up, locked in sources:
            result.pipelines.append(_convert(folder, text, stages, looked_up, locked, verifier, hasher))
        result.tracked = [_pointer(root, item, verifier, hasher, force) for item in tracked]
        if not dry:
            _write(result, state_dir, hasher)
        _add_tally(result.tally, hasher.tally)
    finally:
        if state is not None:
            state.close()
    return result


def _open_state(state_dir: str | None):
    if state_dir is None:
        return None
    from ..storage.state import StateDB

    return StateDB(os.path.join(state_dir, "state.db"))


def _add_tally(total: HashTally, part: HashTally) -> None:
    total.files += part.files
    total.bytes += part.bytes
    total.seconds += part.seconds


# -- finding DVC's files ---------------------------------------------------------------------


def _discover(root: str) -> tuple[list[str], list[str]]:
    """Folders holding a dvc.yaml, and .dvc files, relative to root ('/'-separated, sorted).
    Symlinked folders are not followed, nor nested DVC repositories, .git or .pipetool."""
    pipelines, dvc_files = [], []
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root).replace(os.sep, "/")
        dirs[:] = sorted(
            d for d in dirs if d not in _SKIPPED_FOLDERS and not os.path.isdir(os.path.join(folder, d, DVC_DIR))
        )
        if DVC_YAML in files and not os.path.islink(os.path.join(folder, DVC_YAML)):
            pipelines.append(rel)
        dvc_files += [posixpath.normpath(posixpath.join(rel, f)) for f in sorted(files) if f.endswith(".dvc")]
    return sorted(pipelines, key=lambda f: (f != ".", f)), dvc_files


def _refuse_existing(root: str, folders: list[str], force: bool) -> None:
    for folder in folders:
        for name in (PIPELINE_FILE, lock.LOCK_FILE):
            path = name if folder == "." else f"{folder}/{name}"
            if os.path.lexists(os.path.join(root, path)) and not force and not _fresh_from_init(root, path):
                raise ProjectError(
                    f"{path} already exists; nothing was written", hint="use --force to overwrite it with the import"
                )
            try:
                safepath.Tree(root).target(path)  # neither it nor a folder on the way may lead outside
            except safepath.UnsafePath as exc:
                raise ProjectError(f"not written: {exc}", file=path, hint="remove the link") from None


def _fresh_from_init(root: str, path: str) -> bool:
    """Whether path is the pipeline.yaml `pipetool init` writes, untouched: importing over it
    loses nothing."""
    from ..pipeline.project import NEW_PIPELINE

    return path == PIPELINE_FILE and _read_file(root, path, MAX_SMALL_FILE_BYTES) == NEW_PIPELINE.encode()


def _read_file(root: str, relpath: str, limit: int) -> bytes | None:
    """A repository file's bytes (None when absent): a regular file inside the repository, of
    at most limit bytes; a link leading outside, a pipe or a device is refused, never read."""
    full = os.path.join(root, relpath)
    real = os.path.realpath(full)
    inside = os.path.realpath(root)
    if not os.path.lexists(full):
        return None
    if not real.startswith(inside + os.sep):
        raise ProjectError("not read: it leads outside the repository", file=relpath)
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ProjectError(f"cannot read: {exc.strerror}", file=relpath) from None
    with open(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ProjectError("not read: not a regular file", file=relpath)
        if info.st_size > limit:
            raise ProjectError(
                f"too big to be DVC's ({info.st_size:,} bytes; at most {limit:,} are read)", file=relpath
            )
        return handle.read(limit + 1)


def _text(data: bytes, relpath: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ProjectError("not a UTF-8 text file", file=relpath) from None


# -- one pipeline ------------------------------------------------------------------------------


def _read_pipeline(root: str, folder: str):
    """(dvc.yaml's bytes, its stages as pipetool reads them, the params each top-level entry
    looked up through ${}, dvc.lock's stages) of one folder."""
    prefix = "" if folder == "." else folder + "/"
    text = _read_file(root, prefix + DVC_YAML, MAX_DVC_FILE_BYTES) or b""
    builds = Builds()
    try:
        parsed = yamlfile.parse(_text(text, prefix + DVC_YAML), prefix + DVC_YAML, MAX_DVC_FILE_BYTES)
        # read as pipetool reads the pipeline.yaml it becomes: paths from the project's root
        stages = [
            replace(stage, name=stage.name[len(prefix + DVC_YAML) + 1 :]) if prefix else stage
            for stage in load(ProjectFiles(root), prefix + DVC_YAML, parsed=parsed, builds=builds)
        ]
    except SpecError as exc:
        raise SpecError(
            exc.message,
            file=exc.file,
            line=exc.line,
            column=exc.column,
            stage=exc.stage,
            hint=exc.hint or "pipetool reads dvc.yaml as pipeline.yaml: fix it, then import again",
        ) from None
    looked_up = {name: dict(entry[0]) for name, entry in builds.entries.items()}
    raw = _read_file(root, prefix + DVC_LOCK, MAX_DVC_FILE_BYTES)
    locked = {} if raw is None else parse_dvc_lock(_text(raw, prefix + DVC_LOCK), prefix + DVC_LOCK)
    return text, stages, looked_up, locked


def _convert(
    folder: str,
    text: bytes,
    stages: list[Stage],
    looked_up: dict[str, dict],
    locked: dict[str, DvcStage],
    verifier: _Verifier,
    hasher: Hasher,
) -> PipelineImport:
    from ..pipeline.params import ParamsFiles
    from ..planning.observe import observe
    from ..planning.staleness import decide

    params = ParamsFiles(ProjectFiles(hasher.root))
    results, stored = [], []
    for stage in stages:
        dvc_stage = locked.get(stage.name)
        if dvc_stage is None:
            results.append(StageImport(stage.name, None, (f"not in {DVC_LOCK}",)))
            continue
        entry, reasons = _entry(stage, dvc_stage, looked_up.get(stage.name.split("@")[0], {}), verifier, hasher)
        if entry is None:
            results.append(StageImport(stage.name, None, tuple(reasons)))
            continue
        try:
            reasons = [str(reason) for reason in decide(stage, entry, observe(stage, hasher, params))]
        except PipetoolError as exc:
            reasons = [exc.message]
        results.append(StageImport(stage.name, entry, tuple(reasons)))
        stored.append((stage, entry))
    return PipelineImport(folder, text, tuple(results), tuple(stored))


def _entry(
    stage: Stage, dvc_stage: DvcStage, interpolated: dict, verifier: _Verifier, hasher: Hasher
) -> tuple[lock.LockEntry | None, list[str]]:
    """The lock entry of a stage whose every dep and out still has the bytes dvc.lock records,
    or None with the reasons it has not."""
    reasons: list[str] = []
    deps = _records(stage, "dep", stage.deps, dvc_stage.deps, verifier, hasher, reasons)
    outs = _records(stage, "out", stage.out_paths, dvc_stage.outs, verifier, hasher, reasons)
    if reasons:
        return None, reasons
    return lock.LockEntry(cmd=dvc_stage.cmd, deps=deps, outs=outs, params=_params(stage, dvc_stage, interpolated)), []


def _records(
    stage: Stage,
    kind: str,
    declared: tuple[str, ...],
    recorded: tuple[DvcRecord, ...],
    verifier: _Verifier,
    hasher: Hasher,
    reasons: list[str],
) -> tuple[lock.PathRecord, ...]:
    """pipetool's records of the declared paths that match dvc.lock; reasons gets the others."""
    by_path = {
        record.path if safepath.is_url(record.path) else normalize(stage.wdir, record.path): record
        for record in recorded
    }
    records = []
    for path in declared:
        record = by_path.pop(path, None)
        found = _record(path, record, kind, verifier, hasher) if record else f"is not in {DVC_LOCK}"
        if isinstance(found, str):
            reasons.append(f"{kind} '{path}' {found}")
        else:
            records.append(found)
    reasons += [f"{DVC_LOCK} records {kind} '{path}', which {DVC_YAML} does not declare" for path in by_path]
    return tuple(records)


def _record(path: str, record: DvcRecord, kind: str, verifier: _Verifier, hasher: Hasher) -> lock.PathRecord | str:
    """The path hashed by pipetool once its bytes are DVC's, or what differs. A URL dep's
    version is taken as DVC recorded it: status asks the source whether it still holds."""
    if safepath.is_url(path):
        return lock.PathRecord(path, record.md5, record.size, record.nfiles, record.key)
    problem = verifier.check(path, record)
    if problem is not None:
        return problem
    info = hasher.info(path)
    if info is None:
        return "is missing"
    invalid = lock.record_problem(path, info.hash, info.size, info.nfiles, out=kind == "out")
    if invalid is not None:
        return f"cannot be recorded in {lock.LOCK_FILE}: {invalid[1]}"
    return lock.PathRecord.of(path, info)


def _params(stage: Stage, dvc_stage: DvcStage, interpolated: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """dvc.lock's param values, by params file as pipetool names it. DVC does not record the
    params.yaml values a stage uses through ${}; pipetool does: when the cmd DVC ran is the cmd
    dvc.yaml gives now, they are the values it was made from, so they are taken as they are."""
    values = {normalize(stage.wdir, file): dict(keys) for file, keys in dvc_stage.params.items()}
    if stage.cmd_record() != (dvc_stage.cmd if isinstance(dvc_stage.cmd, str) else list(dvc_stage.cmd)):
        return values  # status will say 'changed cmd' anyway
    for dep in stage.params:
        for key in dep.keys or ():
            if key in interpolated and key not in values.get(dep.file, {}):
                values.setdefault(dep.file, {})[key] = interpolated[key]
    return values


# -- checking bytes against dvc.lock's md5 ----------------------------------------------------


class _Verifier:
    """Compares workspace paths with dvc.lock's records, by DVC's own definition of their md5;
    reads nothing outside the repository, and each path at most once per import."""

    def __init__(self, root: str, progress: HashProgress | None, tally: HashTally) -> None:
        self.root = root
        self.real_root = os.path.realpath(root)
        self.progress = progress
        self.tally = tally
        self._known: dict[tuple[str, bool], tuple[str, int, int | None] | str] = {}

    def check(self, relpath: str, record: DvcRecord) -> str | None:
        """None when relpath (from the repository root) has the bytes the record names, else
        what differs, e.g. 'changed since dvc.lock'."""
        if relpath == ".." or relpath.startswith("../") or posixpath.isabs(relpath):
            return "is outside the repository: not read"
        key = (relpath, record.legacy)
        if key not in self._known:
            self._known[key] = self._measure(relpath, record)
        found = self._known[key]
        if isinstance(found, str):
            return found
        md5, size, nfiles = found
        if md5 != record.md5 or (record.size is not None and size != record.size):
            return f"changed since {DVC_LOCK}"
        if record.nfiles is not None and nfiles != record.nfiles:
            return f"changed since {DVC_LOCK}"
        return None

    def _measure(self, relpath: str, record: DvcRecord) -> tuple[str, int, int | None] | str:
        """(md5, size, nfiles) of a file or directory, or why it cannot be compared."""
        full = os.path.join(self.root, relpath)
        if not os.path.lexists(full):
            return "is missing"
        if not self._inside(full):
            return "leads outside the repository through a symlink: not read"
        st = os.stat(full)
        if stat.S_ISDIR(st.st_mode):
            if not record.md5.endswith(".dir"):
                return f"is a folder; {DVC_LOCK} records a file"
            return self._directory(full, record)
        if not stat.S_ISREG(st.st_mode):
            return "is not a file or a folder (a pipe, socket or device): not read"
        if record.md5.endswith(".dir"):
            return f"is a file; {DVC_LOCK} records a folder"
        if record.size is not None and st.st_size != record.size:
            return f"changed since {DVC_LOCK}"  # no need to read it
        with self._watched(relpath, st.st_size, 1) as on_read:
            return dvc_file_md5(full, record.legacy, on_read), st.st_size, None

    def _directory(self, full: str, record: DvcRecord) -> tuple[str, int, int] | str:
        files = []
        for relpath, path in _dvc_walk(full):
            if not self._inside(path):
                return f"holds '{relpath}', which leads outside the repository: not read"
            st = os.stat(path)
            if not stat.S_ISREG(st.st_mode):
                return f"holds '{relpath}', which is not a file: not read"
            files.append((relpath, path, st.st_size))
        total = sum(size for _, _, size in files)
        if (record.size is not None and total != record.size) or (
            record.nfiles is not None and len(files) != record.nfiles
        ):
            return f"changed since {DVC_LOCK}"
        label = os.path.relpath(full, self.root)
        with self._watched(label, total, len(files)) as on_read:
            entries = [(relpath, dvc_file_md5(path, record.legacy, on_read)) for relpath, path, _ in files]
        return dvc_directory_md5(entries), total, len(files)

    def _inside(self, path: str) -> bool:
        real = os.path.realpath(path)
        return real == self.real_root or real.startswith(self.real_root + os.sep)

    @contextmanager
    def _watched(self, label: str, total: int, files: int) -> Iterator[Callable[[int], None] | None]:
        """Count one md5 job in the tally; tell the progress listener about a big one."""
        progress = self.progress if total >= PROGRESS_BYTES or files >= PROGRESS_FILES else None
        if progress is not None:
            progress.hash_start(f"{label} (md5, to compare with {DVC_LOCK})", total, files)
        started = time.perf_counter()
        try:
            yield progress.hash_advance if progress is not None else None
        finally:
            self.tally.files += files
            self.tally.bytes += total
            self.tally.seconds += time.perf_counter() - started
            if progress is not None:
                progress.hash_end()


def _dvc_walk(folder: str, prefix: str = ""):
    """(relative '/'-path, full path) of the files DVC counts in a directory, sorted as DVC
    sorts them (by relative path): every file, links to files included, but none below .git,
    .hg or .dvc; symlinked folders are not entered."""
    found = []
    stack = [(folder, prefix)]
    while stack:
        current, rel = stack.pop()
        with os.scandir(current) as entries:
            for entry in entries:
                if entry.name in _IGNORED_NAMES:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, f"{rel}{entry.name}/"))
                elif entry.is_file() or entry.is_symlink():
                    found.append((rel + entry.name, entry.path))
    return sorted(found)


def dvc_file_md5(path: str, legacy: bool = False, on_read: Callable[[int], None] | None = None) -> str:
    """The md5 DVC 3 records for a file. legacy: DVC 2's, which reads text files with CRLF as
    LF, deciding 'text' per 1 MiB chunk from its first 512 bytes (no NUL, at most 30% of other
    than printable ASCII and common control characters)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            if on_read is not None:
                on_read(len(chunk))
            if legacy and _is_text(chunk[:512]):
                chunk = chunk.replace(b"\r\n", b"\n")
            digest.update(chunk)
    return digest.hexdigest()


def _is_text(block: bytes) -> bool:
    if b"\x00" in block:
        return False
    return len(block.translate(None, _TEXT_CHARS)) <= 0.3 * len(block)


def dvc_directory_md5(entries: list[tuple[str, str]]) -> str:
    """The md5 DVC records for a directory: of its `.dir` manifest, a JSON list of
    {"md5", "relpath"} sorted by relpath, written with sorted keys and JSON's default
    separators, with '.dir' appended."""
    manifest = [{"md5": md5, "relpath": relpath} for relpath, md5 in sorted(entries)]
    text = json.dumps(manifest, sort_keys=True)
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest() + ".dir"


# -- reading dvc.lock -------------------------------------------------------------------------


def parse_dvc_lock(text: str, display: str = DVC_LOCK) -> dict[str, DvcStage]:
    """The stages of a DVC 2/3 lock file (schema 2.0), each checked for its form: text from a
    repository is not trusted. LockError with file and line otherwise."""
    try:
        data = yamlfile.parse(text, display, MAX_DVC_FILE_BYTES)
    except SpecError as exc:
        raise LockError(exc.message, file=exc.file, line=exc.line, column=exc.column, hint=_LOCK_HINT) from None
    if data is None:
        return {}
    if not isinstance(data, dict) or str(data.get("schema")) != "2.0" or not isinstance(data.get("stages"), dict):
        raise LockError(
            "not a lock file of DVC 2 or 3 (expected schema: '2.0' and stages)", file=display, line=1, hint=_LOCK_HINT
        )
    stages = data["stages"]
    return {str(name): _dvc_stage(str(name), body, display, stages.line_of(name)) for name, body in stages.items()}


def _dvc_stage(name: str, body: Any, display: str, line: int) -> DvcStage:
    def fail(message: str, at: int = line) -> LockError:
        return LockError(message, file=display, line=at, stage=name, hint=_LOCK_HINT)

    if not isinstance(body, dict):
        raise fail("each stage must be a mapping")
    cmd = body.get("cmd")
    if isinstance(cmd, list) and cmd and all(isinstance(c, str) for c in cmd):
        cmd = tuple(cmd)
    elif not isinstance(cmd, str):
        raise fail("'cmd' missing, or not text", body.line_of("cmd"))
    params = body.get("params") or {}
    if not isinstance(params, dict) or not all(
        isinstance(f, str) and isinstance(v, dict) and all(isinstance(k, str) for k in v) for f, v in params.items()
    ):
        raise fail("'params' must map each params file to {key: value}", body.line_of("params"))
    if any(safepath.has_control_characters(f + "".join(v)) for f, v in params.items()):
        raise fail("a params file or key holds control characters", body.line_of("params"))
    return DvcStage(
        cmd=cmd,
        deps=_dvc_records(body, "deps", fail),
        outs=_dvc_records(body, "outs", fail),
        params={f: dict(v) for f, v in params.items()},
    )


def _dvc_records(body: dict, key: str, fail: Callable[..., LockError]) -> tuple[DvcRecord, ...]:
    items = body.get(key) or []
    if not isinstance(items, list):
        raise fail(f"'{key}' must be a list", body.line_of(key))
    records = []
    for item in items:
        if not isinstance(item, dict):
            raise fail(f"each of '{key}' must be a mapping with path and md5", body.line_of(key))
        path, md5, size, nfiles = item.get("path"), item.get("md5"), item.get("size"), item.get("nfiles")
        at = item.line_of("path")
        if not isinstance(path, str) or not path or safepath.has_control_characters(path):
            raise fail(f"an entry of '{key}' has no usable 'path' ({path!r})", at)
        if key == "deps" and safepath.is_url(path):  # its version under the name DVC gives it
            name = next((k for k in URL_VERSION_KEYS if k in item), "etag")
            problem = lock.record_problem(path, item.get(name), size, nfiles, out=False, key=name)
            if problem is not None:
                raise fail(problem[1], item.line_of(problem[0]))
            records.append(DvcRecord(path, item[name], size, nfiles, legacy=False, key=name))
            continue
        if not isinstance(md5, str) or not _MD5.fullmatch(md5):
            raise fail(
                f"'md5' of '{path}' must be 32 hex digits (with '.dir' for a folder), not {md5!r}", item.line_of("md5")
            )
        for field_name, value in (("size", size), ("nfiles", nfiles)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63):
                raise fail(
                    f"'{field_name}' of '{path}' must be a whole number of bytes, not {value!r}",
                    item.line_of(field_name),
                )
        if item.get("hash") not in (None, "md5"):
            raise fail(
                f"'{path}' is hashed with {item.get('hash')!r}; pipetool compares md5 only", item.line_of("hash")
            )
        records.append(DvcRecord(path, md5, size, nfiles, legacy=item.get("hash") is None))
    return tuple(records)


# -- .dvc files --------------------------------------------------------------------------------


def _tracked(root: str, dvc_files: list[str], notes: list[str]) -> list[tuple[TrackedData, Any, str | None]]:
    """The data each .dvc file tracks, with the .dvc file's YAML and why it cannot become a
    pointer file (None when it may); an unreadable one is named in the notes."""
    tracked = []
    for relpath in dvc_files:
        folder = posixpath.dirname(relpath)
        try:
            data = yamlfile.parse(
                _text(_read_file(root, relpath, MAX_SMALL_FILE_BYTES) or b"", relpath), relpath, MAX_SMALL_FILE_BYTES
            )
        except PipetoolError as exc:
            notes.append(f"{relpath}: not read ({exc.message})")
            continue
        outs = data.get("outs") if isinstance(data, dict) else None
        paths = [o.get("path") for o in outs if isinstance(o, dict)] if isinstance(outs, list) else []
        if not paths or not all(isinstance(p, str) and not safepath.has_control_characters(p) for p in paths):
            notes.append(f"{relpath}: not a .dvc file DVC writes (no outs with paths)")
            continue
        found = [posixpath.normpath(posixpath.join(folder, p)) for p in paths]
        outside = [p for p in found if posixpath.isabs(p) or p == ".." or p.startswith("../")]
        if outside:
            notes.append(f"{relpath}: not listed: it tracks '{outside[0]}', outside the repository")
            continue
        why = None
        if data.get("deps") or data.get("cmd"):
            why = "it has deps or a cmd (data DVC imported: dvc import or import-url), which pipetool does not track"
        elif len(found) != 1:
            why = f"it tracks {len(found)} paths; a pointer file tracks one: 'pipetool add' each"
        tracked += [(TrackedData(path, relpath), data, why) for path in found]
    return tracked


def _pointer(
    root: str, item: tuple[TrackedData, Any, str | None], verifier: _Verifier, hasher: Hasher, force: bool
) -> TrackedData:
    """The pointer file a data-only .dvc file becomes, once its data has the bytes DVC recorded."""
    found, data, why = item
    if why is not None:
        return replace(found, problem=why)
    out = data["outs"][0]
    file = found.dvc_file[: -len(".dvc")] + pointer.POINTER_SUFFIX
    try:
        body = yamlfile.Mapping({"outs": [out]})
        body.key_lines = {}
        dvc = _dvc_records(body, "outs", lambda message, line: LockError(message))[0]
        if os.path.lexists(os.path.join(root, file)) and not force:
            return replace(found, problem=f"{file} exists already (use --force to overwrite it)")
        record = _record(found.path, replace(dvc, path=found.path), "out", verifier, hasher)
        if isinstance(record, str):
            return replace(found, problem=f"'{found.path}' {record.replace(DVC_LOCK, found.dvc_file)}")
        text = pointer.render(
            pointer.Pointer(
                file,
                record,
                top=tuple((key, data[key]) for key in pointer.TOP_KEYS if key in data),
                extra=tuple((key, out[key]) for key in pointer.OUT_KEYS if key in out),
            )
        )
        return replace(found, tracked=pointer.parse(text, file))  # checked as any pointer file is
    except LockError as exc:
        return replace(found, problem=exc.message)


# -- remotes ----------------------------------------------------------------------------------


def parse_dvc_config(text: str, display: str) -> dict[str, dict[str, str]]:
    """DVC's config (INI as configobj writes it): section -> settings. `['remote "name"']`
    becomes 'remote "name"'. ProjectError with the line for anything else."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(_unquote(line[1:-1].strip()), {})
            continue
        key, sep, value = line.partition("=")
        if not sep or current is None or not key.strip():
            raise ProjectError(
                "not a line of DVC's config (expected [section] or key = value)",
                file=display,
                line=number,
                hint="fix it with 'dvc config', then import again",
            )
        current[key.strip()] = _unquote(value.strip())
    return sections


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


_REMOTE_SECTION = re.compile(r'remote\s+"([^"]+)"')


def _remotes(root: str, state_dir: str | None, force: bool) -> list[RemoteImport]:
    """The remotes of .dvc/config (for pipetool's committed config) and .dvc/config.local (for
    pipetool's config.local, which git ignores as DVC's does)."""
    configs = []
    for local in (False, True):
        relpath = f"{DVC_DIR}/config{'.local' if local else ''}"
        raw = _read_file(root, relpath, MAX_SMALL_FILE_BYTES)
        configs.append(parse_dvc_config(_text(raw, relpath), relpath) if raw is not None else {})
    committed, private = configs
    existing, current_default = _pipetool_remotes(root, state_dir)
    names = sorted({m.group(1) for config in configs for s in config if (m := _REMOTE_SECTION.fullmatch(s))})
    default = private.get("core", {}).get("remote") or committed.get("core", {}).get("remote")
    if current_default is not None and not force:
        default = None  # the project's own choice stays
    return [
        _remote(
            name,
            committed.get(f'remote "{name}"', {}),
            private.get(f'remote "{name}"', {}),
            default == name,
            existing.get(name),
            force,
        )
        for name in names
    ]


def _pipetool_remotes(root: str, state_dir: str | None) -> tuple[dict[str, remote.RemoteConfig], str | None]:
    """The remotes pipetool has already, and its default one (a dry run reads, never makes, .pipetool)."""
    from ..pipeline.project import check_state_links

    folder = state_dir or os.path.join(root, STATE_DIR)
    if not os.path.isdir(folder):
        return {}, None
    check_state_links(root)
    return remote.remotes(folder), remote.default_name(folder)


def _remote(
    name: str,
    shared: dict[str, str],
    own: dict[str, str],
    default: bool,
    existing: remote.RemoteConfig | None,
    force: bool,
) -> RemoteImport:
    url = own.get("url") or shared.get("url")
    local = "url" not in shared
    written = [name, *shared, *shared.values(), *own, *own.values()]
    if any(safepath.has_control_characters(text) for text in written):
        return RemoteImport(
            repr(name)[1:-1], "", {}, {}, local, default, skipped="its name, url or a setting holds control characters"
        )
    if not url:
        return RemoteImport(name, "", {}, {}, local, default, skipped="it has no url")
    url = _pipetool_url(url)
    try:
        backend = remote.BACKENDS[remote.scheme(url)]
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
            raise RemoteError("pipetool takes letters, digits, '-', '_' and '.' in remote names")
    except RemoteError as exc:
        return RemoteImport(name, url, {}, {}, local, default, skipped=exc.message)
    if existing is not None and existing.url != url and not force:
        return RemoteImport(
            name,
            url,
            {},
            {},
            local,
            default,
            skipped=f"pipetool already has a remote '{name}' ({existing.url}); --force replaces it",
        )
    settings, local_settings, left_out = {}, {}, []
    for source, is_local in ((shared, local), (own, True)):
        for key, value in source.items():
            if key == "url":
                continue
            if key not in backend.options:
                left_out.append(key)
            elif is_local or key in remote.CREDENTIALS:
                local_settings[key] = value
            else:
                settings[key] = value
    return RemoteImport(name, url, settings, local_settings, local, default, tuple(sorted(set(left_out))))


def _pipetool_url(url: str) -> str:
    """DVC keeps a relative local path relative to .dvc/; pipetool to the project root."""
    if remote.scheme(url) != "file" or url.startswith("file://") or os.path.isabs(url):
        return url
    return posixpath.normpath(posixpath.join(DVC_DIR, url))


def _add_remote(state_dir: str, item: RemoteImport) -> None:
    known = remote.remotes(state_dir).get(item.name)
    if known is None or known.url != item.url:  # the same one: its other settings stay
        remote.add(state_dir, item.name, item.url, default=item.default, local=item.local, force=True)
    elif item.default:
        remote.set_default(state_dir, item.name, item.local)
    for settings, local in ((item.settings, item.local), (item.local_settings, True)):
        for key, value in sorted(settings.items()):
            remote.modify(state_dir, item.name, key, value, local)


# -- writing ----------------------------------------------------------------------------------


def _write(result: ImportResult, state_dir: str, hasher: Hasher) -> None:
    """pipeline.yaml and pipeline.lock beside each dvc.yaml, the verified outs in the cache
    (so checkout and push have them), then the remotes."""
    from ..pipeline import config
    from ..storage.cache import Cache
    from . import outs

    root = result.root
    cache = Cache(state_dir, config.read(state_dir)["cache.type"])
    for pipeline in result.pipelines:
        # a lock's paths are relative to its folder, as in dvc.lock (see lock.relocated)
        entries = {
            s.name: lock.relocated(s.entry, pipeline.folder, into=False) for s in pipeline.stages if s.entry is not None
        }
        yaml_path, lock_path = pipeline.path(PIPELINE_FILE), pipeline.path(lock.LOCK_FILE)
        fsutil.atomic_write_bytes(os.path.join(root, yaml_path), pipeline.text)
        fsutil.atomic_write(os.path.join(root, lock_path), lock.render(entries))
        result.written += [yaml_path, lock_path]
        for stage, entry in pipeline.stage_records:
            outs.save(stage, entry, hasher, cache, None)
    for item in result.tracked:
        if item.tracked is not None:
            data = item.tracked
            outs.save(data.stage(), data.entry(), hasher, cache, None)
            pointer.write(root, data)
            if data.cache:
                gitignore.ignore(root, [data.path])
            result.written.append(data.file)
    for item in result.remotes:
        if item.skipped is None:
            _add_remote(state_dir, item)
