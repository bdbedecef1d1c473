"""`pipetool params diff`: the params the stages use, compared between two revisions."""

from __future__ import annotations

import argparse

from .common import add_format_options, print_diff


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    diff = actions.add_parser("diff", help="compare params of two revisions (default HEAD vs workspace)",
                              epilog="Example: pipetool params diff HEAD~1")
    diff.add_argument("a", nargs="?", default="HEAD", metavar="A")
    diff.add_argument("b", nargs="?", default=None, metavar="B", help="default: the workspace")
    diff.add_argument("--all", action="store_true", help="also show unchanged params")
    add_format_options(diff)


def run(args: argparse.Namespace) -> int:
    from ..git import Revisions
    from ..metrics import read_params
    from ..project import find

    revisions = Revisions(find().root)
    sides = []
    for rev in (args.a, args.b):
        label, source, stages = revisions.load(rev)
        sides.append((label, read_params(source, stages)))
    print_diff(sides, args, "Param")
    return 0
