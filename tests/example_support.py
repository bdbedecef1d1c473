"""What the example tests share: one build of an example per test run, and the check of a fresh
run against the example's committed pipeline.lock that holds on any processor.

Outputs made by text, integer and seeded-random code reproduce byte for byte everywhere. Outputs
computed through BLAS/LAPACK (an MLP, lbfgs, a linear solve) carry last bits that depend on the
processor's BLAS kernel: for those the check compares everything else of their lock entries
exactly, and their metrics within a stated tolerance (README: "Which example outputs are
bit-for-bit").

Pickled outs may also differ from one Python version to another: pickle writes an object once and
refers back to it wherever the same object comes again, and which equal objects are the same one
is the interpreter's business (3.13 shares the one-character string 'C' that 3.11 writes twice in
a pickled SVC). On a Python other than the one an example's lock was made with (its
pipeline.env.json says which), those outs' bytes are not compared (interpreter_dependent).
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import shutil
import subprocess
import sys
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


# What each example test module builds: the example's folder, the entries to copy (None: all), and
# files to remove first. A committed metrics.json would let the last stage count as up to date once
# its upstream reproduces the committed results; without it every stage has something to make.
EXAMPLES: dict[str, tuple[Path, list[str] | None, tuple[str, ...]]] = {
    "test_example": (REPO_ROOT, ["pipeline.yaml", "params.yaml", "pipeline.lock", "stages"], ()),
    "test_example_azureml_taxi": (REPO_ROOT / "examples" / "azureml-taxi", None, ("metrics.json",)),
    "test_example_bentoml_package": (REPO_ROOT / "examples" / "bentoml-package", None, ("metrics.json",)),
    "test_example_metaflow_branch": (
        REPO_ROOT / "examples" / "metaflow-branch",
        ["pipeline.yaml", "params.yaml", "pipeline.lock", "steps"],
        (),
    ),
    "test_example_mlflow_multistep": (
        REPO_ROOT / "examples" / "mlflow-multistep",
        ["pipeline.yaml", "params.yaml", "pipeline.lock", "steps"],
        (),
    ),
    "test_example_orquestra_ml": (
        REPO_ROOT / "examples" / "orquestra-ml",
        ["pipeline.yaml", "params.yaml", "pipeline.lock", "steps", "components"],
        (),
    ),
    "test_example_zenml_quickstart": (REPO_ROOT / "examples" / "zenml-quickstart", None, ("metrics.json",)),
}


# The pickled outs whose bytes were seen to differ on another Python version (with the same
# library versions), and what is made from them, by example folder.
PICKLED: dict[str, tuple[str, ...]] = {
    "bentoml-package": ("models/svc.pkl", "bundles/iris_clf/1.0.0"),
}


def interpreter_dependent(example: Path) -> dict[str, None]:
    """The example's PICKLED outs, not compared, when this Python's minor version is not the one
    its committed lock was made with; else none."""
    this = f"CPython {sys.version_info.major}.{sys.version_info.minor}."
    environments = json.loads((example / "pipeline.env.json").read_text())["environments"].values()
    if all(environment["python"].startswith(this) for environment in environments):
        return {}
    return dict.fromkeys(PICKLED.get(example.name, ()))


def built_once(request, tmp_path_factory) -> tuple[Project, subprocess.CompletedProcess]:
    """A copy of the requesting module's example (EXAMPLES) after its first `pipetool repro`, and
    that run's output.

    The run is made once per test run even when pytest-xdist spreads a module's tests over
    several workers: the first worker to get here makes it, under a file lock, in the temp folder
    all workers share; every worker gets its own copy of the result. A worker that finds another
    one making it makes, meanwhile, an example that another module of this run needs and nobody
    has made yet, rather than wait idle."""
    basetemp = tmp_path_factory.getbasetemp()
    shared = basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp
    name = request.module.__name__
    if not _make(shared, name, wait=False):
        needed = {item.module.__name__ for item in request.session.items} & EXAMPLES.keys()
        other = next((m for m in sorted(needed - {name}) if not (shared / m / "repro.json").exists()), None)
        if other is not None:
            try:
                _make(shared, other, wait=False)
            except Exception:  # noqa: BLE001 - its own module makes it again and reports the failure
                pass
        _make(shared, name, wait=True)
    result = subprocess.CompletedProcess(**json.loads((shared / name / "repro.json").read_text()))
    return private_copy(Project(shared / name / "repo"), tmp_path_factory.mktemp(name) / "repo"), result


def _make(shared: Path, name: str, wait: bool) -> bool:
    """Make the example of module name in shared/name unless it is made; False when another worker
    holds it (and wait is false)."""
    source, names, remove = EXAMPLES[name]
    with open(shared / f"{name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            return False
        record = shared / name / "repro.json"
        if not record.exists():
            shutil.rmtree(shared / name, ignore_errors=True)  # what a failed attempt left
            project = copy_project(source, shared / name / "repo", names)
            for relpath in remove:
                (project.path / relpath).unlink()
            result = project.cli_ok("repro", env=ENV)
            record.write_text(
                json.dumps(
                    {
                        "args": result.args,
                        "returncode": result.returncode,
                        "stdout": result.stdout,
                        "stderr": result.stderr,
                    }
                )
            )
        return True


def assert_reproduces_committed_lock(
    project: Project, example: Path, kernel_dependent: Mapping[str, float | None] | None = None
) -> None:
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
            assert _masked(fresh[name], touched) == _masked(entry, touched), (
                f"stage {name!r} differs from its committed lock entry beyond {sorted(touched)}"
            )
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
        assert math.isclose(produced, committed, rel_tol=0.0, abs_tol=tolerance), (
            f"{where}: {produced} is not {committed} within {tolerance:g}"
        )
    else:
        assert produced == committed, where


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
