"""The `pipetool` command: parse arguments, hand over to one thin module per command.

Command modules are imported only when chosen, so `pipetool --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys

from .. import __version__
from ..errors import PipetoolError

COMMANDS = {
    "repro": ("repro", "run the stale stages of the pipeline"),
    "status": ("status", "show stale stages and why"),
    "dag": ("dag", "show the stage graph"),
    "verify": ("verify", "rerun the stages of HEAD apart and check they reproduce pipeline.lock"),
    "checkout": ("checkout", "make the workspace's outs match pipeline.lock, from the cache"),
    "gc": ("gc", "remove cache objects no lock refers to"),
    "cache": ("cache", "cache size and what gc would free"),
    "config": ("config", "read or set a project setting"),
    "install": ("install", "install git hooks (checkout after git checkout/merge) and the lock merge driver"),
    "merge-lock": ("merge_lock", "git merge driver for pipeline.lock (set up by install)"),
    "metrics": ("metrics", "show and compare metrics across git revisions"),
    "params": ("params", "compare params across git revisions"),
    "plots": ("plots", "draw plot files across git revisions into an HTML page"),
    "exp": ("exp", "run experiments with changed params, compare, keep or remove them"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pipetool",
        description="A Make-like incremental pipeline tool with file targets, for ML and data work in git.",
        epilog="Example: pipetool repro -j 2   (run what changed, two stages at a time)",
    )
    parser.add_argument("--version", action="version", version=f"pipetool {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        _module(module).add_arguments(sub)
        sub.set_defaults(module=module)
    return parser


def _module(name: str):
    return importlib.import_module(f"pipetool.cli.cmd_{name}")


def _terminate(signum, frame):  # SIGTERM ends a run like Ctrl-C: stages stopped, finished ones kept
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "module", None):
        parser.print_help()
        return 0
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return _module(args.module).run(args) or 0
    except PipetoolError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 141
