"""`pipetool params diff`: every key of the params files the stages use and of those
pipeline.yaml lists at its top level (--deps: the keys the stages use), compared between two
revisions."""

from __future__ import annotations

import argparse

from .common import add_diff_parser, print_diff


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool params diff HEAD~1"
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add_diff_parser(actions, "params", "pipetool params diff HEAD~1")
    diff = actions.choices["diff"]
    diff.set_defaults(precision=None)  # params are shown as written, as DVC shows them
    diff.add_argument(
        "--deps", action="store_true", help="only the params the stages use (default: every key of their params files)"
    )
    for action in diff._actions:  # argparse has no public way to reword an option's help
        if action.dest == "precision":
            action.help = "round numbers to N digits after the point (default: as the params files write them)"


def run(args: argparse.Namespace) -> int:
    from ..pipeline.project import find
    from ..revisions.git import Revisions
    from ..revisions.metrics import read_params
    from ..revisions.toplevel import load_revision

    revisions = Revisions(find().root)
    sides = []
    for rev in (args.a, args.b):
        label, source, stages, top = load_revision(revisions, rev)
        sides.append((label, read_params(source, stages, top.params, deps_only=args.deps)))
    print_diff(sides, args, "Param")
    return 0
