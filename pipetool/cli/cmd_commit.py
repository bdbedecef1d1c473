"""`pipetool commit`: record stages as they are now in pipeline.lock, without running them."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Record the deps, params and outs of stages as they are now in pipeline.lock, without running "
        "them (after running a stage's command by hand, or fixing an out): the outs go into the cache "
        "as after a run. Asks before committing a changed stage; without a terminal to ask on, -f is needed."
    )
    parser.epilog = "Example: python train.py && pipetool commit -f train"
    parser.add_argument(
        "targets",
        nargs="*",
        metavar="TARGET",
        help="stage name (another folder's as path/pipeline.yaml:name), foreach/matrix group, pipeline file, "
        "out path or folder (default: every stage whose lock entry differs from the workspace)",
    )
    parser.add_argument(
        "-f", "--force", action="store_true", help="do not ask; also store the outs of up-to-date targets again"
    )
    parser.add_argument("-d", "--with-deps", action="store_true", help="also commit the targets' upstream stages")


def run(args: argparse.Namespace) -> int:
    from ..engine.commit import commit, plan
    from ..errors import PipetoolError
    from ..system.repolock import hold
    from .common import target_indexes, workspace

    with workspace() as ws, hold(ws.project.state_dir):
        targets = target_indexes(ws, args.targets)
        planned = plan(ws, targets, with_deps=args.with_deps, force=args.force)
        if not planned.changes:
            print("Nothing to commit: pipeline.lock records the stages as they are.")
            return 0
        if not args.force:
            if not sys.stdin.isatty():
                raise PipetoolError(
                    f"{len(planned.changes)} stage(s) changed ({', '.join(c.name for c in planned.changes)}) "
                    "and there is no terminal to confirm the commit on",
                    hint="run 'pipetool commit -f' to commit without being asked; pipeline.lock was not changed",
                )
            for change in planned.changes:
                if not _confirm(f"Stage '{change.name}': {_why(change)}. Are you sure you want to commit it?"):
                    raise PipetoolError(
                        f"not committed: stage '{change.name}' was refused",
                        hint="pipeline.lock was not changed; run 'pipetool repro' to run the stages instead",
                    )
        committed = set(commit(ws, planned))
    for change in planned.changes:
        if change.name in committed:
            print(f"Committed stage '{change.name}': {_why(change)}")
    return 0


def _why(change) -> str:
    if not change.reasons:  # -f on a stage pipeline.lock already records as it is
        return "already recorded as it is; its outs stored in the cache again"
    return "; ".join(str(reason) for reason in change.reasons)


def _confirm(question: str) -> bool:
    """Ask on the terminal; yes only for 'y' or 'yes' (end of input is no)."""
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    if not answer:
        print(file=sys.stderr)
    return answer.strip().lower() in ("y", "yes")
