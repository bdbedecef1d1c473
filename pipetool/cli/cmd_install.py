"""`pipetool install`: git hooks that run `pipetool checkout` after a checkout or merge, and the
merge driver that merges pipeline.lock per stage instead of leaving conflict markers."""

from __future__ import annotations

import argparse
import os

HOOK = """#!/bin/sh
# Installed by 'pipetool install': bring outs in line with pipeline.lock.
{condition}cd "$(git rev-parse --show-toplevel)"{project} || exit 0
exec pipetool checkout
"""
HOOKS = {
    "post-checkout": '[ "$3" = "1" ] || exit 0  # branch checkouts only\n',
    "post-merge": "",
}
ATTRIBUTE = "pipeline.lock merge=pipetool-lock"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool install   (then 'git checkout other-branch' restores its outs)"


def run(args: argparse.Namespace) -> int:
    from ..pipeline.project import find
    from ..revisions.git import GitRepo

    project = find()
    repo = GitRepo(project.root)
    _add_attribute(os.path.join(project.root, ".gitattributes"))  # first: it may refuse
    hooks = os.path.join(repo.repo.git_dir, "hooks")
    for name, condition in HOOKS.items():
        _write_hook(os.path.join(hooks, name), HOOK.format(condition=condition, project=_shell_suffix(repo.prefix)))
    with repo.repo.config_writer() as config:
        config.set_value('merge "pipetool-lock"', "name", "pipetool per-stage merge of pipeline.lock")
        config.set_value('merge "pipetool-lock"', "driver", "pipetool merge-lock %O %A %B")
    print(
        "Installed: post-checkout and post-merge hooks run 'pipetool checkout'; "
        "pipeline.lock merges per stage (.gitattributes: commit it)"
    )
    return 0


def _shell_suffix(prefix: str) -> str:
    """The project's folder below the repository's top as sh words appended to it, quoted: a
    cloned repository names its folders, and a hook runs on every checkout."""
    import shlex

    return "/" + shlex.quote(prefix) if prefix else ""


def _write_hook(path: str, text: str) -> None:
    from ..errors import ProjectError
    from ..files.fsutil import atomic_write

    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            if "pipetool" not in handle.read():
                raise ProjectError(
                    f"{path} exists and is not pipetool's", hint="add 'pipetool checkout' to it yourself"
                )
    os.makedirs(os.path.dirname(path), exist_ok=True)
    atomic_write(path, text, durable=False)
    os.chmod(path, 0o755)


def _add_attribute(path: str) -> None:
    """Add the merge driver's line to .gitattributes, never through a symlink: a cloned
    repository's could lead to any file of the user's."""
    from ..errors import ProjectError
    from ..files.fsutil import atomic_write

    if os.path.islink(path):
        raise ProjectError(
            f"{path} is a symlink; pipetool writes through none, and nothing was installed",
            hint=f"add the line '{ATTRIBUTE}' to the file it leads to yourself",
        )
    lines = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    if ATTRIBUTE not in lines:
        atomic_write(path, "\n".join(lines + [ATTRIBUTE]) + "\n", durable=False)
