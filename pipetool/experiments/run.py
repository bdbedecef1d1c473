"""One experiment in one workspace: set the params, repro, save the result as an experiment commit.

The user's workspace for a single `exp run`; a temporary worktree for each point of a grid.
"""

from __future__ import annotations

import posixpath

from ..engine.reporter import Reporter
from ..engine.repro import ReproOptions, raise_for, repro
from ..engine.workspace import Workspace, open_workspace
from ..errors import RunError
from ..pipeline.params import DEFAULT_PARAMS_FILE
from ..pipeline.pipelines import lock_of
from ..pipeline.project import Project
from ..revisions.git import GitRepo
from ..system.repolock import hold
from . import overrides as overrides_mod
from . import refs, snapshot
from .overrides import Override


def run_experiment(
    root: str, overrides: tuple[Override, ...], name: str | None, options: ReproOptions, reporter: Reporter
) -> refs.Experiment:
    """The one place an experiment's repro starts: everything that runs one passes its ReproOptions."""
    repo = GitRepo(root)
    baseline = snapshot.head(repo)
    if name is None:
        name = refs.new_name({e.name for e in refs.local(repo, baseline)})
    refs.check_name(name)
    refs.check_free(repo, baseline, [name])
    project = Project(root)
    with hold(project.ensure_state_dir()):
        overrides_mod.apply(root, overrides)
        ws = open_workspace(project)
        try:
            result = repro(ws, options, reporter)
            paths = result_paths(ws, overrides)
        finally:
            ws.close()
        try:
            raise_for(result)
        except RunError as error:
            error.message += "; no experiment was saved (the workspace keeps its changed params)"
            error.args = (error.render(),)
            raise
        message = f"{name}: " + (" ".join(str(o) for o in overrides) or "no params changed")
        sha = snapshot.commit(repo, paths, baseline, message)
    experiment = refs.Experiment(baseline, name, sha)
    refs.create(repo, experiment)
    return experiment


def result_paths(ws: Workspace, overrides: tuple[Override, ...]) -> list[str]:
    """Project files an experiment commit holds even when git does not track them yet: the lock,
    the params files, the outs git keeps (metrics, plots) and the .gitignore files beside outs."""
    paths = {DEFAULT_PARAMS_FILE, ".gitignore"} | {lock_of(file) for file in ws.files} | {o.file for o in overrides}
    for stage in ws.graph.stages:
        paths.update(dep.file for dep in stage.params)
        for out in stage.outs:
            if out.cache:
                paths.add(posixpath.join(posixpath.dirname(out.path), ".gitignore"))
            else:
                paths.add(out.path)
    return sorted(paths)
