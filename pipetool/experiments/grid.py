"""A grid of experiments, N at once, each in its own temporary git worktree; the user's workspace is
never touched.

Every worktree shares the project's cache and run-cache (its `.pipetool/cache` and `.pipetool/runs`
are links to the project's), so results are stored once. Before the first experiment of a grid
starts, the stages that no override touches (and that nothing touched is upstream of) run once in
its worktree; every other experiment then finds them in the run-cache instead of running them.

Each experiment runs in its worktree in its own process, the worker (cli/exp_worker.py), given the
experiment and the grid's repro options as a payload file (payload.py): Ctrl-C reaches all of
them, and each stops its stages and keeps its lock sound.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections import deque
from dataclasses import dataclass, replace

from ..engine.checkout import checkout
from ..engine.repro import ReproOptions, repro
from ..engine.workspace import open_workspace
from ..errors import ExperimentError
from ..pipeline.project import Project
from ..revisions import worktree
from ..revisions.git import GitRepo
from ..system.interrupts import HELD, POLL_SECONDS, guarded
from ..terminal.report import ConsoleReporter
from . import payload, refs
from .overrides import Override, overlaps
from .report import GridReporter

LOG_DIR = os.path.join("exps", "logs")  # under .pipetool: the output of failed experiments
STOP_SECONDS = 10.0


@dataclass(frozen=True)
class Planned:
    """An experiment to run: its name, params, the commit it starts from and the tree it runs."""

    name: str
    overrides: tuple[Override, ...]
    baseline: str  # sha: the experiment commit's parent
    source: str  # sha whose files it runs: the baseline, or a snapshot with uncommitted changes

    def describe(self) -> str:
        return " ".join(str(o) for o in self.overrides) or "no params changed"


@dataclass
class GridResult:
    planned: list[Planned]
    outcomes: list[Outcome]  # the experiments that finished (saved or failed), in the order they did
    interrupted: bool = False  # Ctrl-C: the experiments still running were stopped, the rest not started

    @property
    def saved(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.ok]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]


@dataclass
class Outcome:
    planned: Planned
    experiment: refs.Experiment | None = None  # None when it failed
    why: str = ""
    log: str | None = None  # the kept output of a failed experiment

    @property
    def ok(self) -> bool:
        return self.experiment is not None


def plan(
    points: list[tuple[Override, ...]], name: str | None, baseline: str, source: str, taken: set[str]
) -> list[Planned]:
    """Name each point of the grid: NAME, or NAME-1, NAME-2... for several, or generated names."""
    taken = set(taken)
    planned = []
    for number, point in enumerate(points, start=1):
        if name is None:
            point_name = refs.new_name(taken)
        else:
            point_name = name if len(points) == 1 else f"{name}-{number}"
        refs.check_name(point_name)
        taken.add(point_name)
        planned.append(Planned(point_name, point, baseline, source))
    return planned


def run_grid(root: str, planned: list[Planned], jobs: int, options: ReproOptions, reporter: GridReporter) -> GridResult:
    """Run the experiments, up to jobs at once; one that fails does not stop the others.

    options are each experiment's repro options (and the shared stages' run).
    """
    grid = _Grid(root, planned, jobs, options, reporter)
    reporter.begin(len(planned))
    try:
        return grid.run()
    finally:
        grid.clean_up()


def raise_for(result: GridResult) -> None:
    """Turn a grid's failures into the command's error (exit 1), or interruption (exit 130)."""
    if result.interrupted:
        error = ExperimentError(
            f"interrupted: {len(result.planned) - len(result.outcomes)} experiment(s) did not finish"
        )
        error.exit_code = 130
        raise error
    if result.failed:
        raise ExperimentError(f"{len(result.failed)} of {len(result.planned)} experiment(s) failed")


@dataclass
class _Running:
    planned: Planned
    path: str  # the worktree
    process: subprocess.Popen
    log: str
    pump: threading.Thread


class _Grid:
    """The moving parts of one grid run: what is running, where, and how each one ended."""

    def __init__(
        self, root: str, planned: list[Planned], jobs: int, options: ReproOptions, reporter: GridReporter
    ) -> None:
        self.root = root
        self.planned = planned
        self.jobs = jobs
        self.options = options
        self.reporter = reporter
        self.running: dict[str, _Running] = {}
        self.outcomes: list[Outcome] = []
        self.repo = GitRepo(root)
        self.state_dir = Project(root).ensure_state_dir()
        for shared in ("cache", "runs", LOG_DIR):
            os.makedirs(os.path.join(self.state_dir, shared), exist_ok=True)
        # On a cluster the worktrees must be where every worker sees the project: inside it.
        shared = os.path.join(self.state_dir, "tmp") if options.executor.kind == "dask" else None
        if shared:
            os.makedirs(shared, exist_ok=True)
        self.folder = tempfile.mkdtemp(prefix="pipetool-exp-", dir=shared)
        self.ended: queue.SimpleQueue[str] = queue.SimpleQueue()  # C code: Ctrl-C never leaves it locked
        self.prepared: dict[str, str | None] = {}  # source -> why its shared stages failed, or None

    def run(self) -> GridResult:
        pending = deque(self.planned)
        with guarded():
            try:
                while pending or self.running:
                    while pending and len(self.running) < self.jobs:
                        self._launch(pending.popleft())
                    if self.running:
                        self._finish_next()
            except KeyboardInterrupt:
                self._stop_all()
                # After the last one ended and was recorded, nothing was left to interrupt.
                return GridResult(self.planned, self.outcomes, interrupted=len(self.outcomes) < len(self.planned))
            except BaseException:  # pipetool could not go on (e.g. a worktree): stop what runs first
                self._stop_all()
                raise
        return GridResult(self.planned, self.outcomes)

    def _finish_next(self) -> None:
        """Record the next experiment to end. Held from taking it off the queue to recording its
        outcome: a Ctrl-C in between would report a saved experiment as not finished (and a queue
        run would keep it queued, to be run again under a name already taken)."""
        while True:  # a short wait each time round, so that Ctrl-C is seen soon
            with HELD:
                try:
                    name = self.ended.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    continue
                self._finish(name)
                return

    # -- starting one ---------------------------------------------------------------------------
    def _launch(self, planned: Planned) -> None:
        if self.prepared.get(planned.source):
            self._failed(planned, self.prepared[planned.source])
            return
        path = os.path.join(self.folder, planned.name)
        root = worktree.add(self.repo, path, planned.source, label=planned.source[:7])
        try:
            self._set_up(planned, path, root)
        except BaseException:
            worktree.remove(self.repo, path)
            raise
        if self.prepared[planned.source]:
            worktree.remove(self.repo, path)
            self._failed(planned, self.prepared[planned.source])
            return
        self._spawn(planned, path, root)

    def _set_up(self, planned: Planned, path: str, root: str) -> None:
        """The worktree as the experiment needs it; the first of its source runs the shared stages."""
        if planned.source != planned.baseline:  # run the snapshot's files, on top of the baseline
            self.repo.repo.git.execute(["git", "-C", path, "reset", "-q", "--soft", planned.baseline])
        _share_state(root, self.state_dir)
        self._restore_outs(root)
        if planned.source not in self.prepared:
            self.prepared[planned.source] = self._run_shared_stages(root, planned.source)

    def _restore_outs(self, root: str) -> None:
        """The baseline's outs from the shared cache, where it has them (the rest is run or restored)."""
        ws = open_workspace(Project(root))
        try:
            checkout(ws, None)
        finally:
            ws.close()

    def _run_shared_stages(self, root: str, source: str) -> str | None:
        """Run, once, the stages no experiment of this source changes; why they failed, or None."""
        touched = [o for p in self.planned if p.source == source for o in p.overrides]
        ws = open_workspace(Project(root))
        try:
            shared = shared_stages(ws.graph, touched)
            if not shared:
                return None
            self.reporter.shared([ws.graph.stages[i].name for i in shared])
            console = ConsoleReporter(out=self.reporter.writer("shared"))
            result = repro(ws, replace(self.options, targets=tuple(shared)), console)
        finally:
            ws.close()
        if result.interrupted:
            raise KeyboardInterrupt
        if result.failed:
            return f"shared stage(s) failed before it started: {', '.join(result.failed)}"
        return None

    def _spawn(self, planned: Planned, path: str, root: str) -> None:
        job = os.path.join(self.folder, f"{planned.name}.json")  # beside its worktree, not in it
        payload.write(job, payload.Job(os.path.abspath(root), planned.name, planned.overrides, self.options))
        command = [sys.executable, "-P", "-m", "pipetool.cli.exp_worker", job]
        log = os.path.join(self.state_dir, LOG_DIR, f"{planned.name}.log")
        handle = open(log, "w", encoding="utf-8")
        self.reporter.started(planned.name, planned.describe())
        # Held: a Ctrl-C between starting the experiment and noting it would leave it running
        # unseen by _stop_all; and start() waits on an event the new thread sets.
        with HELD:
            try:
                process = subprocess.Popen(
                    command,
                    cwd=root,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    text=True,
                    errors="replace",
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
            except BaseException:
                handle.close()
                worktree.remove(self.repo, path)
                raise
            pump = threading.Thread(target=self._pump, args=(planned.name, process, handle), daemon=True)
            self.running[planned.name] = _Running(planned, path, process, log, pump)
            pump.start()

    def _pump(self, name: str, process: subprocess.Popen, handle) -> None:
        """Pass the experiment's output on under its name and into its log file, to the end: the
        grid learns it ended even when the terminal went away."""
        shown = True
        try:
            for line in process.stdout:
                handle.write(line)
                if shown:
                    try:
                        self.reporter.line(name, line.rstrip("\n"))
                    except (OSError, ValueError):
                        shown = False
        finally:
            handle.close()
            process.wait()
            self.ended.put(name)

    # -- one ending -----------------------------------------------------------------------------
    def _finish(self, name: str) -> None:
        run = self.running.pop(name)
        run.pump.join()
        worktree.remove(self.repo, run.path)
        code = run.process.returncode
        saved = [e for e in refs.local(self.repo, run.planned.baseline) if e.name == name] if code == 0 else []
        if saved:
            os.remove(run.log)
            self.outcomes.append(Outcome(run.planned, saved[0]))
            self.reporter.saved(name, saved[0].sha, saved[0].ref)
            return
        why = f"exit code {code}" if code else "no experiment commit was made"
        self._failed(run.planned, f"{why}; its output is in {os.path.relpath(run.log, self.root)}", run.log)

    def _failed(self, planned: Planned, why: str, log: str | None = None) -> None:
        self.outcomes.append(Outcome(planned, None, why, log))
        self.reporter.failed(planned.name, why)

    def _stop_all(self) -> None:
        """Ctrl-C or SIGTERM: each experiment stops its stages (as repro does on SIGTERM)."""
        for run in self.running.values():
            if run.process.poll() is None:
                run.process.send_signal(signal.SIGTERM)
        for run in self.running.values():
            try:
                run.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                run.process.kill()
                run.process.wait()

    def clean_up(self) -> None:
        for run in self.running.values():
            worktree.remove(self.repo, run.path)
        self.running.clear()
        self.repo.repo.git.worktree("prune")
        shutil.rmtree(self.folder, ignore_errors=True)


def _uses(dep, override: Override) -> bool:
    return dep.file == override.file and (dep.keys is None or any(overlaps(k, override.key) for k in dep.keys))


def _share_state(root: str, state_dir: str) -> None:
    """The worktree's cache and run-cache are the project's: results stored once, found by all."""
    own = Project(root).ensure_state_dir()
    for shared in ("cache", "runs"):
        link = os.path.join(own, shared)
        if not os.path.lexists(link):
            os.symlink(os.path.join(state_dir, shared), link)


def shared_stages(graph, overrides: list[Override]) -> list[int]:
    """Stages (in order) that use no overridden param and have no such stage upstream."""
    touched = {
        index
        for index, stage in enumerate(graph.stages)
        for override in overrides
        if override.file in stage.deps or any(_uses(dep, override) for dep in stage.params)
    }
    affected = graph.closure(touched, "down") if touched else set()
    return [i for i in graph.order if i not in affected]
