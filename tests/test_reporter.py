"""The reporter protocols: the terminal reporters implement every event with the protocol's
parameters, and the library modules know only the protocols (no terminal module imported)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from pipetool.progress import LiveReporter
from pipetool.report import ConsoleReporter
from pipetool.reporter import Reporter
from pipetool.transfer import TransferProgress
from pipetool.transfer_progress import TransferBar

PACKAGE = Path(__file__).resolve().parent.parent / "pipetool"
TERMINAL = {"report", "progress", "transfer_progress"}


def events(protocol: type) -> dict[str, inspect.Signature]:
    names = {name for klass in protocol.__mro__ if klass is not object
             for name, value in vars(klass).items() if callable(value) and not name.startswith("_")}
    return {name: inspect.signature(getattr(protocol, name)) for name in names}


@pytest.mark.parametrize("protocol, implementation", [
    (Reporter, ConsoleReporter), (Reporter, LiveReporter), (TransferProgress, TransferBar),
])
def test_each_terminal_reporter_implements_every_event_of_its_protocol(protocol, implementation):
    wanted = events(protocol)
    assert {"running", "failed", "hash_start", "transfer_advance"} & set(wanted)
    for name, signature in wanted.items():
        assert hasattr(implementation, name), f"{implementation.__name__} lacks {name}"
        have = inspect.signature(getattr(implementation, name))
        assert list(have.parameters) == list(signature.parameters), name


def _imported(path: Path) -> set[str]:
    """The pipetool modules a file imports (at its top or inside a function), by their last name."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            names.add((node.module or "").split(".")[-1])
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pipetool"):
            names.add(node.module.split(".")[-1])
    return names


@pytest.mark.parametrize("module", ["repro.py", "verify.py", "transfer.py", "checkout.py", "reporter.py",
                                    "policy.py", *(f"executor/{p.name}" for p in (PACKAGE / "executor").glob("*.py"))])
def test_the_library_knows_only_the_protocols(module):
    assert not _imported(PACKAGE / module) & TERMINAL


def test_the_terminal_modules_import_each_other_one_way_only():
    assert "progress" not in _imported(PACKAGE / "report.py")  # the live view builds on the plain one
    assert not _imported(PACKAGE / "transfer_progress.py") & TERMINAL
