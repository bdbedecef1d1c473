"""What a command imports is part of its start-up, which dominates a small command: a no-op
status, `--help` and `metrics diff` import nothing they do not use (real processes: the import
list is the process's own)."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest
from conftest import CLI_ENV

from pipetool import cli

# Heavy modules a no-op status has no use for: parsers of YAML and tables, terminal widgets,
# process and pool machinery, gitpython, and shutil (with bz2 and lzma) for argparse's width.
NOT_FOR_STATUS = {
    "yaml",
    "ruamel",
    "rich",
    "tabulate",
    "git",
    "subprocess",
    "concurrent.futures",
    "shutil",
    "bz2",
    "lzma",
    "csv",
    "pipetool.pipeline.spec",
}


COPY_STAGE = "stages:\n  copy:\n    cmd: cp in.txt out.txt\n    deps: [in.txt]\n    outs: [out.txt]\n"


def imported(project, *args: str) -> set[str]:
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pipetool", *args],
        cwd=project.path,
        env=CLI_ENV,
        capture_output=True,
        text=True,
        check=True,
    )
    return {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if "|" in line}


def test_a_no_op_status_imports_nothing_it_does_not_use(project):
    project.write("pipeline.yaml", "stages:\n  hello:\n    cmd: echo hello > out.txt\n    outs: [out.txt]\n")
    project.cli_ok("repro")
    assert project.cli_ok("status").stdout == "Data and pipelines are up to date.\n"
    modules = imported(project, "status")
    assert "pipetool.engine.status" in modules
    assert not modules & NOT_FOR_STATUS


def test_help_imports_no_command_and_no_shutil(project):
    modules = imported(project, "--help")
    assert "argparse" in modules
    assert not {module for module in modules if module.startswith("pipetool.cli.cmd_")}
    assert not modules & {"shutil", "pipetool.engine.workspace", "yaml"}


@pytest.mark.parametrize("columns", [None, "40", "132", "0", "wide"])
def test_help_is_as_wide_as_argparse_would_make_it(monkeypatch, columns):
    """The width pipetool's parser gives its help is shutil's terminal width, as argparse's own."""
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    parser = cli.build_parser(["repro"], ["repro"])
    ours = parser._get_formatter()
    theirs = argparse.ArgumentParser._get_formatter(parser)
    assert type(ours) is type(theirs)
    assert (ours._width, ours._max_help_position) == (theirs._width, theirs._max_help_position)


def test_a_repro_that_stores_an_out_imports_no_shutil(project):
    """A stage's out is copied into the cache inside the kernel: shutil's imports (bz2, lzma)
    would cost a one-stage repro more than its copy."""
    project.write("pipeline.yaml", COPY_STAGE)
    project.write("in.txt", "one\n")
    imported(project, "repro")  # as a process of its own: it keeps the environment's fingerprint
    project.write("in.txt", "two\n")
    modules = imported(project, "repro")
    assert project.read("out.txt") == "two\n"
    assert "pipetool.storage.cache" in modules
    assert not modules & {"shutil", "bz2", "lzma"}
