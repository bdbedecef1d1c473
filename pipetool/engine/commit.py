"""`commit`: record stages' deps, params and outs as they are now in the lock, without running them.

For a command the user ran by hand, or an out they fixed: the outs go into the cache and the
run-cache as after a run, and the lock is written the way repro writes it (journal, then one
rewrite). It works in two steps so that the CLI can ask before anything is written: `plan` hashes
and checks everything and says what would change; `commit` writes exactly that, or refuses when
a file changed in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import GraphError, PipetoolError
from ..files.safepath import Tree, UnsafePath
from ..pipeline.stage import Stage
from ..planning.observe import observe
from ..planning.plan import select
from ..planning.staleness import Observed, Reason, decide
from ..storage import gitignore
from ..storage.lock import LockEntry
from . import outs
from .workspace import Workspace

_UNCHANGED = "pipeline.lock was not changed"


@dataclass(frozen=True)
class Change:
    """A stage whose lock entry `commit` writes, and why (no reasons: forced, already up to date)."""

    name: str
    reasons: tuple[Reason, ...]
    entry: LockEntry


@dataclass
class CommitPlan:
    changes: list[Change] = field(default_factory=list)  # in topological order
    up_to_date: list[str] = field(default_factory=list)  # targets whose lock entry is already this


def plan(ws: Workspace, targets: list[int] | None, *, with_deps: bool = False, force: bool = False) -> CommitPlan:
    """What committing the targets (every stage when None; with_deps: their upstream too) would
    write. Stages whose entry would not change are left out, unless force and they were named:
    then their outs are stored again (`commit -f` alone does not store a whole project again).
    A missing dep or out, an undefined param or an out outside the project is a PipetoolError
    naming the stage."""
    entries = ws.locks.read()
    selected = select(ws.graph, targets, single=not with_deps)
    ws.prefetch(selected)
    result = CommitPlan()
    for index in selected:
        stage = ws.graph.stages[index]
        observed, entry = _now(ws, stage)
        locked = entries.get(stage.name)
        if locked is not None and locked.same_result(entry):
            if force and targets is not None:  # the recorded entry (and duration) kept
                result.changes.append(Change(stage.name, (), locked))
            else:
                result.up_to_date.append(stage.name)
            continue
        reasons = tuple(r for r in decide(stage, locked, observed) if r.kind != "always_changed")
        result.changes.append(Change(stage.name, reasons, entry))
    return result


def commit(ws: Workspace, planned: CommitPlan) -> list[str]:
    """Write the planned entries: outs into the cache (and the run-cache), the lock through its
    journal, cached outs into .gitignore. Nothing is written when a dep, param or out changed
    since the plan was made (a PipetoolError says which stage); a stage whose outs cannot be
    stored stops it, the stages before it committed. Returns the stages committed."""
    stages = [ws.graph.stage(change.name) for change in planned.changes]
    for stage, change in zip(stages, planned.changes, strict=True):
        if not _now(ws, stage)[1].same_result(change.entry):
            raise PipetoolError(
                "its deps, params or outs changed while the commit was being confirmed",
                stage=stage.name,
                hint=f"run 'pipetool commit' again; {_UNCHANGED}",
            )
    entries = ws.locks.read()
    ws.locks.begin(entries)
    done: list[str] = []
    try:
        for stage, change in zip(stages, planned.changes, strict=True):
            try:
                outs.save(stage, change.entry, ws.hasher, ws.cache, ws.runs)
            except OSError as exc:  # the stages before it stay committed, as in a run
                raise PipetoolError(f"could not store its outs in the cache: {exc}", stage=stage.name) from None
            entries[stage.name] = change.entry
            ws.locks.record(stage.name, change.entry)
            done.append(stage.name)
    finally:
        ws.locks.commit(entries, keep=ws.graph.index)
        ws.state.flush()
        ws.runs.flush()
        finished = set(done)  # a set: a commit of 100,000 stages asked this list 100,000 times
        committed = [s for s in stages if s.name in finished]
        gitignore.ignore(ws.root, sorted({o.path for s in committed for o in s.outs if o.cache}))
        gitignore.unignore(ws.root, sorted({o.path for s in committed for o in s.outs if not o.cache}))
    return done


def _now(ws: Workspace, stage: Stage) -> tuple[Observed, LockEntry]:
    """What is on disk for the stage and its lock entry from that, with no duration (pipetool did
    not time the command); the checks repro makes before a run, and every out must exist."""
    tree = Tree(ws.root)
    for out in stage.out_paths:
        try:
            tree.target(out)
        except UnsafePath as exc:
            raise GraphError(f"out {exc}", file=stage.file, line=stage.line, stage=stage.name) from None
    observed = observe(stage, ws.hasher, ws.params)  # an undefined param: SpecError naming the stage
    missing = [path for path, info in observed.deps.items() if info is None]
    if missing:
        raise PipetoolError(
            f"dep '{missing[0]}' does not exist, so it cannot be recorded",
            stage=stage.name,
            hint=f"create it, or run 'pipetool repro {stage.name}'; {_UNCHANGED}",
        )
    try:
        return observed, outs.finished(stage, observed, ws.hasher)
    except outs.MissingOuts as exc:
        raise PipetoolError(
            f"out '{exc.paths[0]}' does not exist, so it cannot be committed",
            stage=stage.name,
            hint=f"run the stage's command first, or 'pipetool repro {stage.name}'; {_UNCHANGED}",
        ) from None
