"""`pipetool push`: upload the cache objects pipeline.lock names that the remote lacks."""

from __future__ import annotations

import argparse

from . import transfers
from .common import workspace


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool push -r storage -j 8   (then teammates run 'pipetool pull')"
    transfers.add_arguments(parser, "push")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="ask the remote about every object instead of trusting what pipetool remembers it holds "
        "(finds and uploads objects deleted from the remote behind pipetool's back)",
    )


def run(args: argparse.Namespace) -> int:
    from ..errors import RemoteError
    from ..remotes.transfer import push
    from ..system.repolock import hold

    with workspace() as ws, hold(ws.project.state_dir):
        result, remote = transfers.move(ws, args, "push", push)
    if not transfers.report(result, "push", remote, missing_is_error=False):
        raise RemoteError(f"{len(result.corrupt) + len(result.failed)} object(s) not pushed")
    return 0
