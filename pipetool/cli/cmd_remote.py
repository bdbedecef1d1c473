"""`pipetool remote add|list|modify|remove|default`: the remote storages in .pipetool/config."""

from __future__ import annotations

import argparse
import os


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool remote add -d storage s3://my-bucket/project && git add .pipetool/config"
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add",
        help="add a remote (a local path, s3://, gs://, azure://, ssh:// or https://)",
        epilog="Example: pipetool remote add -d storage /mnt/shared/pipetool-cache",
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument("url", metavar="URL")
    add.add_argument("-d", "--default", action="store_true", help="make it the default remote (core.remote)")
    add.add_argument("-f", "--force", action="store_true", help="replace a remote of the same name")
    _local_option(add)
    actions.add_parser(
        "list", help="the remotes, their URLs and settings (credentials hidden)", epilog="Example: pipetool remote list"
    )
    modify = actions.add_parser(
        "modify",
        help="set one setting of a remote, e.g. endpointurl or region",
        epilog="Example: pipetool remote modify --local storage secret_access_key KEY",
    )
    modify.add_argument("name", metavar="NAME")
    modify.add_argument("key", metavar="KEY")
    modify.add_argument("value", nargs="?", metavar="VALUE")
    modify.add_argument("--unset", action="store_true", help="remove the setting")
    _local_option(modify)
    remove = actions.add_parser(
        "remove",
        help="remove a remote (from config and config.local)",
        epilog="Example: pipetool remote remove old-storage",
    )
    remove.add_argument("name", metavar="NAME")
    default = actions.add_parser(
        "default", help="print or set the default remote", epilog="Example: pipetool remote default storage"
    )
    default.add_argument("name", nargs="?", metavar="NAME")
    default.add_argument("--unset", action="store_true", help="no default remote")
    _local_option(default)


def _local_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--local",
        action="store_true",
        help="write to .pipetool/config.local (git-ignored): credentials, this machine only",
    )


def run(args: argparse.Namespace) -> int:
    from ..errors import RemoteError
    from ..pipeline.project import find
    from ..remotes import remote

    project = find()
    state_dir = project.ensure_state_dir()
    if args.action == "add":
        remote.add(
            state_dir,
            args.name,
            _stored_url(args.url, project.root),
            default=args.default,
            local=args.local,
            force=args.force,
        )
        default = "; it is the default remote" if args.default else ""
        print(f"Added remote '{args.name}' to {config_file(args.local)}{default}.")
    elif args.action == "list":
        _print_list(state_dir)
    elif args.action == "modify":
        if (args.value is None) != args.unset:
            raise RemoteError(
                "give a VALUE, or --unset to remove the setting",
                hint=f"e.g. pipetool remote modify {args.name} {args.key} VALUE",
            )
        value = _stored_url(args.value, project.root) if args.key == "url" and args.value else args.value
        remote.modify(state_dir, args.name, args.key, value, args.local)
        done = "Unset" if args.unset else "Set"  # never the value: it may be a secret
        print(f"{done} {args.key} of remote '{args.name}' in {config_file(args.local)}.")
    elif args.action == "remove":
        remote.remove(state_dir, args.name)
        print(f"Removed remote '{args.name}' from {config_file(False)} and {config_file(True)}.")
    elif args.unset or args.name:
        remote.set_default(state_dir, None if args.unset else args.name, args.local)
        now = "No default remote" if args.unset else f"Default remote: '{args.name}'"
        print(f"{now} (in {config_file(args.local)}).")
    else:
        name = remote.default_name(state_dir)
        if name is None:
            raise RemoteError("no default remote", hint="pipetool remote default NAME")
        print(name)
    return 0


def config_file(local: bool) -> str:
    """The settings file a write went to, as the user sees it."""
    return ".pipetool/config.local" if local else ".pipetool/config"


def _stored_url(url: str, root: str) -> str:
    """A relative local path is stored relative to the project root, wherever it was typed."""
    from ..remotes.remote import scheme

    if scheme(url) != "file" or url.startswith("file://") or os.path.isabs(url):
        return url
    return os.path.relpath(os.path.abspath(url), root)


def _print_list(state_dir: str) -> None:
    from ..remotes.remote import CREDENTIALS, default_name, remotes

    default = default_name(state_dir)
    known = remotes(state_dir)
    if not known:
        print("No remotes. Add one: pipetool remote add -d NAME URL")
        return
    for name, config in sorted(known.items()):
        mark = "  (default)" if name == default else ""
        print(f"{name}\t{config.url}{mark}")
        for key, value in sorted(config.options.items()):
            print(f"    {key}: {'***' if key in CREDENTIALS else value}")
