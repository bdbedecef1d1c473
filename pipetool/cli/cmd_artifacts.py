"""`pipetool artifacts list`: the artifacts pipeline.yaml declares at its top level."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool artifacts list --json"
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list", help="the artifacts of the workspace or of a revision", epilog="Example: pipetool artifacts list HEAD~1"
    )
    listing.add_argument(
        "revision", nargs="?", default=None, metavar="REV", help="a git revision (default: the workspace)"
    )
    listing.add_argument("--json", action="store_true", help="print JSON: name -> {path, type, desc, labels, meta}")


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from ..pipeline.project import find
    from ..revisions.git import Revisions
    from ..revisions.tables import render
    from ..revisions.toplevel import load_revision

    _, _, _, top = load_revision(Revisions(find().root), args.revision)
    for warning in top.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps({a.name: a.as_dict() for a in top.artifacts}, indent=2, default=str))
        return 0
    if not top.artifacts:
        print("No artifacts declared in pipeline.yaml.")
        return 0
    rows = [[a.name, a.type or "-", a.path, ", ".join(a.labels) or "-", a.desc or "-"] for a in top.artifacts]
    print(render(["Name", "Type", "Path", "Labels", "Description"], rows))
    return 0
