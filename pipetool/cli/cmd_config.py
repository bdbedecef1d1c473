"""`pipetool config NAME [VALUE]`: read or set a project setting in .pipetool/config."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool config cache.type hardlink   (remotes: see 'pipetool remote')"
    parser.add_argument("name", metavar="NAME", help="setting, e.g. cache.type")
    parser.add_argument("value", nargs="?", metavar="VALUE", help="new value (omit to print the current one)")
    parser.add_argument("--unset", action="store_true", help="go back to the default")
    parser.add_argument(
        "--local", action="store_true", help="in .pipetool/config.local (git-ignored), for this machine only"
    )


def run(args: argparse.Namespace) -> int:
    from ..errors import ProjectError
    from ..pipeline import config
    from ..pipeline.project import find

    project = find()
    state_dir = project.ensure_state_dir()
    if args.value is None and not args.unset:
        values = config.read(state_dir)
        if args.name not in values:
            raise ProjectError(f"unknown setting '{args.name}'", hint="known: " + ", ".join(config.SETTINGS))
        if values[args.name] is None:
            raise ProjectError(f"'{args.name}' is not set", hint=f"pipetool config {args.name} VALUE")
        print(values[args.name])
        return 0
    from .cmd_remote import config_file

    config.write(state_dir, args.name, None if args.unset else args.value, local=args.local)
    print(f"{args.name} {'unset' if args.unset else '= ' + args.value} in {config_file(args.local)}.")
    return 0
