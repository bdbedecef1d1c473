"""Which terminal reporter a command hands to the library: plain lines, the live view, or a
transfer bar. The library knows only the protocols of reporter.py."""

from __future__ import annotations

import os
import sys

from ..errors import PipetoolError
from ..terminal.report import NORMAL, QUIET, ConsoleReporter
from ..terminal.transfer_progress import TransferBar

PROGRESS_ENV = "PIPETOOL_PROGRESS"  # auto (the default), plain or live


def _mode() -> str:
    mode = os.environ.get(PROGRESS_ENV, "auto") or "auto"
    if mode not in ("auto", "plain", "live"):
        raise PipetoolError(f"{PROGRESS_ENV} is '{mode}'", hint="set it to auto, plain or live")
    return mode


def _watched(stream) -> bool:
    return stream.isatty() and os.environ.get("TERM") != "dumb"


def note(text: str) -> None:
    """Say on stderr what a slow step is doing, where a person watches it (stderr a terminal, or
    PIPETOOL_PROGRESS=live): stdout stays the result, and CI logs get no chatter."""
    mode = _mode()
    if mode == "live" or (mode == "auto" and _watched(sys.stderr)):
        print(text, file=sys.stderr, flush=True)


def console_reporter(parallel: bool = False, verbosity: int = NORMAL) -> ConsoleReporter:
    """A live view when stdout is a terminal, plain lines otherwise (CI logs, pipes, files).

    PIPETOOL_PROGRESS=plain or =live overrides the guess; -q always gets plain lines. When
    stages may run at once (parallel), each line of their output is prefixed with its stage.
    """
    mode = _mode()
    if verbosity > QUIET and (mode == "live" or (mode == "auto" and _watched(sys.stdout))):
        from ..terminal.progress import LiveReporter  # rich is imported only here

        return LiveReporter(prefix_output=parallel, verbosity=verbosity, force_terminal=mode == "live")
    return ConsoleReporter(prefix_output=parallel, verbosity=verbosity)


def transfer_bar(label: str) -> TransferBar:
    """The bar of push, pull and fetch: drawn on stderr when it is a terminal, else nothing."""
    return TransferBar(label)
