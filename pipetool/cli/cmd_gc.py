"""`pipetool gc`: remove cache objects that no kept lock refers to."""

from __future__ import annotations

import argparse

from .common import add_revision_listing, workspace


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool gc --all-branches --dry"
    add_revision_listing(parser)
    parser.add_argument("--all-experiments", action="store_true",
                        help="keep what the locks of every experiment (refs/exps) name too")
    parser.add_argument("-n", "--dry", action="store_true", help="list what would be removed; remove nothing")


def run(args: argparse.Namespace) -> int:
    from ..gc import collect, find_garbage
    from ..repolock import hold

    with workspace() as ws, hold(ws.project.state_dir):
        garbage = find_garbage(ws, revision_locks(ws.root, args))
        for digest, size in garbage.objects:
            print(f"{'would remove' if args.dry else 'removed'} {digest} ({size} bytes)")
        if not args.dry:
            collect(ws, garbage)
    verb = "Would free" if args.dry else "Freed"
    print(f"{verb} {human(garbage.size)} in {len(garbage.objects)} object(s) and "
          f"{len(garbage.runs)} run-cache entr{'y' if len(garbage.runs) == 1 else 'ies'}.")
    return 0


def revision_locks(root: str, args: argparse.Namespace) -> list[str]:
    """pipeline.lock texts of the revisions named by -A/-a/-T and --all-experiments."""
    experiments = getattr(args, "all_experiments", False)
    if not (args.all_commits or args.all_branches or args.all_tags or experiments):
        return []
    from ..git import Revisions

    revisions = Revisions(root)
    names = revisions.git.names(args.all_branches, args.all_tags, args.all_commits)
    if experiments:
        from ..experiments import refs

        names += [e.sha for e in refs.local(revisions.git)]
    texts = []
    for name in names:
        _, source = revisions.source(name)
        text = source.read_text("pipeline.lock")
        if text:
            texts.append(text)
    return texts


def human(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)
