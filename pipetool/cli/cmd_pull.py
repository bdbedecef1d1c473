"""`pipetool pull`: fetch, then checkout: the workspace gets the outs pipeline.lock names."""

from __future__ import annotations

import argparse

from . import transfers
from .common import target_indexes, workspace


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: git clone URL && cd REPO && pipetool pull   (data and models, no stage runs)"
    transfers.add_arguments(parser, "pull")
    parser.add_argument(
        "-f", "--force", action="store_true", help="overwrite workspace outs even when their bytes are not in the cache"
    )


def run(args: argparse.Namespace) -> int:
    from ..engine.checkout import checkout
    from ..errors import RemoteError
    from ..system.repolock import hold
    from .cmd_checkout import print_result
    from .cmd_fetch import fetch_objects

    with workspace() as ws, hold(ws.project.state_dir):
        fetched, remote = fetch_objects(ws, args)
        fetched_ok = transfers.report(fetched, "fetch", remote)
        result = checkout(ws, target_indexes(ws, args.targets), force=args.force)
    print_result(result)
    if not fetched_ok or not result.ok:
        problems = result.failed
        raise RemoteError(f"{problems} out(s) not checked out" if problems else "some objects were not fetched")
    return 0
