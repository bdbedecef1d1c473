"""What a DVC user meets in the first hour: a grid's saved lines, targets typed from a subfolder,
`stage add`'s DVC options and a subcommand's own usage, through the real CLI."""

from __future__ import annotations

import shlex
import sys

import pytest
import yaml

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


# --- 5: DVC 3's `stage add` options -----------------------------------------------------------------

STAGE_PIPELINE = """\
# my pipeline, keep me
stages:
  # first stage
  make:                      # makes a.txt
    cmd: echo a > a.txt
    outs: [a.txt]
"""


def test_stage_add_writes_dvc_keys_for_each_option_keeping_the_file(project):
    project.write("pipeline.yaml", STAGE_PIPELINE)
    project.cli_ok(
        "stage", "add", "-n", "all", "-w", "sub", "-d", "in.txt",
        "-O", "o_nc.txt", "--outs-persist", "o_p.txt", "--outs-persist-no-cache", "o_pnc.txt",
        "-M", "m.json", "--plots", "p.csv", "--plots-no-cache", "pnc.csv",
        "--always-changed", "--frozen", "echo hi",
    )  # fmt: skip
    text = project.read("pipeline.yaml")
    assert text.startswith(STAGE_PIPELINE)  # comments and layout above kept
    assert yaml.safe_load(text)["stages"]["all"] == {
        "cmd": "echo hi",
        "wdir": "sub",
        "deps": ["in.txt"],
        "outs": [
            {"o_nc.txt": {"cache": False}},
            {"o_p.txt": {"persist": True}},
            {"o_pnc.txt": {"cache": False, "persist": True}},
        ],
        "metrics": [{"m.json": {"cache": False}}],
        "plots": [{"p.csv": {"cache": True}}, {"pnc.csv": {"cache": False}}],
        "frozen": True,
        "always_changed": True,
    }
    assert "    - o_pnc.txt:\n        cache: false\n        persist: true\n" in text  # DVC's mapping form


def test_stage_add_force_replaces_the_stage_in_place_and_without_it_refuses(project):
    project.write("pipeline.yaml", STAGE_PIPELINE + "  last:\n    cmd: echo b > b.txt\n    outs: [b.txt]\n")
    failed = project.cli_fails("stage", "add", "-n", "make", "-o", "c.txt", "echo c > c.txt")
    assert "already exists" in failed.stderr and "-f/--force" in failed.stderr
    result = project.cli_ok("stage", "add", "-f", "-n", "make", "-o", "c.txt", "echo c > c.txt")
    assert "Replaced stage 'make'" in result.stdout
    text = project.read("pipeline.yaml")
    stages = yaml.safe_load(text)["stages"]
    assert list(stages) == ["make", "last"] and stages["make"] == {"cmd": "echo c > c.txt", "outs": ["c.txt"]}
    assert text.startswith("# my pipeline, keep me\nstages:\n  # first stage\n  make:")
    project.cli_ok("repro", "make")
    assert project.read("c.txt") == "c\n"


def test_repro_honours_what_stage_add_wrote(project):
    project.write("pipeline.yaml", "stages: {}\n")
    project.write("sub/keep.txt", "x\n")
    add = ("stage", "add")
    project.cli_ok(*add, "-n", "here", "-w", "sub", "-O", "w.txt", "pwd > w.txt")
    project.cli_ok(*add, "-n", "grow", "--outs-persist", "log.txt", "--always-changed", "echo run >> log.txt")
    project.cli_ok(*add, "-n", "cold", "--frozen", "-o", "never.txt", "echo x > never.txt")
    project.cli_ok("repro")
    project.cli_ok("repro")
    assert project.read("sub/w.txt").strip() == str(project.path / "sub")  # ran in its wdir
    ignored = project.read(".gitignore") + (project.read("sub/.gitignore") if project.exists("sub/.gitignore") else "")
    assert "log.txt" in ignored and "w.txt" not in ignored  # the cached out is git-ignored, the -O one not
    assert project.read("log.txt") == "run\nrun\n"  # always run, its out kept between runs
    assert not project.exists("never.txt")  # frozen: never run


# --- 10: an unknown option is said by the subcommand given it, with its own usage -----------------


@pytest.mark.parametrize(
    "command, rest",
    [
        ("verify", ["-q"]),
        ("status", ["--bogus"]),
        ("repro", ["--bogus", "train"]),
        ("stage add", ["--bogus", "-n", "x", "echo"]),
        ("exp run", ["--bogus"]),
        ("exp queue start", ["--bogus"]),
        ("metrics show", ["--bogus"]),
    ],
)
def test_an_unknown_option_prints_the_subcommands_own_usage(project, command, rest):
    failed = project.cli_fails(*command.split(), *rest, code=2)
    assert failed.stderr.startswith(f"usage: pipetool {command} [-h]")
    assert f"pipetool {command}: error: unrecognized arguments: {rest[0]}" in failed.stderr


def test_an_unknown_option_before_any_command_keeps_the_top_level_usage(project):
    failed = project.cli_fails("--zzz", code=2)
    assert failed.stderr.startswith("usage: pipetool [-h]")
    assert "pipetool: error: unrecognized arguments: --zzz" in failed.stderr
