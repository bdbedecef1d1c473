"""`pipetool fetch`: download into the cache the objects pipeline.lock names; the workspace stays."""

from __future__ import annotations

import argparse

from . import transfers
from .common import workspace


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool fetch -r storage   (then 'pipetool checkout', or use 'pipetool pull')"
    transfers.add_arguments(parser, "fetch")


def run(args: argparse.Namespace) -> int:
    from ..errors import RemoteError
    from ..system.repolock import hold

    with workspace() as ws, hold(ws.project.state_dir):
        result, remote = fetch_objects(ws, args)
    if not transfers.report(result, "fetch", remote):
        raise RemoteError(f"{len(result.missing) + len(result.corrupt) + len(result.failed)} object(s) not fetched")
    return 0


def fetch_objects(ws, args: argparse.Namespace):
    """(result, remote) of fetching what the command covers; pull shares it."""
    from ..remotes.transfer import fetch

    return transfers.move(ws, args, "fetch", fetch)
