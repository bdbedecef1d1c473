"""`pipetool merge-lock BASE OURS THEIRS`: the git merge driver for pipeline.lock (see install)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool merge-lock %O %A %B   (as git runs it once 'pipetool install' registered it)"
    parser.add_argument("base", metavar="BASE")
    parser.add_argument("ours", metavar="OURS", help="written with the merged lock")
    parser.add_argument("theirs", metavar="THEIRS")


def run(args: argparse.Namespace) -> int:
    import sys

    from ..errors import PipetoolError
    from ..storage.merge import merge_files

    try:
        dropped = merge_files(args.base, args.ours, args.theirs)
    except OSError as exc:
        raise PipetoolError(f"cannot read or write {exc.filename}: {exc.strerror}") from None
    if dropped:
        print(f"pipeline.lock merged; changed on both sides, to rerun: {', '.join(dropped)}", file=sys.stderr)
    return 0
