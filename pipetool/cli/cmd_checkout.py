"""`pipetool checkout`: make the workspace's outs match pipeline.lock, from the cache."""

from __future__ import annotations

import argparse

from .common import target_indexes, workspace


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: git checkout v1.0 && pipetool checkout"
    parser.add_argument("targets", nargs="*", metavar="TARGET", help="stage name or out path (default: all)")
    parser.add_argument(
        "-f", "--force", action="store_true", help="overwrite workspace outs even when their bytes are not in the cache"
    )


def run(args: argparse.Namespace) -> int:
    from ..engine.checkout import checkout
    from ..errors import PipetoolError
    from ..system.repolock import hold

    with workspace() as ws, hold(ws.project.state_dir):
        result = checkout(ws, target_indexes(ws, args.targets), force=args.force)
        records = "pipeline.lock and the pointer files" if ws.locks.pointers else "pipeline.lock"
    print_result(result, records)
    if not result.ok:
        raise PipetoolError(f"{result.failed} out(s) not checked out")
    return 0


def print_result(result, records: str = "pipeline.lock") -> None:
    """A line per restored, kept, missing or corrupt out (pull prints the same)."""
    for path in result.restored:
        print(f"restored {path}")
    for path in result.refused:
        print(
            f"kept {path}: it differs from pipeline.lock and its bytes are not in the cache "
            "(use --force to overwrite it)"
        )
    for path in result.missing:
        if path in result.differs:
            print(
                f"kept {path}: it differs from pipeline.lock and the version pipeline.lock names is not in the "
                "cache (fetch it with 'pipetool pull', or make it with 'pipetool repro')"
            )
        else:
            print(
                f"missing {path}: it is not in the workspace and the version pipeline.lock names is not in the "
                "cache (fetch it with 'pipetool pull', or make it with 'pipetool repro')"
            )
    for path in result.corrupt:
        print(
            f"corrupt {path}: its cache object did not match its hash and was removed; not restored "
            "(run 'pipetool fetch' to get it again, or 'pipetool repro -f' for that stage to make it)"
        )
    for why in result.unsafe:
        print(f"refused {why}; nothing was written there")
    if result.relinked:
        print(
            f"Relinked {len(result.relinked)} out(s) whose bytes matched pipeline.lock as the cache.type "
            "setting asks: " + ", ".join(result.relinked)
        )
    if not result.restored and not result.relinked and result.ok:
        print(f"Workspace outs already match {records}.")
