"""Verify: does the committed pipeline.lock reproduce? Rerun the stages in a temporary git
worktree of HEAD (the user's workspace and cache are never touched) and compare every out
with the lock, each by the rule its `verify:` option declares (files/equivalence.py).

A stage is identical (every out has the locked bytes), equivalent (every out within its declared
tolerance), differs, nondeterministic (with runs=2: its two runs on this machine, from the same
inputs, disagree), failed or not run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any

from ..files.equivalence import EXACT, TOLERANCE, Comparison, Equivalence, compare
from ..pipeline.project import Project
from ..pipeline.stage import Out
from ..revisions import worktree
from ..revisions.git import GitRepo, Revisions
from ..revisions.metrics import parse_metrics
from ..storage.cache import Cache, CorruptObject
from ..storage.lock import LockEntry, PathRecord
from .reporter import Reporter
from .repro import ReproOptions, repro
from .workspace import Workspace, open_workspace

REPRODUCED = ("identical", "equivalent")


@dataclass
class OutDifference:
    path: str
    locked: str
    produced: str | None  # None when the rerun did not produce it
    metrics: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # key -> (locked, produced)
    within_tolerance: bool = False
    rule: str = EXACT  # how it was compared: exact, skip, "rtol X, atol Y"
    comparison: Comparison | None = None  # the largest difference and where, or the first one

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "comparison"}
        if self.comparison is not None:
            data.update(self.comparison.as_dict())
        return data


@dataclass
class StageVerdict:
    name: str
    status: str  # identical | equivalent | differs | nondeterministic | failed | not run
    differences: list[OutDifference] = field(default_factory=list)
    # runs=2: how the stage's second run differed from its first (status nondeterministic)
    unstable: list[OutDifference] = field(default_factory=list)

    @property
    def reproduced(self) -> bool:
        return self.status in REPRODUCED


@dataclass(frozen=True)
class VerifyOptions:
    targets: tuple[str, ...] = ()
    jobs: int = 1
    metrics_tolerance: float | None = None
    runs: int = 1  # 2: run each stage twice from the same inputs to find nondeterminism


def verify(project_root: str, options: VerifyOptions, reporter: Reporter) -> list[StageVerdict]:
    """Rerun the stages at HEAD in a temporary worktree and judge each against HEAD's lock."""
    repo = GitRepo(project_root)
    repo.revision("HEAD")  # a clear error when there is no commit yet
    cache = Revisions(project_root).cache  # where a cached out's locked bytes are
    with worktree.temporary(repo, "HEAD", purpose="verify") as root:
        return _verify_in(root, options, reporter, cache)


def _verify_in(root: str, options: VerifyOptions, reporter: Reporter, cache: Cache) -> list[StageVerdict]:
    from ..planning.targets import resolve

    ws = open_workspace(Project(root))
    held = tempfile.mkdtemp(prefix="pipetool-verify-") if options.runs > 1 else None
    try:
        locked = ws.locks.read()
        targets = resolve(ws.graph, list(options.targets), root, cwd=root) if options.targets else None
        if held:
            _hold(ws, root, [o for s in ws.graph.stages for o in s.outs if o.persist], os.path.join(held, "before"))
        result = repro(
            ws,
            ReproOptions(
                targets=tuple(targets) if targets is not None else None,
                force=True,
                keep_going=True,
                jobs=options.jobs,
                run_cache=False,
            ),
            reporter,
        )
        produced = ws.locks.read()
        failed = set(result.failed) | set(result.skipped) | set(result.interrupted)
        first = _Files(root)
        unstable: dict[str, list[OutDifference]] = {}
        if held:
            ran = [name for name in result.ran if name not in failed]
            first = _Files(os.path.join(held, "first"))
            _hold(ws, root, [o for name in ran for o in ws.graph.stage(name).outs], first.root)
            unstable = _second_runs(
                ws, root, ran, produced, first, os.path.join(held, "before"), options.metrics_tolerance, reporter
            )
        verdicts = []
        for name in result.ran + sorted(failed):
            if name in failed:
                verdicts.append(StageVerdict(name, "failed" if name in result.failed else "not run"))
                continue
            rules = _rules(ws.graph.stage(name).outs, options.metrics_tolerance)
            verdict = _judge(root, name, locked.get(name), produced[name], rules, cache, first)
            if unstable.get(name):
                verdict.status, verdict.unstable = "nondeterministic", unstable[name]
            verdicts.append(verdict)
        return verdicts
    finally:
        ws.close()
        if held:
            shutil.rmtree(held, ignore_errors=True)


def _rules(outs: tuple[Out, ...], metrics_tolerance: float | None) -> dict[str, Out]:
    """Each out by path, a metrics file declared exact getting --metrics-tolerance as its atol."""
    rules = {}
    for out in outs:
        if metrics_tolerance is not None and out.kind == "metric" and out.verify.mode == EXACT:
            out = Out(
                out.path, out.kind, out.cache, out.persist, out.options, Equivalence(TOLERANCE, 0.0, metrics_tolerance)
            )
        rules[out.path] = out
    return rules


class _Files:
    """Where the bytes of the rerun's outs are read: the worktree, or a copy of the first run."""

    def __init__(self, root: str) -> None:
        self.root = root

    def read(self, path: str) -> bytes | None:
        try:
            with open(os.path.join(self.root, path), "rb") as handle:
                return handle.read()
        except OSError:
            return None

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(os.path.join(self.root, path))


def _hold(ws: Workspace, root: str, outs: list[Out], into: str) -> None:
    """Copy these outs (files or folders, those that exist) from the worktree into a folder."""
    for out in outs:
        source, dest = os.path.join(root, out.path), os.path.join(into, out.path)
        if os.path.isdir(source):
            shutil.copytree(source, dest, symlinks=False, dirs_exist_ok=True)
        elif os.path.exists(source):
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copyfile(source, dest)


def _put_back(root: str, outs: list[Out], held: str) -> None:
    """A persist out as it was before the first run, so the second starts from the same state."""
    for out in outs:
        source, dest = os.path.join(held, out.path), os.path.join(root, out.path)
        if os.path.isdir(dest):
            shutil.rmtree(dest)
        elif os.path.lexists(dest):
            os.remove(dest)
        if os.path.isdir(source):
            shutil.copytree(source, dest)
        elif os.path.exists(source):
            shutil.copyfile(source, dest)


def _second_runs(
    ws: Workspace,
    root: str,
    ran: list[str],
    produced: dict[str, LockEntry],
    first: _Files,
    before: str,
    metrics_tolerance: float | None,
    reporter: Reporter,
) -> dict[str, list[OutDifference]]:
    """Run each stage once more, alone, downstream ones first: each then reads exactly the
    inputs its first run read. Returns, by stage, the outs that came out different."""
    order = sorted((ws.graph.order.index(ws.graph.index[name]), name) for name in ran)
    unstable: dict[str, list[OutDifference]] = {}
    for _, name in reversed(order):
        stage = ws.graph.stage(name)
        _put_back(root, [out for out in stage.outs if out.persist], before)
        result = repro(
            ws,
            ReproOptions(targets=(ws.graph.index[name],), single=True, force=True, run_cache=False),
            reporter,
        )
        if name not in result.ran:
            unstable[name] = [OutDifference("(the second run failed)", "-", None)]
            continue
        again = {record.path: record for record in ws.locks.read()[name].outs}
        rules = _rules(stage.outs, metrics_tolerance)
        differences = []
        for record in produced[name].outs:
            new = again.get(record.path)
            if new is not None and new.hash == record.hash:
                continue
            rule = rules.get(record.path)
            equivalence = rule.verify if rule is not None else Equivalence()
            comparison = _compare_files(record.path, first, _Files(root), equivalence)
            if comparison.verdict not in ("identical", "equivalent", "skipped"):
                differences.append(
                    OutDifference(
                        record.path,
                        record.hash,
                        new.hash if new else None,
                        rule=equivalence.describe(),
                        comparison=comparison,
                    )
                )
        if differences:
            unstable[name] = differences
    return unstable


def _compare_files(path: str, old: _Files, new: _Files, rule: Equivalence) -> Comparison:
    """Compare an out's two versions by its rule; a folder file by file."""
    if new.is_dir(path) or old.is_dir(path):
        return _compare_folder(path, old, new, rule)
    return compare(path, old.read(path), new.read(path), rule)


def _compare_folder(path: str, old: _Files, new: _Files, rule: Equivalence) -> Comparison:
    names = set(_walk(os.path.join(old.root, path))) | set(_walk(os.path.join(new.root, path)))
    largest: Comparison | None = None
    for name in sorted(names):
        inner = f"{path}/{name}"
        found = compare(inner, old.read(inner), new.read(inner), rule)
        if found.verdict == "differs":
            found.where = f"{name}: {found.where}" if found.where else name
            return found
        if found.verdict == "equivalent" and (largest is None or (found.largest or 0) > (largest.largest or 0)):
            found.where = f"{name}: {found.where}" if found.where else name
            largest = found
    return largest or Comparison("identical")


def _walk(folder: str) -> list[str]:
    return [
        os.path.relpath(os.path.join(top, name), folder).replace(os.sep, "/")
        for top, _, names in os.walk(folder)
        for name in names
    ]


def _judge(
    root: str,
    name: str,
    locked: LockEntry | None,
    produced: LockEntry,
    rules: dict[str, Out],
    cache: Cache,
    files: _Files,
) -> StageVerdict:
    if locked is None or locked.dropped_in_merge:
        why = "(no lock entry)" if locked is None else "(lock entry dropped in merge)"
        return StageVerdict(name, "differs", [OutDifference(why, "-", None)])
    now = {record.path: record for record in produced.outs}
    differences = []
    for record in locked.outs:
        new = now.get(record.path)
        if new is not None and new.hash == record.hash:
            continue
        differences.append(_difference(root, record, new, rules.get(record.path), cache, files))
    recorded = {record.path for record in locked.outs}
    differences += [
        OutDifference(path, "(not in the lock)", new.hash) for path, new in now.items() if path not in recorded
    ]
    if not differences:
        return StageVerdict(name, "identical")
    if all(d.within_tolerance for d in differences):
        return StageVerdict(name, "equivalent", differences)
    return StageVerdict(name, "differs", differences)


def _difference(
    root: str, record: PathRecord, new: PathRecord | None, out: Out | None, cache: Cache, files: _Files
) -> OutDifference:
    """How an out differs by its rule; for a metrics file also which values changed."""
    rule = out.verify if out is not None else Equivalence()
    difference = OutDifference(record.path, record.hash, new.hash if new else None, rule=rule.describe())
    if new is None:
        difference.comparison = Comparison("differs", note="the rerun did not produce it")
        return difference
    old_bytes = None if files.is_dir(record.path) else _locked_bytes(root, record, cache)
    if files.is_dir(record.path):
        difference.comparison = _compare_locked_folder(record, files, cache, rule)
    else:
        difference.comparison = compare(record.path, old_bytes, files.read(record.path), rule)
    difference.within_tolerance = difference.comparison.verdict in ("equivalent", "skipped")
    if out is not None and out.kind == "metric" and old_bytes is not None:
        difference.metrics = _changed_metrics(record.path, old_bytes, files.read(record.path))
    return difference


def _compare_locked_folder(record: PathRecord, files: _Files, cache: Cache, rule: Equivalence) -> Comparison:
    """A folder out against its locked manifest in the project's cache, file by file."""
    try:
        manifest = cache.manifest(record.hash)
    except (CorruptObject, OSError, ValueError):
        manifest = None
    if not manifest:
        return Comparison("differs", note="the locked folder is not in the cache to compare with")
    held = tempfile.mkdtemp(prefix="pipetool-verify-locked-")
    try:
        for relpath, digest, _size in manifest:
            data = _cached(cache, digest)
            if data is not None:
                dest = os.path.join(held, record.path, relpath)
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with open(dest, "wb") as handle:
                    handle.write(data)
        return _compare_folder(record.path, _Files(held), files, rule)
    finally:
        shutil.rmtree(held, ignore_errors=True)


def _changed_metrics(path: str, old: bytes, new: bytes | None) -> dict[str, tuple[Any, Any]]:
    if new is None:
        return {}
    try:
        before = parse_metrics(old.decode("utf-8"), path)
        after = parse_metrics(new.decode("utf-8"), path)
    except (ValueError, UnicodeDecodeError):
        return {}
    return {k: (before.get(k), after.get(k)) for k in {*before, *after} if before.get(k) != after.get(k)}


def _locked_bytes(root: str, record: PathRecord, cache: Cache) -> bytes | None:
    """The locked bytes of an out: from git at HEAD (the worktree had them before the rerun),
    or for a cached one from the project's cache by the locked hash, each checked."""
    repo = GitRepo(root)
    source = repo.source(repo.revision("HEAD"))
    if source.exists(record.path):
        return source.read_bytes(record.path)
    return _cached(cache, record.hash)


def _cached(cache: Cache, digest: str) -> bytes | None:
    try:
        return cache.read_bytes(digest)
    except (CorruptObject, OSError):
        return None
