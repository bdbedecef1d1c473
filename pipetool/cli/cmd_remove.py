"""`pipetool remove`: take stages (or tracked data's pointer files) out of the project."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Remove stages from their pipeline file (comments and layout of the rest kept), with their entries in "
        "pipeline.lock and their outs' lines in .gitignore; or remove a pointer file (data/images.pipetool, or "
        "the data path data/images) and its .gitignore line. The outs and data stay in the workspace unless --outs."
    )
    parser.epilog = "Example: pipetool remove train   (a foreach/matrix group goes as a whole: pipetool remove grid)"
    parser.add_argument(
        "targets",
        nargs="+",
        metavar="TARGET",
        help="stage or foreach/matrix group name (another folder's as path/pipeline.yaml:name), "
        "a pointer file, or the data path it tracks",
    )
    parser.add_argument(
        "--outs", action="store_true", help="also delete the outs (or the tracked data) from the workspace"
    )


def run(args: argparse.Namespace) -> int:
    from ..engine.remove import remove
    from ..system.repolock import hold
    from .common import workspace

    with workspace() as ws, hold(ws.project.state_dir):
        result = remove(ws, args.targets, outs=args.outs)
    for entry in result.entries:
        if not entry.group:
            print(f"Removed stage '{entry.stages[0]}' from {entry.file}")
        else:
            names = ", ".join(entry.stages)
            print(f"Removed '{entry.key}' from {entry.file}: the {len(entry.stages)} stage(s) it generates ({names})")
    for pointer in result.pointers:
        print(f"Removed {pointer.file}: {', '.join(pointer.outs)} is no longer tracked")
    for path in result.deleted:
        print(f"Deleted {path}")
    if result.kept:
        print(f"Kept in the workspace: {', '.join(result.kept)} (use --outs to delete)")
    return 0
