"""`pipetool update PATH|STAGE...`: check an import's source again; download it if it changed."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool update data/raw.csv"
    parser.add_argument("targets", nargs="+", metavar="PATH|STAGE", help="an imported path, or a stage with a URL dep")
    parser.add_argument("-f", "--force", action="store_true", help="download again even if the source did not change")


def run(args: argparse.Namespace) -> int:
    from ..engine.import_url import import_stages
    from .cmd_import_url import _repro
    from .common import target_indexes, workspace

    with workspace() as ws:
        names = import_stages(ws, target_indexes(ws, args.targets) or [])
    return _repro(["-s", *(["-f"] if args.force else []), *names])
