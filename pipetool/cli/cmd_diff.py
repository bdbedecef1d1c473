"""`pipetool diff [A] [B]`: tracked files added, deleted, modified or renamed between two revisions
(default HEAD against the workspace), file by file inside tracked folders, with sizes."""

from __future__ import annotations

import argparse
import os

from .common import add_diff_revisions, markdown_table


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool diff HEAD~1 --targets data/images"
    add_diff_revisions(parser)
    parser.add_argument(
        "--targets",
        nargs="+",
        metavar="PATH",
        help="only these tracked files or folders (put '--' before A and B when they follow)",
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--json", action="store_true", help="print JSON (hashes and sizes included)")
    group.add_argument("--md", action="store_true", help="print a Markdown table (for a pull-request comment)")
    parser.add_argument("--show-hash", action="store_true", help="also show each path's hash (its first 8 digits)")
    parser.add_argument(
        "--hide-missing",
        action="store_true",
        help="leave out data missing from both the workspace and the cache ('not in cache')",
    )


def run(args: argparse.Namespace) -> int:
    from ..pipeline.project import find
    from ..revisions.datadiff import diff
    from ..revisions.git import WORKSPACE, Revisions

    project = find()
    targets = [_in_project(project.root, target) for target in args.targets or []]
    revisions = Revisions(project.root)
    if args.a in (None, WORKSPACE) or args.b in (None, WORKSPACE):
        from .common import workspace

        with workspace() as ws:
            result = diff(*(_side(revisions, rev, targets, ws) for rev in (args.a, args.b)), targets)
    else:
        result = diff(*(_side(revisions, rev, targets, None) for rev in (args.a, args.b)), targets)
    _print(result, args)
    return 0


def _side(revisions, rev: str | None, targets: list[str], ws):
    from ..revisions.datadiff import covers, revision_side, workspace_side
    from ..revisions.git import WORKSPACE

    if rev not in (None, WORKSPACE):
        return revision_side(revisions, rev)
    wanted = covers(targets) if targets else (lambda path: True)
    return workspace_side(WORKSPACE, ws.graph.stages, ws.locks.read(), ws.hasher, ws.cache, wanted)


def _in_project(root: str, target: str) -> str:
    """A --targets path as typed (relative to the current folder) made project-relative."""
    from ..errors import TargetError

    relpath = os.path.relpath(os.path.abspath(target), root).replace(os.sep, "/")
    if relpath == ".." or relpath.startswith("../"):
        raise TargetError(f"'{target}' lies outside the project")
    return relpath


def _print(result, args: argparse.Namespace) -> None:
    import sys

    from ..revisions.datadiff import NOT_IN_CACHE, STATUSES

    hide = args.hide_missing or not _compares_workspace(args)
    changes = [c for c in result.changes if not (hide and c.status == NOT_IN_CACHE)]
    for folder in result.unlisted:
        print(
            f"warning: {_shown(folder.path)} at {folder.side}: its files are not compared: the cache lacks its "
            f"manifest {folder.hash} (run 'pipetool fetch -A' to get every commit's data from the remote)",
            file=sys.stderr,
        )
    if args.json:
        import json

        shown = STATUSES if not hide else tuple(s for s in STATUSES if s != NOT_IN_CACHE)
        print(json.dumps({status: [_json(c) for c in changes if c.status == status] for status in shown}, indent=2))
        return
    if args.md:
        headers = ["Status", "Path", "Size"] + (["Hash"] if args.show_hash else [])
        rows = [[c.status, _path(c), _size(c)] + ([_hash(c)] if args.show_hash else []) for c in changes]
        print(markdown_table(headers, rows))
        return
    if not changes:
        print(f"No tracked data changed between {result.old_label} and {result.new_label}.")
        return
    for status in STATUSES:
        group = [c for c in changes if c.status == status]
        if group:
            print(f"{status[0].upper()}{status[1:]}:")
            width = max(len(_path(c)) for c in group)
            for c in group:
                hashed = f"{_hash(c)}  " if args.show_hash else ""
                print(f"    {hashed}{_path(c):<{width}}  {_size(c)}")
            print()
    counts = [f"{result.file_count(status)} {status}" for status in STATUSES if status != NOT_IN_CACHE or not hide]
    print("files summary: " + ", ".join(counts))


def _compares_workspace(args: argparse.Namespace) -> bool:
    from ..revisions.git import WORKSPACE

    return args.b in (None, WORKSPACE)


def _path(change) -> str:
    if change.old is not None and change.new is not None and change.old.path != change.new.path:
        return f"{_shown(change.old.path)} -> {_shown(change.new.path)}"
    return _shown(change.path)


def _shown(path: str) -> str:
    """A path for the terminal: a control character (a manifest from a remote, a file name in a
    tracked folder may hold one) written as its escape, never obeyed."""
    if path.isprintable():
        return path
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in path)


def _size(change) -> str:
    from ..terminal.report import human_bytes

    def one(entry) -> str:
        text = human_bytes(entry.size)
        return f"{text} in {entry.nfiles} file{'' if entry.nfiles == 1 else 's'}" if entry.nfiles is not None else text

    if change.status == "modified":
        return f"{one(change.old)} -> {one(change.new)}"
    return one(change.new or change.old)


def _hash(change) -> str:
    if change.status == "modified":
        return f"{change.old.hash[:8]}..{change.new.hash[:8]}"
    return (change.new or change.old).hash[:8]


def _json(change) -> dict:
    """DVC's form (path, hash; old/new where they differ), with sizes and folders' file counts."""
    old, new = change.old, change.new
    if change.status == "modified":
        data = {
            "path": change.path,
            "hash": {"old": old.hash, "new": new.hash},
            "size": {"old": old.size, "new": new.size},
        }
    elif change.status == "renamed":
        data = {"path": {"old": old.path, "new": new.path}, "hash": new.hash, "size": new.size}
    else:
        entry = new or old
        data = {"path": entry.path, "hash": entry.hash, "size": entry.size}
    if change.status == "modified" and new.nfiles is not None and old.nfiles is not None:
        data["nfiles"] = {"old": old.nfiles, "new": new.nfiles}
    elif (new or old).nfiles is not None:
        data["nfiles"] = (new or old).nfiles
    return data
