"""Starting experiments apart from the workspace: the points of a grid named and checked, then
run now in temporary worktrees (grid.py) or queued to run later (queue.py).

(One experiment in the workspace itself is `run.run_experiment`.)
"""

from __future__ import annotations

from ..engine.repro import ReproOptions
from ..errors import ExperimentError
from ..pipeline.project import Project
from ..revisions.git import GitRepo
from . import grid, queue, refs, snapshot
from .overrides import Override
from .report import GridReporter


def plan(root: str, points: list[tuple[Override, ...]], name: str | None) -> list[grid.Planned]:
    """Each point named (NAME-1, NAME-2... or generated), starting from HEAD with the uncommitted
    changes; a name taken by an experiment of HEAD or by a queued one is an error."""
    repo = GitRepo(root)
    baseline = snapshot.head(repo)
    source = snapshot.uncommitted(repo) or baseline
    queued = {e.planned.name for e in queue.entries(Project(root).ensure_state_dir())[0]}
    planned = grid.plan(points, name, baseline, source, {e.name for e in refs.local(repo, baseline)} | queued)
    refs.check_free(repo, baseline, [p.name for p in planned])
    clash = sorted(queued & {p.name for p in planned})
    if clash:
        raise ExperimentError(
            f"an experiment named '{clash[0]}' is already queued",
            hint=f"choose another name, or 'pipetool exp queue remove {clash[0]}' first",
        )
    return planned


def run_apart(
    root: str,
    points: list[tuple[Override, ...]],
    name: str | None,
    jobs: int,
    options: ReproOptions,
    reporter: GridReporter,
) -> grid.GridResult:
    """Run the points now, up to jobs at once, each in its own worktree; the workspace stays as it is."""
    return grid.run_grid(root, plan(root, points, name), jobs, options, reporter)


def enqueue(root: str, points: list[tuple[Override, ...]], name: str | None) -> list[queue.Entry]:
    """Queue the points (with the workspace's files as they are now) for `exp queue start`."""
    planned = plan(root, points, name)
    return queue.add(Project(root).ensure_state_dir(), GitRepo(root), planned)
