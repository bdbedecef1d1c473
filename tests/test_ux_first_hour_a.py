"""What a new user meets in the first hour: running an example leaves git clean, a param changed
and changed back leaves pipeline.lock as committed, and `repro -n` shows the commands it would run."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import PYTHON_ENV, REPO_ROOT, Project
from example_support import METRICS_TOLERANCE, assert_reproduces_committed_lock, interpreter_dependent

# The examples whose outputs carry last bits of the processor's BLAS kernel (README: "Which example
# outputs are bit-for-bit"), with the outs that do, as tests/test_example_*.py name them.
KERNEL_DEPENDENT: dict[str, dict[str, float | None]] = {
    "metaflow-branch": {
        "models/model.pkl": None,
        "results/model.json": None,
        "metrics.json": METRICS_TOLERANCE,
        "report.md": None,
    },
    "mlflow-multistep": {
        "models/als.npz": None,
        "metrics/als.json": METRICS_TOLERANCE,
        "models/model.pkl": None,
        "metrics/train.json": METRICS_TOLERANCE,
    },
    "zenml-quickstart": {"models/model.pkl": None, "metrics.json": METRICS_TOLERANCE},
}
EXAMPLES = [
    "azureml-taxi",
    "bentoml-package",
    "metaflow-branch",
    "mlflow-multistep",
    "orquestra-ml",
    "zenml-quickstart",
]


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _readme_command(example: Path) -> list[str]:
    """The pipetool arguments of the README's first `cd examples/NAME && pipetool ...` line."""
    match = re.search(r"^cd examples/[\w-]+ && pipetool (.+)$", (example / "README.md").read_text(), re.MULTILINE)
    assert match, f"{example.name}/README.md says how to run it"
    return match.group(1).split()


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_run_as_its_readme_says_leaves_git_clean(name: str, tmp_path: Path) -> None:
    """A clone holding the repository's .gitignore and the example's committed files; the README's
    command run in the example's folder; `git status` shows nothing after it."""
    source = REPO_ROOT / "examples" / name
    files = _git(REPO_ROOT, "ls-files", "-z", "--", ".gitignore", f"examples/{name}").split("\0")
    for relpath in filter(None, files):
        (tmp_path / relpath).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relpath).write_bytes((REPO_ROOT / relpath).read_bytes())
    assert f"examples/{name}/.pipetool/.gitignore" in files, "the example commits what init writes"
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "clone")
    example = Project(tmp_path / "examples" / name)

    example.cli_ok(*_readme_command(source), env=PYTHON_ENV)

    status = _git(tmp_path, "status", "--porcelain", "--untracked-files=all").splitlines()
    dependent = {**KERNEL_DEPENDENT.get(name, {}), **interpreter_dependent(source)}
    if dependent:
        # Their BLAS outputs differ on another processor (pickled ones on another Python version):
        # only those files and the lock (with its environment file, pipeline.env.json) may show
        # (on the machine that made the committed locks, none does), and only as documented.
        allowed = {f"examples/{name}/{p}" for p in ["pipeline.lock", "pipeline.env.json", *dependent]}
        assert {line[3:] for line in status} <= allowed, status
        assert_reproduces_committed_lock(example, source, dependent)
    else:
        assert status == []


PARAM_STAGE = """\
stages:
  make:
    cmd: sleep $(cat delay.txt) && echo ${n} > out.txt
    params: [n]
    outs: [out.txt]
"""


def _param_project(project: Project) -> Project:
    project.write("params.yaml", "n: 1\n")
    project.write("pipeline.yaml", PARAM_STAGE)
    project.write("delay.txt", "0\n")  # not a dep: how long the cmd takes, nothing else
    return project


@pytest.mark.parametrize("back", [[], ["--no-run-cache"]], ids=["restored", "rerun"])
def test_param_changed_and_changed_back_leaves_the_committed_lock(project: Project, back: list[str]) -> None:
    """Back from the run-cache or by running the stage again: the committed entry, duration too."""
    _param_project(project)
    project.cli_ok("repro")
    project.git("add", "-A")
    project.git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "pipeline")
    committed = project.read("pipeline.lock")
    project.write("params.yaml", "n: 2\n")
    project.cli_ok("repro")
    assert "out.txt" in project.read("pipeline.lock") and project.read("pipeline.lock") != committed
    project.write("delay.txt", "0.3\n")  # the run back takes a duration other than the committed one
    project.write("params.yaml", "n: 1\n")
    project.cli_ok("repro", *back)

    assert project.read("out.txt") == "1\n"
    assert subprocess.run(["git", "diff", "--quiet", "pipeline.lock"], cwd=project.path).returncode == 0
    assert project.read("pipeline.lock") == committed


def _files(root: Path) -> dict[str, bytes]:
    files = (p for p in sorted(root.rglob("*")) if p.is_file() and ".git" not in p.parts)
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


@pytest.mark.parametrize("view", ["plain", "live"])
def test_dry_run_prints_the_interpolated_commands_and_runs_nothing(project: Project, view: str) -> None:
    _param_project(project)
    project.write("params.yaml", "n: 7\n")
    project.write(
        "pipeline.yaml",
        PARAM_STAGE + "  twice:\n    cmd:\n      - echo ${n} > a.txt\n      - cp a.txt b.txt\n    deps: [out.txt]\n"
        "    params: [n]\n    outs: [a.txt, b.txt]\n",
    )
    before = _files(project.path)

    result = project.cli_ok("repro", "-n", env={"PIPETOOL_PROGRESS": view})

    lines = result.stdout.splitlines()
    make = lines.index("Would run stage 'make': new stage")
    assert lines[make + 1] == "  $ sleep $(cat delay.txt) && echo 7 > out.txt"
    twice = next(i for i, line in enumerate(lines) if line.startswith("Would run stage 'twice': "))
    assert lines[twice + 1 : twice + 3] == ["  $ echo 7 > a.txt", "  $ cp a.txt b.txt"]
    after = _files(project.path)
    assert {p: d for p, d in after.items() if not p.startswith(".pipetool/")} == before
    assert not any(p.startswith((".pipetool/cache/", ".pipetool/runs")) for p in after)
