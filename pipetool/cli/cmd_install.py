"""`pipetool install`: a git post-checkout hook that runs `pipetool checkout` after `git checkout`."""

from __future__ import annotations

import argparse

HOOK = """#!/bin/sh
# Installed by 'pipetool install': bring outs in line with pipeline.lock after a branch checkout.
[ "$3" = "1" ] || exit 0
exec pipetool checkout
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool install   (then 'git checkout other-branch' restores its outs)"


def run(args: argparse.Namespace) -> int:
    import os

    from ..git import GitRepo
    from ..lock import atomic_write
    from ..project import find

    repo = GitRepo(find().root)
    hooks = os.path.join(repo.repo.git_dir, "hooks")
    os.makedirs(hooks, exist_ok=True)
    path = os.path.join(hooks, "post-checkout")
    if os.path.exists(path) and "pipetool" not in open(path, encoding="utf-8").read():
        from ..errors import ProjectError

        raise ProjectError(f"{path} exists and is not pipetool's", hint="add 'pipetool checkout' to it yourself")
    atomic_write(path, HOOK, durable=False)
    os.chmod(path, 0o755)
    print(f"Installed {path}: 'git checkout' now runs 'pipetool checkout'")
    return 0
