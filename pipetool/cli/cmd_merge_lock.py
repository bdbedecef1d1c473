"""`pipetool merge-lock BASE OURS THEIRS`: the git merge driver for pipeline.lock (see install)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "git runs it as: pipetool merge-lock %O %A %B   (registered by 'pipetool install')"
    parser.add_argument("base", metavar="BASE")
    parser.add_argument("ours", metavar="OURS", help="written with the merged lock")
    parser.add_argument("theirs", metavar="THEIRS")


def run(args: argparse.Namespace) -> int:
    import sys

    from ..merge import merge_files

    dropped = merge_files(args.base, args.ours, args.theirs)
    if dropped:
        print(f"pipeline.lock merged; changed on both sides, to rerun: {', '.join(dropped)}", file=sys.stderr)
    return 0
