"""`pipetool cache status`: how big the cache is, and what gc would free."""

from __future__ import annotations

import argparse

from .common import workspace


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool cache status"
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser(
        "status",
        help="size of the cache, objects, and what gc would free",
        epilog="Example: pipetool cache status   (then 'pipetool gc' to free it)",
    )


def run(args: argparse.Namespace) -> int:
    from ..engine.gc import find_garbage
    from ..terminal.report import human_bytes
    from .cmd_gc import warn_unread

    with workspace() as ws:
        objects = list(ws.cache.objects())
        garbage = find_garbage(ws)
        link = ws.cache.link_type
        print(f"Cache: {ws.cache.dir}")
        print(f"  {len(objects)} object(s), {human_bytes(sum(size for _, size in objects))}; link type {link}")
        print(f"  'pipetool gc' would free {human_bytes(garbage.size)} in {len(garbage.objects)} object(s)")
        if garbage.temps:
            print(
                f"  and {human_bytes(sum(size for _, size in garbage.temps))} in {len(garbage.temps)} temp file(s) "
                "of interrupted transfers"
            )
        warn_unread(garbage.kept.unread)
    return 0
