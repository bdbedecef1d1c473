"""What a DVC user meets in the first hour: a grid's saved lines, targets typed from a subfolder,
`stage add`'s DVC options and a subcommand's own usage, through the real CLI."""

from __future__ import annotations

import shlex
import sys

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
