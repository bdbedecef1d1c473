"""`pipetool params diff`: the params the stages use, and the params files pipeline.yaml lists at
its top level, compared between two revisions."""

from __future__ import annotations

import argparse

from .common import add_diff_parser, print_diff


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool params diff HEAD~1"
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add_diff_parser(actions, "params", "pipetool params diff HEAD~1")


def run(args: argparse.Namespace) -> int:
    from ..git import Revisions
    from ..metrics import read_params
    from ..project import find
    from ..toplevel import load_revision

    revisions = Revisions(find().root)
    sides = []
    for rev in (args.a, args.b):
        label, source, stages, top = load_revision(revisions, rev)
        sides.append((label, read_params(source, stages, top.params)))
    print_diff(sides, args, "Param")
    return 0
