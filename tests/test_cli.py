"""Discoverability: help with examples, --version, 'did you mean', shell completion, doctor."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess

import pytest
from conftest import PYTHON_ENV, run_in_process, run_pipetool

from pipetool import __version__
from pipetool.cli import build_parser

PIPELINE = """
    stages:
      prepare:
        cmd: echo p > prepared.txt
        outs: [prepared.txt]
      train:
        foreach: [small, big]
        do:
          cmd: cat prepared.txt > model-${item}.txt
          deps: [prepared.txt]
          outs:
            - models/${item}.txt
"""


def command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and subcommand that --help lists."""
    paths = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            listed = {choice.dest for choice in action._choices_actions}
            for name, sub in action.choices.items():
                if name in listed:
                    paths.append(prefix + (name,))
                    paths += command_paths(sub, prefix + (name,))
    return paths


def test_every_command_and_subcommand_help_has_an_example(tmp_path):
    paths = command_paths(build_parser())
    assert ("stage", "add") in paths and ("metrics", "diff") in paths and ("doctor",) in paths
    assert ("__complete",) not in paths
    for path in [()] + paths:
        result = run_in_process(tmp_path, *path, "--help")
        assert result.returncode == 0, path
        assert "Example" in result.stdout, f"'pipetool {' '.join(path)} --help' shows no example"


def test_version(tmp_path):
    # a real process: the `python -m pipetool` entry point itself, once
    assert run_pipetool(tmp_path, "--version").stdout == f"pipetool {__version__}\n"


def test_mistyped_commands_and_actions_get_a_suggestion(tmp_path):
    result = run_in_process(tmp_path, "repor")
    assert result.returncode == 2
    assert "invalid choice: 'repor' (did you mean 'repro'?)" in result.stderr
    result = run_in_process(tmp_path, "metrics", "shwo")
    assert "invalid choice: 'shwo' (did you mean 'show'?)" in result.stderr
    result = run_in_process(tmp_path, "xyzzy")
    assert "(choose from init, repro," in result.stderr and "__complete" not in result.stderr


def test_mistyped_stage_names_get_a_suggestion(project):
    project.write("pipeline.yaml", PIPELINE)
    assert "did you mean 'prepare' or 'prepared.txt'?" in project.cli_fails("repro", "prepar").stderr
    assert "did you mean 'prepare'?" in project.cli_fails("logs", "preapre").stderr


# --- completion ------------------------------------------------------------------------------


def test_completion_scripts_are_valid_shell(tmp_path):
    bash = run_in_process(tmp_path, "completion", "bash")
    assert bash.returncode == 0 and "_pipetool_stages" in bash.stdout
    script = tmp_path / "pipetool.bash"
    script.write_text(bash.stdout)
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    zsh = run_in_process(tmp_path, "completion", "zsh")
    assert zsh.returncode == 0 and zsh.stdout.startswith("#compdef pipetool")
    assert "_pipetool_targets" in zsh.stdout


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completion_script_parses(tmp_path):
    script = tmp_path / "_pipetool"
    script.write_text(run_in_process(tmp_path, "completion", "zsh").stdout)
    assert subprocess.run(["zsh", "-n", str(script)], capture_output=True).returncode == 0


def test_hidden_complete_command_lists_stages_and_targets(project):
    project.write("pipeline.yaml", PIPELINE)
    stages = project.cli_ok("__complete", "stages").stdout.split()
    assert stages == ["train", "prepare", "train@small", "train@big"]
    targets = project.cli_ok("__complete", "targets").stdout.split()
    assert targets == stages + ["prepared.txt", "models/small.txt", "models/big.txt"]
    (project.path / "models").mkdir()
    inside = project.cli_ok("__complete", "targets", cwd=project.path / "models").stdout.split()
    assert inside == stages + ["small.txt", "big.txt"]  # targets from the cwd; none from above it


def test_hidden_complete_command_is_silent_outside_a_project(tmp_path):
    result = run_in_process(tmp_path, "__complete", "stages")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def complete_in_bash(project, script, words: list[str]) -> list[str]:
    """What bash offers for the last word, using the generated script as an interactive shell would."""
    line = " ".join(f"'{w}'" for w in words)
    program = (
        f"source {script}; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _shtab_pipetool; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    env = {**os.environ, **PYTHON_ENV}
    result = subprocess.run(["bash", "-c", program], cwd=project.path, capture_output=True, text=True, env=env)
    return result.stdout.split()


def test_bash_completes_commands_stage_names_and_targets(project, tmp_path):
    project.write("pipeline.yaml", PIPELINE)
    script = tmp_path / "pipetool.bash"
    script.write_text(project.cli_ok("completion", "bash").stdout)
    assert complete_in_bash(project, script, ["pipetool", "rep"]) == ["repro"]
    assert complete_in_bash(project, script, ["pipetool", "logs", "train@"]) == ["train@small", "train@big"]
    assert complete_in_bash(project, script, ["pipetool", "repro", "-f", "models/"]) == [
        "models/small.txt",
        "models/big.txt",
    ]
    assert "--timings" in complete_in_bash(project, script, ["pipetool", "status", "--t"])


# --- doctor ----------------------------------------------------------------------------------


def test_doctor_reports_versions_platform_git_cache_and_extras(project):
    project.write("pipeline.yaml", PIPELINE)
    out = project.cli_ok("doctor").stdout
    assert out.startswith(f"pipetool {__version__}\nPython 3.")
    assert "Platform: " in out
    assert "git: git version " in out and f"repository {project.path}" in out
    assert f"Project: {project.path}\n" in out
    assert f"Cache: {project.path / '.pipetool' / 'cache'}" in out
    assert "Link type: copy (cache.type); file system can reflink: " in out
    assert "  ruamel.yaml " in out and "  rich " in out
    assert "  plots          installed: matplotlib " in out
    ui = next(line for line in out.splitlines() if line.startswith("  ui "))  # `pipetool ui`'s extra
    assert ui.startswith("  ui             installed: starlette ") and " uvicorn " in ui and " plotly " in ui
    assert "Libraries for other executors and remote storage" in out and "dask " in out and "fsspec " in out


def test_doctor_outside_a_project_and_without_git_still_reports(tmp_path):
    result = run_in_process(tmp_path, "doctor", env={"PATH": "/nonexistent"})  # no git to be found
    assert result.returncode == 0, result.stderr
    assert "git: not found" in result.stdout
    assert "Project: none here" in result.stdout
