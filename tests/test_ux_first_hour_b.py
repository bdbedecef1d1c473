"""What a DVC user meets in the first hour: a grid's saved lines, targets typed from a subfolder,
`stage add`'s DVC options and a subcommand's own usage, through the real CLI."""

from __future__ import annotations

import shlex
import sys

import pytest

PY = shlex.quote(sys.executable)


def commit_all(project) -> None:
    project.git("add", "-A")
    project.git("commit", "-q", "-m", "pipeline")


# --- 2: a grid says each experiment's "saved" once, and not that the workspace holds it ----------


def test_a_grid_prints_each_saved_line_once_without_the_workspace_claim(project):
    project.write(
        "pipeline.yaml",
        f"""
        stages:
          train:
            cmd: {PY} -c "import yaml; open('out.txt', 'w').write(str(yaml.safe_load(open('params.yaml'))['a']))"
            params: [a]
            outs: [out.txt]
        """,
    )
    project.write("params.yaml", "a: 1\n")
    project.cli_ok("repro")
    commit_all(project)
    result = project.cli_ok("exp", "run", "-S", "a=7,8", "-n", "g")
    out = result.stdout
    assert "the workspace holds" not in out
    for name in ("g-1", "g-2"):
        lines = [line for line in out.splitlines() if f"'{name}' saved" in line]
        assert len(lines) == 1, out
        assert "refs/exps/" in lines[0]
    assert project.read("out.txt") == "1"  # the grid left the workspace alone, as the output says
    single = project.cli_ok("exp", "run", "-S", "a=9", "-n", "one").stdout
    assert "Experiment 'one' saved" in single and "the workspace holds its results" in single


# --- 4: targets from a subfolder, and suggestions -------------------------------------------------


@pytest.fixture
def subfolder_project(project):
    project.write(
        "pipeline.yaml",
        f"""
        stages:
          clean:
            cmd: {PY} -c "import os; os.makedirs('data', exist_ok=True); open('data/clean', 'w').write('c')"
            outs: [data/clean]
          grid:
            matrix: {{n: [1, 2]}}
            cmd: {PY} -c "open('g${{item.n}}.txt', 'w').write('g')"
            outs:
              - g${{item.n}}.txt
        """,
    )
    project.write("models/notes.txt", "a subfolder with no pipeline file\n")
    return project


def test_a_project_relative_path_from_a_subfolder_is_a_target(subfolder_project):
    project = subfolder_project
    result = project.cli_ok("repro", "-n", "data/clean", cwd=project.path / "models")
    assert "clean" in result.stdout and "unknown target" not in result.stdout + result.stderr
    project.cli_ok("repro", "data/clean", cwd=project.path / "models")
    assert project.read("data/clean") == "c" and not project.exists("g1.txt")


def test_a_path_relative_to_the_current_folder_wins_over_the_project_relative_one(project):
    project.write(
        "pipeline.yaml",
        f"""
        stages:
          top:
            cmd: {PY} -c "open('out.txt', 'w').write('top')"
            outs: [out.txt]
          sub:
            cmd: {PY} -c "open('sub/out.txt', 'w').write('sub')"
            outs: [sub/out.txt]
        """,
    )
    project.write("sub/keep.txt", "x\n")
    project.cli_ok("repro", "out.txt", cwd=project.path / "sub")
    assert project.read("sub/out.txt") == "sub" and not project.exists("out.txt")


def test_an_unknown_target_never_suggests_itself_and_suggests_group_names(subfolder_project):
    project = subfolder_project
    failed = project.cli_fails("repro", "grd")
    assert "did you mean 'grid'" in failed.stderr
    failed = project.cli_fails("repro", "data/clen", cwd=project.path / "models")
    assert "'data/clean'" in failed.stderr and "'data/clen'" not in failed.stderr.split("did you mean", 1)[1]
    failed = project.cli_fails("repro", "nothere/clean", cwd=project.path / "models")
    assert "'nothere/clean'" not in failed.stderr.split("unknown target", 1)[1].split(":", 1)[1]
