"""Repro: run the stale stages in order, record each success in the lock as it finishes.

Staleness is decided when a stage becomes ready, after its upstream has finished, so an
upstream that rewrote identical bytes leaves its downstream alone (early cutoff).
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from .. import executor as executors
from ..errors import ClusterError, GraphError, LockError, PipetoolError, RunError
from ..executor import ExecutorChoice, StageRun
from ..files.safepath import Tree, UnsafePath
from ..pipeline.pipelines import file_of, lock_of
from ..pipeline.stage import Stage
from ..planning.observe import observe, param_values
from ..planning.plan import Schedule, select
from ..planning.staleness import Observed, Reason, decide
from ..storage import gitignore, pointer
from ..storage.hashing import HashInfo
from ..storage.lock import LockEntry, PathRecord, read_all
from ..storage.logs import StageLogs, log_path
from ..system.interrupts import guarded
from . import outs
from .policy import Action, Decision, decide_stage
from .reporter import Reporter
from .workspace import Workspace


@dataclass(frozen=True)
class ReproOptions:
    targets: tuple[int, ...] | None = None  # stage indexes; None for all
    force: bool = False
    single: bool = False
    downstream: bool = False
    dry: bool = False
    keep_going: bool = False
    jobs: int = 1
    run_cache: bool = True
    executor: ExecutorChoice = ExecutorChoice()


@dataclass
class ReproResult:
    ran: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    interrupted: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)  # from the run-cache, not run


def repro(ws: Workspace, options: ReproOptions, reporter: Reporter) -> ReproResult:
    selected = select(ws.graph, options.targets, single=options.single, downstream=options.downstream)
    files = None if options.targets is None else lock_files(ws, selected)
    entries = ws.locks.read(ignore_lock=options.force, files=files)
    _check_paths(ws, selected)
    ws.prefetch(selected)
    if options.dry:
        return _dry_run(ws, selected, entries, options, reporter)
    before = dict(entries)
    logs = StageLogs(ws.project.state_dir)

    def output(name: str, line: str) -> None:  # a running stage's line: to its log, and the terminal
        logs.write(name, line)
        reporter.stage_output(name, line)

    store = executors.ProjectStore(ws.project.state_dir, ws.hasher, ws.cache)
    runner = executors.start(options.executor, ws.root, options.jobs, output, reporter.warning, store)
    ws.locks.begin(entries)
    reporter.begin(len(selected))
    ws.hasher.progress = reporter
    run = _Run(ws, selected, entries, options, reporter, runner, logs)
    try:
        return run.run()
    finally:
        ws.hasher.progress = None
        reporter.end()
        runner.close()
        logs.close()
        ws.locks.commit(entries, keep=ws.graph.index)
        # The environment of the stages that produced new results (none: nothing is computed);
        # a stage whose entry went back to HEAD's gets HEAD's environment back with it, so that
        # pipeline.env.json is as committed when pipeline.lock is.
        from ..storage import environments

        changed = {n for n in entries if entries.get(n) is not before.get(n)}
        environments.record(ws.root, [n for n in run.result.ran if n in changed and n not in run.from_head])
        environments.restore(ws.root, sorted(run.from_head & changed), run.committed.read_text)
        ws.state.flush()
        ws.runs.flush()
        _sync_gitignore(ws, selected, before, entries, files)


def lock_files(ws: Workspace, indexes: list[int]) -> set[str]:
    """The pipeline (and pointer) files of these stages: those whose locks a command on them reads."""
    return {file_of(ws.graph.stages[i].name) for i in indexes}


def _check_paths(ws: Workspace, selected: list[int]) -> None:
    """Before anything runs: params are defined, outs stay inside the project, and deps that
    no stage makes exist (a URL dep is asked of its backend when the stage is judged)."""
    from ..files.safepath import is_url

    tree = Tree(ws.root)
    for index in selected:
        stage = ws.graph.stages[index]
        param_values(stage, ws.params)
        for out in stage.out_paths:
            try:
                tree.target(out)
            except UnsafePath as exc:
                raise GraphError(
                    f"out {exc}",
                    file=stage.file,
                    line=stage.line,
                    stage=stage.name,
                    hint="outs must be inside the project; remove the symlink or change the path",
                ) from None
        for dep in stage.deps:
            if is_url(dep):
                continue
            if not ws.graph.producers_of(dep) and not os.path.lexists(os.path.join(ws.root, dep)):
                raise GraphError(
                    f"dep '{dep}' does not exist and no stage makes it",
                    file=stage.file,
                    line=stage.line,
                    stage=stage.name,
                    hint="create the file, fix the path, or add a stage with it as an out",
                )


def _sync_gitignore(
    ws: Workspace,
    selected: list[int],
    before: dict[str, LockEntry],
    after: dict[str, LockEntry],
    files: set[str] | None = None,
) -> None:
    """Cached outs of the selected stages are git-ignored, their other outs not; outs that went
    away are not. Only the .gitignore files of those are read: a repro of one stage of a big
    project does not visit every folder. files: the pipeline files whose locks were read (None:
    all); the outs of the other files' stages are kept as they declare them."""
    stages = [ws.graph.stages[i] for i in selected]
    cached = {out.path for stage in stages for out in stage.outs if out.cache}
    recorded = {r.path for stage in stages if stage.name in after for r in after[stage.name].outs}
    kept = {r.path for name, e in after.items() if name in ws.graph.index for r in e.outs}
    if files is not None:
        kept |= {path for stage in ws.graph.stages if file_of(stage.name) not in files for path in stage.out_paths}
    gone = {r.path for e in before.values() for r in e.outs} - kept
    gitignore.ignore(ws.root, sorted(cached & recorded))
    gitignore.unignore(ws.root, sorted((gone | recorded) - cached))


def _dry_run(
    ws: Workspace, selected: list[int], entries: dict, options: ReproOptions, reporter: Reporter
) -> ReproResult:
    """Say what would run and why: the same decisions as a real run, for every stage at once, so a
    stage whose upstream would run is named as running after it."""
    result = ReproResult()
    will_run: set[int] = set()
    for index in selected:
        stage = ws.graph.stages[index]
        reasons = decide(stage, entries.get(stage.name), observe(stage, ws.hasher, ws.params))
        pending = [ws.graph.stages[u].name for u in ws.graph.upstream[index] if u in will_run]
        decision = _decide(stage, reasons, options, upstream_pending=pending)
        if decision.action is Action.FROZEN:
            reporter.frozen(stage.name, decision.reasons)
        elif decision.action in (Action.RUN, Action.RECORD):
            will_run.add(index)
            result.ran.append(stage.name)
            reporter.would_run(stage.name, decision.reasons, stage.cmd)
        else:
            result.up_to_date.append(stage.name)
    reporter.summary(result.ran, [], [], result.up_to_date, dry=True)
    return result


def _decide(stage: Stage, reasons: Sequence[Reason], options: ReproOptions, **around) -> Decision:
    """The policy's decision for a stage under this repro's flags (around: what happened upstream)."""
    return decide_stage(stage, reasons, force=options.force, run_cache=options.run_cache, **around)


class _Run:
    """One repro's moving parts: the schedule, the executor, and what each stage observed."""

    def __init__(
        self,
        ws: Workspace,
        selected: list[int],
        entries: dict[str, LockEntry],
        options: ReproOptions,
        reporter: Reporter,
        runner: executors.Executor,
        logs: StageLogs,
    ) -> None:
        self.ws = ws
        self.entries = entries
        self.options = options
        self.reporter = reporter
        self.schedule = Schedule(ws.graph, selected)
        self.logs = logs
        self.executor = runner
        self.observed: dict[str, Observed] = {}
        self.result = ReproResult()
        self.state_dir = os.path.relpath(ws.project.state_dir, ws.root)  # as the user sees it
        self.committed = _Committed(ws.root)
        self.from_head: set[str] = set()  # stages whose recorded entry is HEAD's (see _unchanged_or)
        self.on_remote: dict[str, HashInfo] = {}  # outs this run left on a remote (--no-download)

    def run(self) -> ReproResult:
        with guarded():
            try:
                while not self.schedule.done:
                    self._start_ready()
                    if not self.executor.running:
                        break  # nothing running and nothing ready: all done
                    self._finish(self.executor.wait())
            except KeyboardInterrupt:
                self._interrupt()
            except ClusterError as error:
                self._interrupt()
                raise self._lost(error) from None
        self._summarize()
        return self.result

    def _start_ready(self, before: int | None = None) -> None:
        """Fill the executor's free slots; with `before`, see Schedule.pop_ready."""
        fits = lambda index: self.executor.fits(self.ws.graph.stages[index])  # noqa: E731
        while not self.executor.full and (index := self.schedule.pop_ready(fits, before)) is not None:
            self._start(index)

    def _start(self, index: int) -> None:
        stage = self.ws.graph.stages[index]
        try:
            observed = observe(stage, self.ws.hasher, self.ws.params)
        except PipetoolError as exc:  # a URL dep whose source cannot be read: the stage fails, as with a missing dep
            self._fail(index, exc.message)
            return
        if self.on_remote:  # an upstream's out that this run left on the remote is a dep all the same
            deps = {path: info or self.on_remote.get(path) for path, info in observed.deps.items()}
            observed = dataclasses.replace(observed, deps=deps)
        decision = _decide(stage, decide(stage, self.entries.get(stage.name), observed), self.options)
        if decision.action is Action.FROZEN:
            self.reporter.frozen(stage.name, decision.reasons)
            self.schedule.finish(index)
            return
        if decision.action is Action.UP_TO_DATE:
            self.reporter.up_to_date(stage.name)
            self.result.up_to_date.append(stage.name)
            self.schedule.finish(index)
            return
        if decision.action is Action.RECORD:
            self._record_data(index, stage, observed, decision)
            return
        missing = [path for path, info in observed.deps.items() if info is None]
        if missing:
            self._fail(index, f"dep(s) missing: {', '.join(missing)}")
            return
        if decision.run_cache and self._restore(index, stage, observed, decision):
            return
        self.reporter.running(stage.name, decision.reasons)
        self.executor.open()  # before the outs go: a cluster that cannot be reached costs nothing
        problem = outs.prepare(self.ws.root, stage)
        if problem:
            self._fail(index, problem)
            return
        self.observed[stage.name] = observed
        for cmd in stage.cmd:
            self.reporter.verbose(f"  $ {cmd}")
        self.logs.start(stage.name)
        self.reporter.verbose(f"  output also goes to {log_path(self.state_dir, stage.name)}")
        self.executor.submit(stage)

    def _record_data(self, index: int, stage: Stage, observed: Observed, decision: Decision) -> None:
        """A data stage whose data changed: its bytes go to the cache and its pointer file records
        them, as `pipetool add` would (DVC 3's repro commits a changed data source); a missing
        one fails the stage, so nothing downstream runs on data that is not there."""
        path = stage.out_paths[0]
        info = observed.outs.get(path)
        if info is None:
            self._fail(
                index,
                f"data source '{path}' is missing (get it with 'pipetool pull' or 'pipetool checkout {stage.name}')",
            )
            return
        self.reporter.running(stage.name, decision.reasons)
        started = time.perf_counter()
        record = PathRecord.of(path, info)
        try:
            tracked = pointer.read(self.ws.root, stage.name)
            if tracked is None:
                raise LockError("the pointer file went away", file=stage.name)
            tracked = tracked.with_record(record)
            entries = self.ws.hasher.dir_entries(path) if info.is_dir else None
            self.ws.cache.store(os.path.join(self.ws.root, path), info.hash, entries, link=tracked.cache)
            pointer.write(self.ws.root, tracked)
        except (OSError, PipetoolError) as exc:
            self._fail(index, f"could not record its data: {exc}")
            return
        self.entries[stage.name] = tracked.entry()
        self.reporter.succeeded(stage.name, StageRun(stage.name, seconds=time.perf_counter() - started))
        self.result.ran.append(stage.name)
        self.schedule.finish(index)

    def _restore(self, index: int, stage: Stage, observed: Observed, decision: Decision) -> bool:
        """Put back the outs of an identical earlier run instead of running; False when none."""
        locked = self.entries.get(stage.name)
        entry = outs.restore(
            self.ws.root, stage, observed, self.ws.cache, self.ws.runs, locked if decision.restore_locked else None
        )
        if entry is None:
            return False
        self._record(stage, self._unchanged_or(stage.name, entry))
        self.reporter.restored(stage.name, decision.reasons)
        self.result.restored.append(stage.name)
        self.schedule.finish(index)
        return True

    def _unchanged_or(self, name: str, entry: LockEntry) -> LockEntry:
        """The entry to record: the one read at the start when this run reproduced it, else the
        committed one (HEAD's lock) when it did, else the new one (see _unchanged_or below)."""
        kept = _unchanged_or(self.entries.get(name), entry)
        if kept is not entry:
            return kept
        kept = _unchanged_or(self.committed.get(name, entry), entry)
        if kept is not entry:
            self.from_head.add(name)
        else:
            self.from_head.discard(name)
        return kept

    def _record(self, stage: Stage, entry: LockEntry) -> None:
        self.entries[stage.name] = entry
        self.ws.locks.record(stage.name, entry)

    def _finish(self, run: StageRun, start_next: bool = True) -> None:
        """Record a stage whose cmd ended. Once its outs are hashed (a missing one fails it), the
        next stage starts in the slot it freed, and storing its outs in the cache goes on while
        that stage's cmd runs: a quarter to a third of the time between two quick stages."""
        index = self.ws.graph.index[run.name]
        stage = self.ws.graph.stages[index]
        self.logs.finish(run.name)
        if not run.ok:
            self._fail(index, run.failure(), run.tail, self.logs.path(run.name))
            return
        if run.outs is not None:  # left on the remote: recorded by the hashes the worker uploaded
            records = tuple(PathRecord.of(path, run.outs[path]) for path in stage.out_paths)
            entry = outs.lock_entry(stage, self.observed.pop(stage.name), records, round(run.seconds, 2))
            self.on_remote.update(run.outs)
            self._record(stage, self._unchanged_or(stage.name, entry))
            self.reporter.succeeded(stage.name, run)
            self.result.ran.append(stage.name)
            self.schedule.finish(index)
            return
        try:
            entry = outs.finished(stage, self.observed.pop(stage.name), self.ws.hasher, round(run.seconds, 2))
        except outs.MissingOuts as missing:
            self._fail(
                index,
                "its cmd succeeded but did not create the declared out(s) "
                + ", ".join(f"'{p}'" for p in missing.paths),
            )
            return
        self.reporter.succeeded(stage.name, run)
        if start_next:
            self._start_ready(before=index)
        entry = self._unchanged_or(stage.name, entry)
        try:
            outs.save(stage, entry, self.ws.hasher, self.ws.cache, self.ws.runs if self.options.run_cache else None)
        except OSError as exc:
            self._fail(index, f"could not store its outs in the cache: {exc}")
            return
        self._record(stage, entry)
        self.result.ran.append(stage.name)
        self.schedule.finish(index)

    def _fail(self, index: int, message: str, tail: list[str] | None = None, log: str | None = None) -> None:
        name = self.ws.graph.stages[index].name
        self.reporter.failed(name, message, tail or [], os.path.relpath(log, self.ws.root) if log else None)
        self.result.failed.append(name)
        self._skip(self.schedule.finish(index, ok=False), upstream_failed=[name])
        if not self.options.keep_going:
            self._skip(self.schedule.abandon(), stopped=True)

    def _skip(self, indexes: list[int], **around) -> None:
        """Tell of stages the schedule gave up on, with the policy's reason (one line per reason)."""
        groups: dict[str, list[str]] = {}
        for index in indexes:
            stage = self.ws.graph.stages[index]
            decision = _decide(stage, (), self.options, **around)
            assert decision.action is Action.SKIP, decision
            groups.setdefault(decision.because, []).append(stage.name)
        for because, names in groups.items():
            self.reporter.skipped(names, because)
            self.result.skipped += names

    def _interrupt(self) -> None:
        runs = self.executor.cancel()
        for run in runs:
            if run.ok:  # finished in the meantime: keep its result
                self._finish(run, start_next=False)
            else:
                self.result.interrupted.append(run.name)
        # Ctrl-C between taking a stage and starting its cmd, or between stages, still stops the
        # run: the stage taken (else the next one) is named, so the run never passes for complete.
        taken = [i for i in self.schedule.started if i in self.schedule.unfinished]
        self.result.interrupted += [n for n in self._names(sorted(taken)) if n not in self.result.interrupted]
        left = self._names(self.schedule.abandon())
        if not self.result.interrupted and left:
            self.result.interrupted.append(left[0])

    def _lost(self, error: ClusterError) -> ClusterError:
        """The cluster went away mid-run: say what stopped and that finished stages are kept."""
        r = self.result
        if not (r.ran or r.restored or r.interrupted):
            return error
        stopped = f"stopped {', '.join(repr(n) for n in r.interrupted)}; " if r.interrupted else ""
        return ClusterError(
            f"{error.message}; {stopped}{len(r.ran) + len(r.restored)} finished stage(s) are recorded in pipeline.lock",
            hint=error.hint or "run 'pipetool repro' again to continue where it stopped",
        )

    def _names(self, indexes: list[int]) -> list[str]:
        return [self.ws.graph.stages[i].name for i in indexes]

    def _summarize(self) -> None:
        r = self.result
        if r.interrupted:
            return
        self.reporter.summary(r.ran, r.failed, r.skipped, r.up_to_date, restored=r.restored)


def _unchanged_or(previous: LockEntry | None, entry: LockEntry) -> LockEntry:
    """The recorded entry when a rerun produced the same results (duration aside), else the new one.

    A rerun that only took a different time leaves pipeline.lock byte for byte as it was, so a
    reproduced result never dirties git.
    """
    return previous if previous is not None and previous.same_result(entry) else entry


_HASH = re.compile(r"[0-9a-f]{32}(?:\.dir)?")  # a hash as pipetool writes it in a lock


class _Committed:
    """The lock entries committed at HEAD, read per pipeline file and only when a stage's new entry
    differs from the one read at the start: a param changed and changed back then finds its
    committed entry again, duration included. Outside git, before the first commit, or with a
    committed lock that cannot be read, there are none."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._source = None  # HEAD's files, once a stage needs them (False: there are none)
        self._texts: dict[str, str] = {}  # per pipeline file: its lock's text at HEAD
        self._entries: dict[str, dict[str, LockEntry]] = {}  # per pipeline file, parsed when needed
        self._hashes: dict[str, frozenset[str]] = {}  # per pipeline file, the hashes its lock's text holds

    def get(self, name: str, new: LockEntry) -> LockEntry | None:
        """HEAD's entry of the stage, where it may hold new's results. A committed lock that lacks
        one of new's hashes cannot, and is not parsed: most reruns make new bytes, and the YAML
        parse (with its import) would cost more than the rest of a one-stage repro."""
        file = file_of(name)
        if file not in self._texts:
            self._texts[file] = self._read(lock_of(file))
        text = self._texts[file]
        if not text or not all(self._holds(file, record.hash) for record in (*new.deps, *new.outs)):
            return None
        if file not in self._entries:
            try:
                self._entries[file] = read_all(self._source, [file])
            except PipetoolError:
                self._entries[file] = {}
        return self._entries[file].get(name)

    def _holds(self, file: str, digest: str) -> bool:
        """Whether the committed lock's text holds this hash: a lookup in the set of the hashes it
        holds, made once, since searching the text for each of the thousands of stages a run
        records would take time quadratic in the pipeline's size; a URL dep's version (an etag,
        say) is searched for in the text."""
        if not _HASH.fullmatch(digest):
            return digest in self._texts[file]
        if file not in self._hashes:
            self._hashes[file] = frozenset(_HASH.findall(self._texts[file]))
        return digest in self._hashes[file]

    def read_text(self, relpath: str) -> str | None:
        """A file of HEAD (None when absent, or outside git)."""
        return self._read(relpath) or None

    def _read(self, relpath: str) -> str:
        from ..revisions.git import GitRepo

        try:
            if self._source is None:
                repo = GitRepo(self.root)
                self._source = repo.source(repo.revision("HEAD"))
            return (self._source.read_text(relpath) or "") if self._source else ""
        except PipetoolError:
            self._source = False
            return ""


def raise_for(result: ReproResult) -> None:
    """Turn a run's failures into the command's error (exit 1), or interruption (exit 130)."""
    if result.interrupted:
        error = RunError(
            f"interrupted: stopped {', '.join(repr(n) for n in result.interrupted)}; "
            f"{len(result.ran)} finished stage(s) are recorded in pipeline.lock",
            hint="run 'pipetool repro' again to continue where it stopped",
        )
        error.exit_code = 130
        raise error
    if result.failed:
        raise RunError(f"{len(result.failed)} stage(s) failed: {', '.join(result.failed)}")
