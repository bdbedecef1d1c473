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

from ..files.equivalence import SKIP, Comparison, Equivalence, compare
from ..files.safepath import Tree, UnsafePath
from ..pipeline.pipelines import is_pointer
from ..pipeline.project import Project
from ..pipeline.stage import Out
from ..planning.plan import select
from ..revisions import worktree
from ..revisions.git import GitRepo, Revisions
from ..revisions.metrics import parse_metrics
from ..storage import environments
from ..storage.cache import Cache, CorruptObject
from ..storage.lock import LockEntry, PathRecord
from .determinism import Files, OutDifference, compare_folder, hold, out_rules, second_runs
from .reporter import Reporter
from .repro import ReproOptions, repro
from .workspace import open_workspace

REPRODUCED = ("identical", "equivalent")
# A data stage whose recorded bytes the local cache lacks: verify cannot rerun what reads them.
MISSING_DATA = "data missing: not in the local cache (run 'pipetool fetch' first)"


@dataclass
class StageVerdict:
    name: str
    status: str  # identical | equivalent | differs | nondeterministic | failed | not run
    differences: list[OutDifference] = field(default_factory=list)
    # runs=2: how the stage's second run differed from its first (status nondeterministic)
    unstable: list[OutDifference] = field(default_factory=list)
    # For a stage that differs: what changed from the environment recorded with the lock to this
    # one ("numpy 2.4.6 → 2.4.7"); [] the same environment; None when none was recorded.
    environment: list[str] | None = None

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
        missing = _place_data(ws, locked, select(ws.graph, targets), cache)
        if held:
            hold(root, [o for s in ws.graph.stages for o in s.outs if o.persist], os.path.join(held, "before"))
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
        first = Files(root)
        unstable: dict[str, list[OutDifference]] = {}
        if held:
            ran = [name for name in result.ran if name not in failed]
            first = Files(os.path.join(held, "first"))
            hold(root, [o for name in ran for o in ws.graph.stage(name).outs], first.root)
            unstable = second_runs(
                ws, root, ran, produced, first, os.path.join(held, "before"), options.metrics_tolerance, reporter
            )
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
            by_path = out_rules(ws.graph.stage(name).outs, options.metrics_tolerance)
            verdict = _judge(root, name, locked.get(name), produced[name], by_path, cache, first)
            if unstable.get(name):
                verdict.status, verdict.unstable = "nondeterministic", unstable[name]
            verdicts.append(verdict)
        _environments(root, [v for v in verdicts if v.status in ("differs", "nondeterministic")])
        return verdicts
    finally:
        ws.close()
        if held:
            shutil.rmtree(held, ignore_errors=True)


def _environments(root: str, verdicts: list[StageVerdict]) -> None:
    """Beside each stage that differs: how this environment differs from the one HEAD recorded
    for it (pipeline.env.json), so the user knows whether to look at the code or the machine."""
    if not verdicts:
        return
    from ..files.trusted_cache import key_path
    from ..system.environment import differences, fingerprint

    repo = GitRepo(root)
    source = repo.source(repo.revision("HEAD"))  # the worktree's own file has this run's
    folder = key_path()
    now = fingerprint(cache_dir=folder and os.path.dirname(folder))
    for verdict in verdicts:
        recorded = environments.of_stage(source.read_text, verdict.name)
        verdict.environment = None if recorded is None else differences(recorded, now)


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
    rules: dict[str, Out],
    cache: Cache,
    files: Files,
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
    root: str, record: PathRecord, new: PathRecord | None, out: Out | None, cache: Cache, files: Files
) -> OutDifference:
    """How an out differs by its rule; for a metrics file also which values changed."""
    rule = out.verify if out is not None else Equivalence()
    difference = OutDifference(record.path, record.hash, new.hash if new else None, rule=rule.describe())
    if new is None:
        difference.comparison = Comparison("differs", note="the rerun did not produce it")
        return difference
    if rule.mode == SKIP:
        difference.comparison, difference.within_tolerance = Comparison("skipped"), True
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


def _compare_locked_folder(record: PathRecord, files: Files, cache: Cache, rule: Equivalence) -> Comparison:
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
            dest = os.path.normpath(os.path.join(held, record.path, relpath))
            if data is not None and dest.startswith(os.path.join(held, record.path) + os.sep):
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with open(dest, "wb") as handle:
                    handle.write(data)
        return compare_folder(record.path, Files(held), files, rule)
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
