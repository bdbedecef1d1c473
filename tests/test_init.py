"""`pipetool init`: a new project in an empty folder, and a polite refusal inside one."""

from __future__ import annotations

import os
import subprocess

from conftest import run_in_process


def test_init_makes_state_folder_and_empty_pipeline_and_params_and_says_what_next(project):
    result = project.cli_ok("init")
    assert project.read(".pipetool/.gitignore") == "/*\n!/.gitignore\n!/config\n"
    assert project.exists("pipeline.yaml") and project.exists("params.yaml")
    assert all(line.startswith("#") or not line for line in project.read("pipeline.yaml").splitlines())
    assert "created pipeline.yaml" in result.stdout and "created params.yaml" in result.stdout
    assert "pipetool stage add" in result.stdout and "pipetool repro" in result.stdout
    assert "not in a git repository" not in result.stdout
    # git sees the files to commit, and nothing of .pipetool's local state
    status = project.git("status", "--porcelain", "--untracked-files=all")
    assert sorted(line[3:] for line in status.splitlines()) == [".pipetool/.gitignore", "params.yaml", "pipeline.yaml"]


def test_the_next_steps_init_prints_leave_only_the_users_own_files_to_add(project):
    """Run as printed, the commands after 'Next:' leave git nothing pipetool wrote untracked:
    the git add line names the lock, its environment file and the .gitignore repro writes."""
    steps = project.cli_ok("init").stdout.split("Next:\n")[1].splitlines()
    assert [s.split()[:2] for s in steps] == [["pipetool", "stage"], ["pipetool", "repro"], ["git", "add"]]
    project.write("prepare.py", "import os\nos.makedirs('data/prepared')\nopen('data/prepared/a', 'w').close()\n")
    project.write("data/raw.csv", "x\n")
    project.cli_ok(*steps[0].split()[1:])
    project.cli_ok(*steps[1].split()[1:])
    project.git(*steps[2].split(" && ")[0].split()[1:])
    status = project.git("status", "--porcelain", "--untracked-files=all")
    assert sorted(line[3:] for line in status.splitlines() if line.startswith("??")) == ["data/raw.csv", "prepare.py"]


def test_init_keeps_an_existing_params_file(project):
    project.write("params.yaml", "lr: 0.1  # mine\n")
    result = project.cli_ok("init")
    assert project.read("params.yaml") == "lr: 0.1  # mine\n"
    assert "created params.yaml" not in result.stdout


def test_init_inside_a_project_refuses_and_changes_nothing(project):
    project.cli_ok("init")
    project.cli_ok("stage", "add", "-n", "a", "-o", "a.txt", "echo a > a.txt")
    before = project.read("pipeline.yaml")
    result = project.cli_fails("init")
    assert "already a pipetool project" in result.stderr and "nothing was changed" in result.stderr
    assert project.read("pipeline.yaml") == before
    (project.path / "sub").mkdir()
    result = project.cli_fails("init", cwd=project.path / "sub")
    assert os.path.join(str(project.path), "pipeline.yaml") in result.stderr
    assert os.listdir(project.path / "sub") == []


def test_init_outside_git_suggests_git_init(tmp_path):
    folder = tmp_path / "plain"
    folder.mkdir()
    assert subprocess.run(["git", "rev-parse"], cwd=folder, capture_output=True).returncode != 0
    result = run_in_process(folder, "init")
    assert result.returncode == 0, result.stderr
    assert "git init" in result.stdout


def test_commands_in_a_fresh_project_say_to_add_a_stage(project):
    project.cli_ok("init")
    result = project.cli_fails("status")
    assert "pipeline.yaml: the file is empty" in result.stderr
    assert "pipetool stage add" in result.stderr


def test_commands_outside_a_project_point_at_init(tmp_path):
    result = run_in_process(tmp_path, "status")
    assert result.returncode == 1
    assert "pipetool init" in result.stderr and "Traceback" not in result.stderr
