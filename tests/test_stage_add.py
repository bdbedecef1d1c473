"""`pipetool stage add`: the stage is appended with the user's comments and layout intact, and a
stage that does not fit the pipeline is refused with pipeline.yaml untouched."""

from __future__ import annotations

import pytest
from conftest import ran_stages

PIPELINE = """\
# Our pipeline. Keep this comment!
vars:
  - seed: 7

stages:
  prepare:                        # makes the split
    cmd: python -c "open('prepared.txt', 'w').write('x')"
    deps: [raw.txt]
    outs:
      - prepared.txt

  # training comes next
  train:
    outs:
      - model.txt
    cmd: cat prepared.txt > model.txt   # keys in the user's order
    deps: [prepared.txt]
"""


@pytest.fixture
def pipeline(project):
    project.write("raw.txt", "raw\n")
    project.write("params.yaml", "train:\n  lr: 0.1\n  epochs: 3\nreport:\n  title: hello\n")
    project.write("pipeline.yaml", PIPELINE)
    return project


def test_stage_add_appends_keeping_comments_order_and_layout(pipeline):
    result = pipeline.cli_ok(
        "stage",
        "add",
        "-n",
        "report",
        "-d",
        "model.txt",
        "-p",
        "report.title",
        "-o",
        "report.txt",
        "-m",
        "scores.json",
        "cat model.txt > report.txt && echo {} > scores.json",
    )
    assert "Added stage 'report'" in result.stdout
    assert (
        pipeline.read("pipeline.yaml")
        == PIPELINE
        + """\

  report:
    cmd: cat model.txt > report.txt && echo {} > scores.json
    deps: [model.txt]
    params: [report.title]
    outs: [report.txt]
    metrics: [scores.json]
"""
    )
    assert "report:" in pipeline.cli_ok("status").stdout


def test_stage_add_command_words_are_quoted_as_the_shell_needs_except_operators(pipeline):
    pipeline.cli_ok(
        "stage", "add", "-n", "hello", "-o", "hello.txt", "python", "-c", "print('hi there')", ">", "hello.txt"
    )
    assert "    cmd: python -c 'print('\"'\"'hi there'\"'\"')' > hello.txt\n" in pipeline.read("pipeline.yaml")
    result = pipeline.cli_ok("repro", "hello")
    assert pipeline.read("hello.txt") == "hi there\n"
    assert ran_stages(result.stdout) == ["hello"]


def test_stage_add_params_of_other_files_and_whole_files(pipeline):
    pipeline.write("other.yaml", "a: 1\nb: 2\n")
    pipeline.cli_ok(
        "stage",
        "add",
        "-n",
        "p",
        "-p",
        "train.lr,train.epochs",
        "-p",
        "other.yaml:a",
        "-p",
        "other.yaml:b",
        "-o",
        "p.txt",
        "echo p > p.txt",
    )
    assert pipeline.read("pipeline.yaml").endswith("""\
  p:
    cmd: echo p > p.txt
    params:
      - train.lr
      - train.epochs
      - other.yaml: [a, b]
    outs: [p.txt]
""")
    pipeline.cli_ok("repro", "p")
    assert pipeline.lock()["stages"]["p"]["params"] == {
        "params.yaml": {"train.epochs": 3, "train.lr": 0.1},
        "other.yaml": {"a": 1, "b": 2},
    }


def test_stage_add_with_run_runs_the_new_stage_and_its_upstream(pipeline):
    result = pipeline.cli_ok(
        "stage", "add", "-n", "copy", "-d", "model.txt", "-o", "copy.txt", "--run", "cp model.txt copy.txt"
    )
    assert ran_stages(result.stdout) == ["prepare", "train", "copy"]
    assert pipeline.read("copy.txt") == "x"


def test_stage_add_into_the_file_init_made_keeps_its_comments(project):
    project.cli_ok("init")
    header = project.read("pipeline.yaml")
    project.cli_ok("stage", "add", "-n", "hello", "-o", "hello.txt", "--run", "echo hello > hello.txt")
    assert project.read("pipeline.yaml").startswith(header)
    assert project.read("hello.txt") == "hello\n"


@pytest.mark.parametrize(
    "args, expected",
    [
        (["-n", "prepare", "-o", "x.txt", "echo"], "pipeline.yaml:6: a stage named 'prepare' already exists"),
        (["-n", "my stage", "-o", "x.txt", "echo"], "stage 'my stage': invalid stage name 'my stage'"),
        (["-n", "again", "-o", "model.txt", "echo"], "stage 'again': out 'model.txt' is also an out of stage 'train'"),
        (
            ["-n", "loop", "-d", "model.txt", "-o", "raw.txt", "echo"],
            "pipeline.yaml:13: the stages form a cycle: train -> loop -> prepare -> train",
        ),
        (
            ["-n", "lr", "-p", "train.lrr", "-o", "x.txt", "echo"],
            "param 'train.lrr' is not defined in params.yaml (did you mean 'train.lr'",
        ),
        (
            ["-n", "inside", "-o", "prepared.txt/part", "echo"],
            "out 'prepared.txt/part' lies inside stage 'prepare''s out 'prepared.txt'",
        ),
    ],
    ids=["duplicate", "bad-name", "out-made-twice", "cycle", "unknown-param", "overlap"],
)
def test_stage_add_refuses_a_stage_that_does_not_fit_and_leaves_the_file_alone(pipeline, args, expected):
    result = pipeline.cli_fails("stage", "add", *args)
    assert expected in result.stderr
    assert "pipeline.yaml was not changed" in result.stderr or "already exists" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert pipeline.read("pipeline.yaml") == PIPELINE


def test_stage_add_without_a_command_or_a_project_is_a_clear_error(pipeline, tmp_path):
    result = pipeline.cli_fails("stage", "add", "-n", "x", "-o", "x.txt")
    assert "no command given" in result.stderr
    assert pipeline.read("pipeline.yaml") == PIPELINE
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    result = pipeline.cli_fails("stage", "add", "-n", "x", "echo", cwd=outside)
    assert "pipetool init" in result.stderr


def test_stage_add_warns_about_a_dep_nothing_makes(pipeline):
    result = pipeline.cli_ok(
        "stage", "add", "-n", "later", "-d", "not-yet.csv", "-o", "l.txt", "cat not-yet.csv > l.txt"
    )
    assert "warning: dep 'not-yet.csv' does not exist yet" in result.stdout


def test_stage_add_to_a_broken_pipeline_names_the_line_and_changes_nothing(project):
    broken = "stages:\n  a:\n    cmd: [unclosed\n"
    project.write("pipeline.yaml", broken)
    result = project.cli_fails("stage", "add", "-n", "b", "-o", "b.txt", "echo b > b.txt")
    assert "pipeline.yaml:3:" in result.stderr and "invalid YAML" in result.stderr
    assert project.read("pipeline.yaml") == broken


def test_stage_add_metrics_are_cached_with_m_and_kept_in_git_with_capital_m(pipeline):
    pipeline.cli_ok(
        "stage",
        "add",
        "-n",
        "score",
        "-m",
        "cached.json",
        "-M",
        "in_git.json",
        "echo {} > cached.json && echo {} > in_git.json",
    )
    assert pipeline.read("pipeline.yaml").endswith("""\
  score:
    cmd: echo {} > cached.json && echo {} > in_git.json
    metrics:
      - cached.json
      - in_git.json:
          cache: false
""")
    pipeline.cli_ok("repro", "score")
    assert "/cached.json" in pipeline.read(".gitignore")
    assert "in_git.json" not in pipeline.read(".gitignore")
