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
    from ..repolock import hold

    with workspace() as ws, hold(ws.project.state_dir):
        result, remote = fetch_objects(ws, args)
    if not transfers.report(result, "fetch", remote):
        raise RemoteError(f"{len(result.missing) + len(result.corrupt) + len(result.failed)} object(s) not fetched")
    return 0


def fetch_objects(ws, args: argparse.Namespace):
    """(result, remote) of fetching what the command covers; pull shares it."""
    from ..remote import open_remote
    from ..transfer import fetch

    remote = open_remote(ws.project, args.remote)
    want = transfers.wanted_objects(ws, args)
    bar = transfers.progress("fetch")
    try:
        result = fetch(ws.cache, remote, want, args.jobs or transfers.default_jobs(), bar,
                       runs=ws.runs if args.run_cache else None)
    finally:
        bar.close()
    return result, remote
