"""`pipetool gc`: remove cache objects that no kept lock refers to, and leftovers of killed transfers."""

from __future__ import annotations

import argparse
import os
import sys

from .common import add_revision_listing, positive, workspace

SHOWN = 10  # unread directories named; the rest are counted


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Example: pipetool gc --all-branches --dry   (temp files of interrupted transfers go once they are an hour old)"
    )
    add_revision_listing(parser)
    parser.add_argument(
        "--all-experiments", action="store_true", help="keep what the locks of every experiment (refs/exps) name too"
    )
    parser.add_argument("-n", "--dry", action="store_true", help="list what would be removed; remove nothing")
    parser.add_argument(
        "-c",
        "--cloud",
        action="store_true",
        help="also remove from the remote the objects and run-cache entries no kept lock "
        "needs, and uploads that never finished; other clones may need those "
        "objects: keep their revisions with -a/-T/-A",
    )
    parser.add_argument("-r", "--remote", metavar="NAME", help="with --cloud: the remote (default: core.remote)")
    parser.add_argument(
        "-j", "--jobs", type=positive, default=None, metavar="N", help="with --cloud: N requests at once"
    )


def run(args: argparse.Namespace) -> int:
    from ..errors import PipetoolError
    from ..system.repolock import hold

    if args.remote and not args.cloud:
        raise PipetoolError("-r/--remote is for gc --cloud", hint="add --cloud, or drop -r")
    with workspace() as ws, hold(ws.project.state_dir):
        if args.cloud:
            collect_both(ws, args)
        else:
            collect_local(ws, args, _find(ws, args))
    return 0


def _find(ws, args: argparse.Namespace, remote=None):
    from ..engine.gc import find_garbage, local_manifests, remote_manifests

    reader = local_manifests(ws.cache)
    if remote is not None:
        reader = remote_manifests(remote, reader)
    return find_garbage(ws, revision_locks(ws.root, args), reader)


def collect_local(ws, args: argparse.Namespace, garbage) -> None:
    from ..engine.gc import collect
    from ..terminal.report import human_bytes

    verb = "would remove" if args.dry else "removed"
    for digest, size in garbage.objects:
        print(f"{verb} {digest} ({_bytes(size)})")
    for path, size in garbage.temps:
        print(f"{verb} temp file {os.path.relpath(path, ws.root)} ({_bytes(size)})")
    warn_unread(garbage.kept.unread)
    if not args.dry:
        if garbage.objects:
            from .reporters import note

            note(f"Removing {len(garbage.objects)} object(s)…")
        collect(ws, garbage)
    free = "Would free" if args.dry else "Freed"
    print(f"{free} {human_bytes(garbage.size)} in {len(garbage.objects)} object(s) and {entries(len(garbage.runs))}.")
    if garbage.temps:
        print(
            f"{free} {human_bytes(sum(size for _, size in garbage.temps))} in {len(garbage.temps)} temp file(s) "
            "of interrupted transfers."
        )


def collect_both(ws, args: argparse.Namespace) -> None:
    from ..engine.gc import collect_remote, find_remote_garbage
    from ..errors import RemoteError
    from ..remotes.remote import open_remote
    from ..remotes.transfer import unreachable
    from ..terminal.report import human_bytes
    from .reporters import note
    from .transfers import default_jobs

    remote = open_remote(ws.project, args.remote)
    if remote.read_only:
        raise RemoteError(
            f"remote '{remote.name}' ({remote.url}) is read-only: gc --cloud cannot remove anything there",
            hint="drop --cloud, or name a writable remote with -r",
        )
    garbage = _find(ws, args, remote)
    note(f"Listing what remote '{remote.name}' holds…")
    try:
        cloud = find_remote_garbage(remote, garbage.kept, args.jobs or default_jobs())
    except Exception as exc:  # noqa: BLE001 - whatever the backend raises: nothing was removed
        raise unreachable(remote, exc) from None
    collect_local(ws, args, garbage)
    verb = "would remove" if args.dry else "removed"
    for item in cloud.removed:
        what = {"object": item.name, "run": f"run-cache entry {item.name}", "temp": f"temp file {item.path}"}
        print(f"{verb} {what[item.kind]} from remote '{remote.name}' ({_bytes(item.size)})")
    if not args.dry:
        if cloud.objects:
            note(f"Removing {len(cloud.objects)} object(s) from remote '{remote.name}'…")
        try:
            collect_remote(remote, cloud)
        except Exception as exc:  # noqa: BLE001
            raise RemoteError(
                f"could not remove files from remote '{remote.name}' ({remote.url}): {exc}",
                hint="check the credentials allow deleting; run gc --cloud again",
            ) from None
    print(
        f"{'Would free' if args.dry else 'Freed'} {human_bytes(cloud.size)} on remote '{remote.name}' in "
        f"{len(cloud.objects)} object(s), {entries(len(cloud.runs))} and {len(cloud.temps)} temp file(s)."
    )
    warn_remote(remote.name, cloud)


def warn_unread(unread) -> None:
    """Name each kept directory whose manifest could not be read, and how to rebuild it."""
    for item in unread[:SHOWN]:
        where = f" at {item.revision[:12]}" if item.revision else ""
        fix = (
            f"'pipetool fetch' or 'pipetool repro -f {item.stage}'"
            if not item.revision
            else f"'pipetool fetch -A', or check out that revision and run 'pipetool repro -f {item.stage}'"
        )
        print(
            f"warning: the manifest of '{item.out}' (stage '{item.stage}'{where}) is {item.problem}: "
            f"gc keeps every file object, since any of them may be its files; run {fix} to rebuild "
            "it, then gc again",
            file=sys.stderr,
        )
    if len(unread) > SHOWN:
        print(f"warning: and {len(unread) - SHOWN} more directories whose manifest cannot be read", file=sys.stderr)


def warn_remote(name: str, cloud) -> None:
    if cloud.undated:
        print(
            f"warning: remote '{name}' gives no modification time for {len(cloud.undated)} temp file(s) "
            "of unfinished uploads: left in place (remove them by hand once no push is running)",
            file=sys.stderr,
        )
    if cloud.unjudged:
        print(
            f"warning: {len(cloud.unjudged)} run-cache entr{'y' if len(cloud.unjudged) == 1 else 'ies'} "
            f"on remote '{name}' could not be read: kept",
            file=sys.stderr,
        )


def _bytes(size: int) -> str:
    return "1 byte" if size == 1 else f"{size} bytes"


def entries(count: int) -> str:
    return f"{count} run-cache entr{'y' if count == 1 else 'ies'}"


def revision_locks(root: str, args: argparse.Namespace) -> list[tuple[str, dict]]:
    """(revision, lock entries of all its pipeline files) of the revisions named by -A/-a/-T
    and --all-experiments.

    A revision that cannot be read is an error, not a skip: its objects would look unneeded.
    """
    experiments = getattr(args, "all_experiments", False)
    if not (args.all_commits or args.all_branches or args.all_tags or experiments):
        return []
    from ..engine.gc import NOTHING_REMOVED
    from ..errors import PipetoolError
    from ..pipeline.pipelines import files_of
    from ..revisions.git import Revisions
    from ..storage.lock import read_all

    revisions = Revisions(root)
    names = revisions.git.names(args.all_branches, args.all_tags, args.all_commits)
    if experiments:
        from ..experiments import refs

        names += [e.sha for e in refs.local(revisions.git)]
    from .reporters import note

    if len(names) > 1:
        note(f"Reading the locks of {len(names)} revisions…")
    locks = []
    for name in names:
        try:
            _, source = revisions.source(name)
            locks.append((name, read_all(source, files_of(source))))
        except PipetoolError as error:
            line = f" (line {error.line})" if error.file and error.line else ""
            raise PipetoolError(
                f"cannot read {error.file or 'the locks'} at {name[:12]}{line}: {error.message}", hint=NOTHING_REMOVED
            ) from None
    return locks
