"""The `pipetool` command: parse arguments, hand over to one thin module per command.

Command modules are imported only when chosen, so `pipetool --help` stays fast.
"""

from __future__ import annotations

import os
import signal
import sys


def _interrupted_outside_command(signum, frame):
    """Ctrl-C while pipetool starts (imports included) or shuts down: nothing to stop or keep,
    so say so and leave at once, never with a traceback."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os.write(2, b"error: interrupted\n")
    os._exit(130)


def _started_as_program() -> bool:
    """Whether this process is the `pipetool` command (the console script or `python -m pipetool`),
    not a program that imports pipetool and keeps its own Ctrl-C."""
    started = sys.argv[0] if sys.argv else ""
    return os.path.basename(started) in ("pipetool", "pipetool.exe") or started.endswith(
        os.path.join("pipetool", "__main__.py")
    )


# As early as possible: the imports below (and a command's own) take tens of milliseconds.
# A shell that started pipetool with Ctrl-C ignored (in the background) keeps it ignored; SIGTERM
# ends pipetool as Ctrl-C does.
if _started_as_program():
    for _signum, _default in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL)):
        if signal.getsignal(_signum) is _default:
            signal.signal(_signum, _interrupted_outside_command)

import argparse  # noqa: E402 - after the Ctrl-C handling above
import errno  # noqa: E402
import gc  # noqa: E402
import importlib  # noqa: E402
from collections.abc import Iterable  # noqa: E402

from .. import __version__  # noqa: E402
from ..errors import PipetoolError  # noqa: E402

COMMANDS = {
    "init": ("init", "make this folder a pipetool project"),
    "repro": ("repro", "run the stale stages of the pipeline"),
    "status": ("status", "show stale stages and why"),
    "dag": ("dag", "show the stage graph"),
    "logs": ("logs", "print a stage's output from its last run"),
    "stage": ("stage", "add a stage to pipeline.yaml, or list the stages ('pipetool stage add -h')"),
    "commit": ("commit", "record stages as they are now in pipeline.lock, without running them"),
    "remove": ("remove", "remove stages from their pipeline file, or tracked data's pointer files"),
    "verify": ("verify", "rerun the stages of HEAD apart and check they reproduce pipeline.lock"),
    "checkout": ("checkout", "make the workspace's outs match pipeline.lock, from the cache"),
    "add": ("add", "track files or folders no stage makes: cache them, write a pointer file, git-ignore them"),
    "gc": ("gc", "remove cache objects no lock refers to"),
    "cache": ("cache", "cache size and what gc would free"),
    "config": ("config", "read or set a project setting"),
    "remote": ("remote", "add, list, modify or remove remote storages for the cache"),
    "push": ("push", "upload the cache objects pipeline.lock names to a remote"),
    "fetch": ("fetch", "download the objects pipeline.lock names from a remote into the cache"),
    "pull": ("pull", "fetch, then checkout: the workspace gets the outs pipeline.lock names"),
    "install": ("install", "install git hooks (checkout after git checkout/merge) and the lock merge driver"),
    "merge-lock": ("merge_lock", "git merge driver for pipeline.lock (set up by install)"),
    "metrics": ("metrics", "show and compare metrics across git revisions"),
    "params": ("params", "compare params across git revisions"),
    "diff": ("diff", "tracked files added, deleted, modified or renamed between revisions (default HEAD vs workspace)"),
    "plots": ("plots", "draw plot files across git revisions into an HTML page"),
    "artifacts": ("artifacts", "list the artifacts pipeline.yaml declares (--json for programs)"),
    "completion": ("completion", "print a shell completion script for bash or zsh"),
    "doctor": ("doctor", "versions, platform, cache and link type, git, optional extras: for bug reports"),
    "__complete": ("complete", None),  # hidden: stage names and targets for the completion scripts
    "exp": ("exp", "run experiments with changed params, compare, keep or remove them"),
    "import-dvc": ("import_dvc", "make a DVC repository a pipetool project: pipelines, verified lock, remotes"),
    "import-url": ("import_url", "add a stage that downloads a URL (s3://, https://...), rerun when it changes"),
    "get-url": ("get_url", "download a file or folder from a URL, untracked"),
    "update": ("update", "check an imported URL again and download it if it changed"),
    "ui": ("ui", "browse experiments, metrics, plots and the live pipeline in a local web app"),
}


class _Parser(argparse.ArgumentParser):
    """argparse with a 'did you mean' for mistyped commands and actions."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {_suggest(message)}\n")

    def _get_formatter(self):
        """argparse's, with the width it would take: argparse asks shutil for the terminal's
        size, and shutil's import (bz2, lzma) cost every command ~2 ms, as add_argument makes a
        formatter to check each argument."""
        return self.formatter_class(prog=self.prog, width=_terminal_columns() - 2)


def _terminal_columns() -> int:
    """shutil.get_terminal_size().columns: $COLUMNS, else the terminal's, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
        except (AttributeError, ValueError, OSError):
            columns = 80
    return columns


def _suggest(message: str) -> str:
    """'invalid choice: 'repro' (choose from ...)' -> '... did you mean 'repro'?'; hidden commands unlisted."""
    import re

    from ..errors import did_you_mean

    found = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if not found:
        return message
    choices = [c for c in re.findall(r"'([^']*)'", found.group(2)) if not c.startswith("_")]
    hint = did_you_mean(found.group(1), choices) or "choose from " + ", ".join(choices)
    return message[: found.start()] + f"invalid choice: '{found.group(1)}' ({hint})"


def build_parser(detailed: Iterable[str] = COMMANDS, listed: Iterable[str] = COMMANDS) -> argparse.ArgumentParser:
    """The parser of the listed commands, with the arguments of the detailed ones. Each detail
    costs an import of its module and each listed command a sub-parser, so a run lists and
    details only its own command; `--help` lists every command by name and help."""
    parser = _Parser(
        prog="pipetool",
        description="A Make-like incremental pipeline tool with file targets, for ML and data work in git.",
        epilog="Examples:\n"
        "  pipetool init                     start a project in this folder\n"
        "  pipetool stage add -n NAME ...    add a stage (see 'pipetool stage add -h')\n"
        "  pipetool repro -j 2               run what changed, two stages at a time\n"
        "  pipetool status --timings         what is stale, how long stages take\n"
        "Each command has its own help: pipetool COMMAND -h. "
        "Tab completion: pipetool completion bash|zsh.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"pipetool {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in listed:
        module, help_text = COMMANDS[name]
        if help_text is None:  # hidden: no help, so neither --help nor the completion scripts list it
            sub = commands.add_parser(name)
        else:
            sub = commands.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        if name in detailed:
            _module(module).add_arguments(sub)
        sub.set_defaults(module=module)
    return parser


def _innermost(parser: argparse.ArgumentParser, args: argparse.Namespace, command: str | None):
    """The parser of the deepest command the arguments chose (`pipetool exp queue start`). The
    command word comes from argv: a command's own argument may reuse the name `command`."""
    word = command
    while word is not None:
        subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subparsers or word not in subparsers[0].choices:
            return parser
        parser = subparsers[0].choices[word]
        inner = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        word = getattr(args, inner[0].dest, None) if inner else None
        word = word if isinstance(word, str) else None
    return parser


def _module(name: str):
    return importlib.import_module(f"pipetool.cli.cmd_{name}")


def _chosen_command(argv: list[str]) -> str | None:
    """The command word of argv, when it names one: options before it take no values."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def _terminate(signum, frame):  # SIGTERM ends a run like Ctrl-C: stages stopped, finished ones kept
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run one command; every failure becomes one line on stderr and an exit code."""
    program = argv is None
    if program:
        # A command allocates its objects once and keeps most of them to the end: the cyclic
        # collector's passes over them buy nothing (at the default pace ~60 per command, 5-8 ms;
        # at one per 100,000 new objects, ~0.2 s of a no-op status of 100,000 stages). It runs
        # once the command holds ten million more; `ui`, which serves until stopped, sets the
        # usual pace back. Only for the process's own command: a caller of main(argv) keeps its own.
        gc.set_threshold(10_000_000, 50, 100)
    try:
        if signal.getsignal(signal.SIGINT) is _interrupted_outside_command:
            # From here a command may be running: Ctrl-C stops its stages and keeps what finished.
            signal.signal(signal.SIGINT, signal.default_int_handler)
        return _run(sys.argv[1:] if program else argv)
    except PipetoolError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return _interrupted(program)
    except RuntimeError as error:
        # Python 3.11 wraps what a class attribute's __set_name__ raises, a Ctrl-C included,
        # while a command's module is imported.
        if not isinstance(error.__cause__, KeyboardInterrupt):
            raise
        return _interrupted(program)
    except BrokenPipeError:
        return 141
    except OSError as error:
        message = environment_error(error)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 1
    finally:
        if program:  # while the interpreter shuts down
            for signum, during_command in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, _terminate)):
                if signal.getsignal(signum) is during_command:
                    signal.signal(signum, _interrupted_outside_command)
            # The interpreter's shutdown would end with a pass of the cyclic collector over every
            # object the command made (a big pipeline's stages: 10-20 ms, a tenth of a one-stage
            # repro). They are freed when the process ends; atexit handlers, threads and
            # finalizers of the objects modules hold still run as usual.
            gc.freeze()


def _interrupted(program: bool) -> int:
    if program:
        signal.signal(signal.SIGINT, _interrupted_outside_command)
    print("error: interrupted", file=sys.stderr)
    return 130


def _run(argv: list[str]) -> int:
    if argv[:1] == ["__complete"]:  # on every TAB: skip building the whole parser
        return _module("complete").complete(argv[1:])
    chosen = _chosen_command(argv)
    parser = build_parser([chosen], [chosen]) if chosen else build_parser([])
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the (sub)command that was given them, with its own usage
        _innermost(parser, args, chosen).error(f"unrecognized arguments: {' '.join(unknown)}")
    if not getattr(args, "module", None):
        parser.print_help()
        return 0
    signal.signal(signal.SIGTERM, _terminate)
    from ..system.interrupts import guarded

    with guarded():  # a Ctrl-C or SIGTERM never leaves a lock of the main thread held (a bar's)
        return _module(args.module).run(args) or 0


# What the environment refused, not a mistake in pipetool: a read-only or full disk, a folder
# the user may not write. Other OSErrors are bugs and keep their traceback.
_ENVIRONMENT = {
    errno.EROFS: ("write", "mount it read-write, or run the command in a writable copy of the project"),
    errno.EACCES: (
        "use",
        "make the project, its .pipetool folder and the cache writable for you, or run pipetool as their owner",
    ),
    errno.EPERM: (
        "use",
        "make the project, its .pipetool folder and the cache writable for you, or run pipetool as their owner",
    ),
    errno.ENOSPC: ("write", "free some space on that disk, then run the command again"),
    errno.EDQUOT: ("write", "free some space within your disk quota, then run the command again"),
}


def environment_error(error: OSError) -> str | None:
    """The one-line message for an OSError the environment caused, or None for any other."""
    known = _ENVIRONMENT.get(error.errno)
    if known is None:
        return None
    verb, hint = known
    path = f" {error.filename}" if error.filename else ""
    return f"pipetool could not {verb}{path}: {error.strerror or os.strerror(error.errno)} ({hint})"
