"""`pipetool add PATH...`: track files and folders no stage makes (pointer files, as `dvc add`)."""

from __future__ import annotations

import argparse
import os


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool add data/images   (writes data/images.pipetool and data/.gitignore)"
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a file or folder inside the project")


def run(args: argparse.Namespace) -> int:
    from ..engine.add import UNCHANGED, add, project_path
    from ..engine.workspace import open_workspace
    from ..pipeline.project import find
    from ..system.repolock import hold
    from .reporters import console_reporter

    ws = open_workspace(find(), allow_empty=True)
    try:
        rels = [project_path(ws.root, path, os.getcwd()) for path in args.paths]
        reporter = console_reporter()
        with hold(ws.project.state_dir):
            reporter.begin(len(rels))  # the live view draws the hashing bar of a big path
            try:
                added = add(ws, rels, reporter)
            finally:
                reporter.end()
    finally:
        ws.close()
    to_git: list[str] = []
    for item in added:
        if item.change == UNCHANGED:
            print(f"{item.path} is unchanged: {item.pointer} records it already.")
            continue
        what = f"{item.record.nfiles:,} file(s), " if item.record.nfiles is not None else ""
        verb = "Added" if item.change == "added" else "Recorded the new version of"
        print(f"{verb} {item.path} ({what}{item.record.size:,} bytes): wrote {item.pointer}")
        to_git += [item.pointer] + ([item.gitignore] if item.gitignore else [])
    if to_git:
        shown = [os.path.relpath(os.path.join(ws.root, path)) for path in dict.fromkeys(to_git)]  # from cwd
        print("\nTo track the changes with git, run:\n")
        print("\tgit add " + " ".join(sorted(shown)))
    return 0
