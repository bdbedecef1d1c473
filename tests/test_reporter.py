"""The reporter protocols: the terminal reporters implement every event with the protocol's
parameters, and the library modules know only the protocols (no terminal module imported)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from pipetool.engine.reporter import Reporter
from pipetool.remotes.progress import TransferProgress
from pipetool.terminal.progress import LiveReporter
from pipetool.terminal.report import ConsoleReporter
from pipetool.terminal.transfer_progress import TransferBar

PACKAGE = Path(__file__).resolve().parent.parent / "pipetool"
TERMINAL = {"report", "progress", "transfer_progress"}


def events(protocol: type) -> dict[str, inspect.Signature]:
    names = {
        name
        for klass in protocol.__mro__
        if klass is not object
        for name, value in vars(klass).items()
        if callable(value) and not name.startswith("_")
    }
    return {name: inspect.signature(getattr(protocol, name)) for name in names}


@pytest.mark.parametrize(
    "protocol, implementation",
    [
        (Reporter, ConsoleReporter),
        (Reporter, LiveReporter),
        (TransferProgress, TransferBar),
    ],
)
def test_each_terminal_reporter_implements_every_event_of_its_protocol(protocol, implementation):
    wanted = events(protocol)
    assert {"running", "failed", "hash_start", "transfer_advance"} & set(wanted)
    for name, signature in wanted.items():
        assert hasattr(implementation, name), f"{implementation.__name__} lacks {name}"
        have = inspect.signature(getattr(implementation, name))
        assert list(have.parameters) == list(signature.parameters), name


def _imported(path: Path) -> set[str]:
    """The pipetool packages and modules a file imports (at its top or inside a function), each by
    every part of its dotted name."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("pipetool")):
            names.update((node.module or "").split("."))
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize(
    "module",
    [
        "engine/repro.py",
        "engine/verify.py",
        "remotes/transfer.py",
        "engine/checkout.py",
        "engine/reporter.py",
        "engine/policy.py",
        *(f"executor/{p.name}" for p in (PACKAGE / "executor").glob("*.py")),
    ],
)
def test_the_library_knows_only_the_protocols(module):
    assert "terminal" not in _imported(PACKAGE / module)


def test_the_terminal_modules_import_each_other_one_way_only():
    terminal = PACKAGE / "terminal"
    assert "progress" not in _imported(terminal / "report.py")  # the live view builds on the plain one
    assert not _imported(terminal / "transfer_progress.py") & TERMINAL
