"""Keeping an experiment: bring it into the workspace (`exp apply`), or make a branch of it
(`exp branch`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..engine.checkout import CheckoutResult, checkout
from ..engine.workspace import open_workspace
from ..errors import ExperimentError
from ..files.safepath import Tree, UnsafePath
from ..pipeline.project import Project
from ..revisions.git import GitRepo
from ..system.repolock import hold
from . import refs, snapshot


@dataclass
class Applied:
    experiment: refs.Experiment
    written: list[str] = field(default_factory=list)  # files from git, relative to the repository
    deleted: list[str] = field(default_factory=list)
    stash: str | None = None  # where the overwritten uncommitted changes went (git stash list)
    outs: CheckoutResult = field(default_factory=CheckoutResult)


def apply(root: str, name: str) -> Applied:
    """Write the files the experiment changed (params, lock, metrics, code) into the workspace,
    then check its outs out of the cache. Uncommitted changes it overwrites go to the git stash."""
    repo = GitRepo(root)
    experiment = refs.find(repo, name, snapshot.head(repo))
    git = repo.repo.git
    status = git.diff("--name-status", "--no-renames", "-z", experiment.baseline, experiment.sha).split("\0")
    changes = list(zip(status[0::2], status[1::2], strict=False))
    applied = Applied(experiment, [p for s, p in changes if s != "D"], [p for s, p in changes if s == "D"])
    project = Project(root)
    with hold(project.ensure_state_dir()):
        paths = applied.written + applied.deleted
        if paths and git.diff("--name-only", "HEAD", "--", *paths):
            applied.stash = snapshot.uncommitted(repo)  # None when git finds nothing to keep
        if applied.stash:
            git.stash("store", "-m", f"pipetool exp apply {experiment.name}: the workspace before", applied.stash)
        if applied.written:
            git.execute(
                [
                    "git",
                    "--literal-pathspecs",
                    "restore",
                    f"--source={experiment.sha}",
                    "--worktree",
                    "--",
                    *applied.written,
                ]
            )
        tree = Tree(repo.repo.working_tree_dir)
        for path in applied.deleted:
            try:
                full = tree.target(path)
            except UnsafePath:
                continue  # git would not delete through a symlink either: the file is not ours
            if os.path.lexists(full):
                os.remove(full)
        ws = open_workspace(project)
        try:
            applied.outs = checkout(ws, None)
        finally:
            ws.close()
    return applied


def branch(root: str, name: str, branch_name: str) -> refs.Experiment:
    """A branch at the experiment's commit (whose parent is its baseline); HEAD stays where it is."""
    from git.exc import GitCommandError

    repo = GitRepo(root)
    experiment = refs.find(repo, name, snapshot.head(repo))
    git = repo.repo.git
    try:
        if branch_name.startswith("-"):
            raise GitCommandError("check-ref-format")
        git.check_ref_format("--branch", branch_name)
    except GitCommandError:
        raise ExperimentError(
            f"'{branch_name}' cannot name a git branch", hint="see 'git check-ref-format --help'"
        ) from None
    if branch_name in [head.name for head in repo.repo.heads]:
        raise ExperimentError(f"a branch named '{branch_name}' already exists", hint="choose another name")
    git.branch(branch_name, experiment.sha)
    return experiment
