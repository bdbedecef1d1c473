"""What push, pull, fetch, `repro --pull` and `status --remote` share: their options, the objects
a command covers (the workspace's lock, and with -A/-a/-T the locks of other revisions), and the
lines they print."""

from __future__ import annotations

import argparse
import sys

from ..system.forked import cores
from .common import add_revision_listing, positive, target_indexes, workspace

SHOWN = 10  # names listed per kind of problem; the rest are counted


def default_jobs() -> int:
    """Transfers with an object store wait on the network, not the CPU: several per core (a local
    directory's remote takes fewer: Remote.default_jobs)."""
    return min(16, 4 * cores())


def add_remote_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-r", "--remote", metavar="NAME", help="the remote to use (default: core.remote)")


def add_arguments(parser: argparse.ArgumentParser, verb: str) -> None:
    parser.add_argument(
        "targets", nargs="*", metavar="TARGET", help="stage name or out path, with its upstream (default: every stage)"
    )
    add_remote_option(parser)
    parser.add_argument(
        "-j",
        "--jobs",
        type=positive,
        default=None,
        metavar="N",
        help=f"transfer N objects at once (default {default_jobs()} with an object store, ssh or http; "
        f"{min(4, cores())} with a local directory)",
    )
    parser.add_argument(
        "--run-cache", action="store_true", help=f"also {verb} the run-cache entries and the outs they name"
    )
    add_revision_listing(parser)


def wanted_objects(ws, args: argparse.Namespace, origins: dict | None = None, verb: str = "fetch") -> dict:
    """The objects of the cached outs that the lock (and the locks of -A/-a/-T revisions) records;
    origins, when given, gets hash -> the revisions naming it ('workspace' for the lock on disk).
    For push, tracked data whose pointer file says `push: false` is left out, as DVC leaves it."""
    from ..planning.plan import select
    from ..remotes.transfer import wanted

    stages = [ws.graph.stages[i] for i in select(ws.graph, target_indexes(ws, args.targets))]
    if verb == "push":
        from ..storage.pointer import not_pushed, read_text

        kept_here = not_pushed([stage.name for stage in stages], lambda file: read_text(ws.root, file))
        stages = [stage for stage in stages if stage.name not in kept_here]
    want = wanted(stages, ws.locks.read())
    if args.all_commits or args.all_branches or args.all_tags:
        if origins is not None:
            for digest in want:
                origins.setdefault(digest, []).append("workspace")
        want = {**_revision_objects(ws.root, args, origins, pushed=verb == "push"), **want}
    return want


def revision_label(name: str) -> str:
    """A revision as the user reads it: a commit's short SHA, a branch or tag name as it is."""
    if len(name) == 40 and all(c in "0123456789abcdef" for c in name):
        return name[:7]
    return name


def _revision_objects(root: str, args: argparse.Namespace, origins: dict | None = None, pushed: bool = False) -> dict:
    from ..errors import PipetoolError
    from ..pipeline.pipelines import files_of
    from ..remotes.transfer import wanted
    from ..revisions.git import Revisions
    from ..storage.lock import read_all
    from ..storage.pointer import not_pushed

    revisions = Revisions(root)
    want: dict = {}
    for name in revisions.git.names(args.all_branches, args.all_tags, args.all_commits):
        try:
            _, source, stages = revisions.load(name)  # tracked data's data stages included
            entries = read_all(source, files_of(source))
            if pushed:
                kept_here = not_pushed([stage.name for stage in stages], source.read_text)
                stages = [stage for stage in stages if stage.name not in kept_here]
        except PipetoolError as error:
            print(f"warning: skipped revision {revision_label(name)}: {error}", file=sys.stderr)
            continue
        found = wanted(stages, entries)
        if origins is not None:
            for digest in found:
                origins.setdefault(digest, []).append(revision_label(name))
        want.update(found)
    return want


def size_text(nbytes: int) -> str:
    from ..terminal.report import human_bytes

    return human_bytes(nbytes)


def report(result, verb: str, remote, *, missing_is_error: bool = True) -> bool:
    """The summary line and the problems, one per line; whether all went well."""
    past = {"push": "Pushed", "fetch": "Fetched"}[verb]
    where = f"to remote '{remote.name}'" if verb == "push" else f"from remote '{remote.name}'"
    runs = f" and {result.runs} run-cache entr{'y' if result.runs == 1 else 'ies'}" if result.runs else ""
    if result.moved or result.runs:
        side = "on the remote" if verb == "push" else "in the local cache"
        print(
            f"{past} {result.moved} object(s), {size_text(result.nbytes)},{runs} {where}; "
            f"{result.present} already {side}."
        )
    elif result.ok:
        side = f"on remote '{remote.name}'" if verb == "push" else "in the local cache"
        print(f"Everything is already {side} ({result.present} object(s)).")
    _problems(result.corrupt, "corrupt, refused (its bytes do not match its hash)")
    _problems(result.failed, "failed")
    missing = (
        "not pushed: neither the local cache nor the remote has it"
        if verb == "push"
        else f"not on remote '{remote.name}'"
    )
    _missing(result, missing, warning=not missing_is_error)
    return not (result.corrupt or result.failed or (result.missing and missing_is_error))


def _missing(result, what: str, warning: bool) -> None:
    """One line per out name, however many revisions' versions of it are missing, with those
    revisions named (when the command covered more than the workspace)."""
    per_name: dict[str, list[str]] = {}
    for name, digest in zip(result.missing, result.missing_hashes, strict=False):
        revisions = per_name.setdefault(name, [])
        for revision in result.revisions.get(digest, []):
            if revision not in revisions:
                revisions.append(revision)
    for name in result.missing[len(result.missing_hashes) :]:
        per_name.setdefault(name, [])
    lines = [
        f"{name} (in {_listing(revisions)})" if revisions else name for name, revisions in sorted(per_name.items())
    ]
    _problems(lines, what, warning=warning)


def _listing(revisions: list[str], shown: int = 5) -> str:
    more = f" and {len(revisions) - shown} more" if len(revisions) > shown else ""
    return ", ".join(revisions[:shown]) + more


def _problems(names: list[str], what: str, warning: bool = False) -> None:
    label = "warning" if warning else "error"
    for name in sorted(names)[:SHOWN]:
        print(f"{label}: {what}: {name}", file=sys.stderr)
    if len(names) > SHOWN:
        print(f"{label}: {what}: and {len(names) - SHOWN} more", file=sys.stderr)


def pull_absent(ws, indexes: list[int], remote_name: str | None, jobs: int, progress) -> None:
    """For repro --pull: fetch the objects of outs the workspace lacks, and put those outs back;
    progress (repro's reporter) shows the transfer."""
    from ..engine.checkout import checkout
    from ..remotes.remote import open_remote
    from ..remotes.transfer import absent_outs, fetch

    want = absent_outs(ws.root, [ws.graph.stages[i] for i in indexes], ws.locks.read())
    if not want:
        return
    remote = open_remote(ws.project, remote_name)
    try:
        result = fetch(ws.cache, remote, want, jobs, progress)
    finally:
        progress.transfer_end()
    restored = checkout(ws, indexes, only_missing=True).restored
    print(
        f"Pulled {result.moved} object(s), {size_text(result.nbytes)}, from remote '{remote.name}'; "
        f"restored {len(restored)} out(s)."
    )
    for name in sorted(result.missing)[:SHOWN]:
        print(f"not on remote '{remote.name}': {name} (its stage will run if it is stale)")
    _problems(result.corrupt, "corrupt on the remote, refused (its bytes do not match its hash)")
    _problems(result.failed, "failed")


WHERE = {
    (True, True): "local and remote",
    (True, False): "local only",
    (False, True): "remote only",
    (False, False): "missing",
}
ADVICE = {
    "local only": " (run 'pipetool push')",
    "remote only": " (run 'pipetool pull')",
    "missing": " (in neither the local cache nor the remote)",
}


def remote_status(args: argparse.Namespace) -> int:
    """`status --remote`: per stage, where each cached out the lock records is."""
    import json

    from ..planning.plan import select
    from ..remotes.remote import open_remote
    from ..remotes.transfer import locate, wanted

    with workspace() as ws:
        entries = ws.locks.read()
        remote = open_remote(ws.project, args.remote)
        stages = [ws.graph.stages[i] for i in select(ws.graph, target_indexes(ws, args.targets))]
        per_stage = {stage.name: wanted([stage], entries) for stage in stages}
        where = locate(ws.cache, remote, {d: i for w in per_stage.values() for d, i in w.items()}, remote.default_jobs)
    table = {
        name: {item.name: WHERE[where[digest]] for digest, item in sorted(want.items(), key=lambda x: x[1].name)}
        for name, want in per_stage.items()
        if want
    }
    if args.json:
        print(json.dumps({"remote": remote.name, "stages": table}, indent=2))
    else:
        print(f"Remote '{remote.name}' ({remote.url}):")
        for name, outs in table.items():
            print(f"{name}:")
            for path, state in outs.items():
                print(f"    {state + ':':18} {path}{ADVICE.get(state, '')}")
        if not table:
            print("No cached outs recorded in pipeline.lock yet.")
    not_pushed = any(
        state != "local and remote" and state != "remote only" for outs in table.values() for state in outs.values()
    )
    return 1 if args.exit_code and not_pushed else 0


class LazyBar:
    """The transfer bar, made (and the terminal code imported) only once there is something to
    move: a push or pull with nothing to do spends nothing on it."""

    def __init__(self, label: str) -> None:
        import threading

        self.label = label
        self.bar = None
        self._lock = threading.Lock()

    def _made(self):
        with self._lock:
            if self.bar is None:
                from .reporters import transfer_bar

                self.bar = transfer_bar(self.label)
        return self.bar

    def transfer_expect(self, objects: int, nbytes: int) -> None:
        if objects or nbytes or self.bar is not None:
            self._made().transfer_expect(objects, nbytes)

    def transfer_advance(self, nbytes: int) -> None:
        (self.bar or self._made()).transfer_advance(nbytes)  # once per object: no lock once made

    def transfer_end(self) -> None:
        if self.bar is not None:
            self.bar.transfer_end()


def move(ws, args: argparse.Namespace, verb: str, transfer):
    """(result, remote) of push or fetch (transfer) of what the command covers, with its bar."""
    from ..remotes.remote import open_remote

    remote = open_remote(ws.project, args.remote)
    origins: dict[str, list[str]] = {}
    want = wanted_objects(ws, args, origins, verb)
    bar = LazyBar(verb)
    try:
        verify = {"verify": True} if getattr(args, "verify", False) else {}
        result = transfer(
            ws.cache,
            remote,
            want,
            args.jobs or remote.default_jobs,
            bar,
            runs=ws.runs if args.run_cache else None,
            **verify,
        )
    finally:
        bar.transfer_end()
    result.revisions = origins
    return result, remote
