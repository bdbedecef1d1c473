"""`pipetool status`: which stages are stale, and why; with --remote, where each out's bytes are."""

from __future__ import annotations

import argparse
import json
import sys

from ..pipeline.pipelines import is_pointer
from .common import target_indexes, workspace


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool status --exit-code   (the CI gate: exit 1 when anything is stale)"
    parser.add_argument(
        "targets", nargs="*", metavar="TARGET", help="stage name or out path, with its upstream (default: every stage)"
    )
    parser.add_argument("--json", action="store_true", help="print the reasons as JSON")
    parser.add_argument(
        "--exit-code",
        action="store_true",
        help="exit with 1 when any stage is stale (with --remote: when any out is not on the remote)",
    )
    parser.add_argument(
        "--timings",
        action="store_true",
        help="also each stage's recorded duration and the critical path of the pipeline",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="also say how much was read and hashed, and how fast (to stderr)"
    )
    parser.add_argument(
        "--remote",
        dest="compare_remote",
        action="store_true",
        help="instead: per cached out, whether the local cache, the remote, both or neither has it",
    )
    parser.add_argument(
        "-r", "--remote-name", dest="remote", metavar="NAME", help="with --remote: the remote (default: core.remote)"
    )


def run(args: argparse.Namespace) -> int:
    from ..engine.status import status

    if args.compare_remote:
        from .transfers import remote_status

        return remote_status(args)
    with workspace() as ws:
        targets = target_indexes(ws, args.targets)
        statuses = status(ws, targets, stale_only=True)
        timed = _timings(ws, targets) if args.timings else None
        if args.verbose:
            print(ws.hasher.tally.describe(), file=sys.stderr)
    if args.json:
        data = {s.name: {"frozen": s.frozen, "reasons": [r.to_dict() for r in s.reasons]} for s in statuses}
        if timed is not None:
            data = {
                "stale": data,
                "durations": timed.durations,
                "critical_path": list(timed.critical_path),
                "critical_path_seconds": timed.critical_seconds,
            }
        print(json.dumps(data, indent=2, default=str))
        return 1 if args.exit_code and statuses else 0
    if not statuses:
        print("Data and pipelines are up to date.")
    else:
        for s in statuses:
            print(f"{s.name}{' (frozen)' if s.frozen else ''}:")
            for reason in s.reasons:
                print(f"    {reason}")
            if is_pointer(s.name):
                print(f"    {_data_advice(s)}")
    if timed is not None:
        from ..planning.timings import render

        print()
        print(render(timed))
    return 1 if args.exit_code and statuses else 0


def _data_advice(s) -> str:
    """What to do with tracked data that differs from its pointer file."""
    paths = [r.subject for r in s.reasons if r.kind == "outs" and r.subject]
    restore = f"restore it with 'pipetool checkout {s.name}' (or 'pipetool pull')"
    if paths and all(r.change == "deleted" for r in s.reasons if r.kind == "outs"):
        return restore
    record = f"record the new version with 'pipetool add {paths[0]}'" if paths else "record it with 'pipetool add'"
    return f"{record}, or {restore}"


def _timings(ws, targets):
    from ..planning.plan import select
    from ..planning.timings import timings

    return timings(ws.graph, select(ws.graph, targets), ws.locks.read())
