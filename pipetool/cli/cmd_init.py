"""`pipetool init`: make the current folder a pipetool project."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Example: git init && pipetool init && pipetool stage add -n hello -o hello.txt 'echo hello > hello.txt'"
    )


def run(args: argparse.Namespace) -> int:
    import os

    from ..pipeline.project import init

    root = os.getcwd()
    created = init(root)
    print(f"Initialized a pipetool project in {root}")
    for path in created:
        print(f"  created {path}")
    if not _in_git(root):
        print(
            "note: this folder is not in a git repository; run 'git init' so that pipeline.lock is "
            "versioned with your code and data"
        )
    if os.path.isfile(os.path.join(root, "dvc.yaml")):
        print(
            "note: this is a DVC repository: 'pipetool import-dvc' brings over its pipelines, lock and "
            "remotes without running anything"
        )
    print("Next:")
    print("  pipetool stage add -n prepare -d prepare.py -d data/raw.csv -o data/prepared python prepare.py")
    print("  pipetool repro")
    print(
        "  git add pipeline.yaml params.yaml pipeline.lock pipeline.env.json data/.gitignore .pipetool/.gitignore"
        " && git commit"
    )
    return 0


def _in_git(folder: str) -> bool:
    import os

    while True:
        if os.path.exists(os.path.join(folder, ".git")):
            return True
        parent = os.path.dirname(folder)
        if parent == folder:
            return False
        folder = parent
