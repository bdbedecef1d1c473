"""Verify: does the committed pipeline.lock reproduce? Rerun the stages in a temporary git
worktree of HEAD (the user's workspace and cache are never touched) and compare every out
with the hash the lock records."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

from ..files.safepath import Tree, UnsafePath
from ..pipeline.pipelines import is_pointer
from ..pipeline.project import Project
from ..planning.plan import select
from ..revisions import worktree
from ..revisions.git import GitRepo, Revisions
from ..revisions.metrics import parse_metrics
from ..storage.cache import Cache, CorruptObject
from ..storage.lock import LockEntry, PathRecord
from .reporter import Reporter
from .repro import ReproOptions, repro
from .workspace import open_workspace

# A data stage whose recorded bytes the local cache lacks: verify cannot rerun what reads them.
MISSING_DATA = "data missing: not in the local cache (run 'pipetool fetch' first)"


@dataclass
class OutDifference:
    path: str
    locked: str
    produced: str | None  # None when the rerun did not produce it
    metrics: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # key -> (locked, produced)
    within_tolerance: bool = False


@dataclass
class StageVerdict:
    name: str
    status: str  # reproducible | differs | failed | not run
    differences: list[OutDifference] = field(default_factory=list)


@dataclass(frozen=True)
class VerifyOptions:
    targets: tuple[str, ...] = ()
    jobs: int = 1
    metrics_tolerance: float | None = None


def verify(project_root: str, options: VerifyOptions, reporter: Reporter) -> list[StageVerdict]:
    """Rerun the stages at HEAD in a temporary worktree and judge each against HEAD's lock."""
    repo = GitRepo(project_root)
    repo.revision("HEAD")  # a clear error when there is no commit yet
    cache = Revisions(project_root).cache  # where a cached metric's locked bytes are
    with worktree.temporary(repo, "HEAD", purpose="verify") as root:
        return _verify_in(root, options, reporter, cache)


def _verify_in(root: str, options: VerifyOptions, reporter: Reporter, cache: Cache) -> list[StageVerdict]:
    from ..planning.targets import resolve

    ws = open_workspace(Project(root))
    try:
        locked = ws.locks.read()
        targets = resolve(ws.graph, list(options.targets), root, cwd=root) if options.targets else None
        missing = _place_data(ws, locked, select(ws.graph, targets), cache)
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
        verdicts = []
        for name in result.ran + sorted(failed):
            if name in missing:
                verdicts.append(StageVerdict(name, MISSING_DATA))
                continue
            if is_pointer(name):
                continue  # tracked data is put in place, not made: nothing to judge
            if name in failed:
                verdicts.append(StageVerdict(name, "failed" if name in result.failed else "not run"))
                continue
            metrics = {o.path for o in ws.graph.stage(name).outs if o.kind == "metric"}
            verdicts.append(
                _judge(root, name, locked.get(name), produced[name], metrics, options.metrics_tolerance, cache)
            )
        return verdicts
    finally:
        ws.close()


def _place_data(ws, locked: dict[str, LockEntry], selected: list[int], cache: Cache) -> set[str]:
    """Put the tracked data the pointer files at HEAD record into the worktree, from the
    project's cache (a copy: the rerun never writes into it); the data stages whose data it lacks."""
    tree = Tree(ws.root)
    missing = set()
    for index in selected:
        stage = ws.graph.stages[index]
        entry = locked.get(stage.name)
        if not is_pointer(stage.name) or entry is None:
            continue
        for record in entry.outs:
            try:
                if not cache.has_all(record.hash):
                    raise LookupError(record.hash)
                cache.checkout(record.hash, tree.target(record.path), link=False)
            except (LookupError, CorruptObject, UnsafePath, OSError):
                missing.add(stage.name)
    return missing


def _judge(
    root: str,
    name: str,
    locked: LockEntry | None,
    produced: LockEntry,
    metrics: set[str],
    tolerance: float | None,
    cache: Cache,
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
        differences.append(_difference(root, record, new, record.path in metrics, tolerance, cache))
    recorded = {record.path for record in locked.outs}
    differences += [
        OutDifference(path, "(not in the lock)", new.hash) for path, new in now.items() if path not in recorded
    ]
    if not differences:
        return StageVerdict(name, "reproducible")
    if all(d.within_tolerance for d in differences):
        return StageVerdict(name, "reproducible within tolerance", differences)
    return StageVerdict(name, "differs", differences)


def _difference(
    root: str, record: PathRecord, new: PathRecord | None, is_metrics: bool, tolerance: float | None, cache: Cache
) -> OutDifference:
    """How an out differs; for a metrics file, which values and by how much."""
    difference = OutDifference(record.path, record.hash, new.hash if new else None)
    old_text = _locked_text(root, record, cache) if is_metrics else None
    if new is None or old_text is None:
        return difference
    try:
        with open(os.path.join(root, record.path), encoding="utf-8") as handle:
            before, after = parse_metrics(old_text, record.path), parse_metrics(handle.read(), record.path)
    except (ValueError, OSError, UnicodeDecodeError):
        return difference
    difference.metrics = {k: (before.get(k), after.get(k)) for k in {*before, *after} if before.get(k) != after.get(k)}
    difference.within_tolerance = tolerance is not None and all(
        _close(old, new_value, tolerance) for old, new_value in difference.metrics.values()
    )
    return difference


def _locked_text(root: str, record: PathRecord, cache: Cache) -> str | None:
    """The locked bytes of a (metrics) out: from git at HEAD (the worktree had them before the
    rerun), or for a cached one from the project's cache by the locked hash, each checked."""
    repo = GitRepo(root)
    source = repo.source(repo.revision("HEAD"))
    if source.exists(record.path):
        return source.read_text(record.path)
    try:
        data = cache.read_bytes(record.hash)
    except (CorruptObject, OSError):
        return None
    return None if data is None else data.decode("utf-8", errors="replace")


def _close(old: Any, new: Any, tolerance: float) -> bool:
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (old, new))
    return numbers and math.isclose(old, new, rel_tol=0.0, abs_tol=tolerance)
