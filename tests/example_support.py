"""What the example tests share: one build of an example per test run, and the check of a fresh
run against the example's committed pipeline.lock that holds on any processor.

Outputs made by text, integer and seeded-random code reproduce byte for byte everywhere. Outputs
computed through BLAS/LAPACK (an MLP, lbfgs, a linear solve) carry last bits that depend on the
processor's BLAS kernel: for those the check compares everything else of their lock entries
exactly, and their metrics within a stated tolerance (README: "Which example outputs are
bit-for-bit").
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from conftest import CLI_ENV, PYTHON_ENV, REPO_ROOT, Project, copy_project, private_copy

# The tolerance on metrics computed through BLAS (the examples round them to 6 decimals): a hundred
# rounding steps. Between OpenBLAS kernels the unrounded metrics differ by at most ~1e-13; one test
# prediction that flips changes an accuracy by 1/300 or more, thirty times this.
METRICS_TOLERANCE = 1e-4

# What the stage commands see when pipetool runs in the test process (cli_ok): the interpreter
# running the tests as `python`, and bytecode kept outside the example, as when pipetool runs
# as a process of its own (run/ok) with conftest's CLI_ENV.
ENV = {**PYTHON_ENV, "PYTHONPYCACHEPREFIX": CLI_ENV["PYTHONPYCACHEPREFIX"]}


def built_once(tmp_path_factory, source: Path, names: list[str] | None = None,
               remove: tuple[str, ...] = ()) -> tuple[Project, subprocess.CompletedProcess]:
    """A copy of the example in source (its entries in names, or all; without the files in
    remove) after its first `pipetool repro`, and that run's output.

    The run is made once per test run even when pytest-xdist spreads a module's tests over
    several workers: the first worker to get here makes it, under a file lock, in the temp folder
    all workers share; every worker gets its own copy of the result."""
    basetemp = tmp_path_factory.getbasetemp()
    shared = basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp
    name = "example-" + (source.name if source != REPO_ROOT else "root")
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        record = shared / name / "repro.json"
        if not record.exists():
            shutil.rmtree(shared / name, ignore_errors=True)  # what a failed attempt left
            project = copy_project(source, shared / name / "repo", names)
            for relpath in remove:
                (project.path / relpath).unlink()
            result = project.cli_ok("repro", env=ENV)
            record.write_text(json.dumps({"args": result.args, "returncode": result.returncode,
                                          "stdout": result.stdout, "stderr": result.stderr}))
    result = subprocess.CompletedProcess(**json.loads(record.read_text()))
    return private_copy(Project(shared / name / "repo"), tmp_path_factory.mktemp(name) / "repo"), result


def assert_reproduces_committed_lock(project: Project, example: Path,
                                     kernel_dependent: Mapping[str, float | None] | None = None) -> None:
    """The project's pipeline.lock (after a fresh repro) against the one committed in example.

    kernel_dependent names the outs whose bytes depend on the processor's BLAS kernel, each with
    the tolerance its values are compared with (a JSON metrics file, key by key, against the
    committed file), or None when its bytes are not compared at all (a pickled model).
    A stage that reads or writes none of them must reproduce its committed entry whole (hashes,
    params, and the recorded duration, which a rerun that reproduces keeps). One that does must
    reproduce it except for those files' hashes and sizes and the duration.
    """
    kernel_dependent = kernel_dependent or {}
    if not kernel_dependent:  # the whole example is bit-for-bit: so is its lock
        assert project.read("pipeline.lock") == (example / "pipeline.lock").read_text()
    committed = yaml.safe_load((example / "pipeline.lock").read_text())["stages"]
    fresh = project.lock()["stages"]
    assert sorted(fresh) == sorted(committed)
    for name, entry in committed.items():
        touched = {r["path"] for r in entry.get("deps", []) + entry.get("outs", [])} & kernel_dependent.keys()
        if not touched:
            assert fresh[name] == entry, f"stage {name!r} does not reproduce its committed lock entry"
        else:
            assert _masked(fresh[name], touched) == _masked(entry, touched), \
                f"stage {name!r} differs from its committed lock entry beyond {sorted(touched)}"
    for path, tolerance in kernel_dependent.items():
        if tolerance is not None:
            assert_close(json.loads(project.read(path)), json.loads((example / path).read_text()), tolerance, path)


def _masked(entry: dict, paths: set[str]) -> dict:
    """A lock entry without its duration, and with only the path of each record in paths."""
    masked = {key: value for key, value in entry.items() if key != "duration"}
    for key in ("deps", "outs"):
        if key in masked:
            masked[key] = [{"path": r["path"]} if r["path"] in paths else r for r in masked[key]]
    return masked


def assert_close(produced: Any, committed: Any, tolerance: float, where: str) -> None:
    """Two parsed JSON values alike: the same keys and non-numbers, numbers within tolerance."""
    if isinstance(committed, dict):
        assert isinstance(produced, dict) and sorted(produced) == sorted(committed), where
        for key in committed:
            assert_close(produced[key], committed[key], tolerance, f"{where}: {key}")
    elif _number(committed) and _number(produced):
        assert math.isclose(produced, committed, rel_tol=0.0, abs_tol=tolerance), \
            f"{where}: {produced} is not {committed} within {tolerance:g}"
    else:
        assert produced == committed, where


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
