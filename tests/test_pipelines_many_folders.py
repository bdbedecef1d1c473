"""Pipelines in many folders, one project: a pipeline.yaml in any folder, each with its lock
beside it, all stages in one graph (DVC's dvc.yaml per folder)."""

from __future__ import annotations

import os
import subprocess

import pytest
import yaml
from conftest import Project, ran_stages

UP_TO_DATE = "Data and pipelines are up to date.\n"

# data/ makes raw.txt; models/ trains on it (a dep in another folder), with its own params.yaml
# and an out reaching up into reports/; the root pipeline reads that report.
DATA = """
    stages:
      fetch:
        cmd: echo 1 2 3 > raw.txt
        outs: [raw.txt]
"""
MODELS = """
    stages:
      train:
        cmd: >-
          cat ../data/raw.txt > model.txt && echo ${lr} >> model.txt
          && echo '{"acc": ${lr}}' > ../reports/acc.json
        deps: [../data/raw.txt]
        outs: [model.txt]
        metrics:
          - ../reports/acc.json: {cache: false}
"""
ROOT = """
    stages:
      publish:
        cmd: cat reports/acc.json > published.txt
        deps: [reports/acc.json]
        outs: [published.txt]
"""


@pytest.fixture
def mono(project: Project) -> Project:
    project.cli_ok("init")
    project.write("pipeline.yaml", ROOT)
    project.write("data/pipeline.yaml", DATA)
    project.write("models/pipeline.yaml", MODELS)
    project.write("models/params.yaml", "lr: 0.1\n")
    return project


def lock_of(project: Project, folder: str) -> dict:
    return yaml.safe_load(project.read(f"{folder}/pipeline.lock"))


def commit(project: Project, message: str) -> str:
    project.git("add", "-A")
    project.git("commit", "-qm", message)
    return project.git("rev-parse", "HEAD").strip()


def test_stages_of_every_folder_form_one_graph_with_a_lock_beside_each_file(mono):
    assert ran_stages(mono.cli_ok("repro", "-P").stdout) == [
        "data/pipeline.yaml:fetch",
        "models/pipeline.yaml:train",
        "publish",
    ]

    assert mono.read("published.txt") == '{"acc": 0.1}\n'
    train = lock_of(mono, "models")["stages"]["train"]
    # paths relative to the lock's folder, as dvc.lock beside its dvc.yaml
    assert [d["path"] for d in train["deps"]] == ["../data/raw.txt"]
    assert sorted(o["path"] for o in train["outs"]) == ["../reports/acc.json", "model.txt"]
    assert train["params"] == {"params.yaml": {"lr": 0.1}}  # a ${} value of its folder's params.yaml
    assert list(lock_of(mono, "data")["stages"]) == ["fetch"]
    assert list(mono.lock()["stages"]) == ["publish"]
    assert mono.cli_ok("status").stdout == UP_TO_DATE
    assert mono.cli_ok("dag").stdout == "data/pipeline.yaml:fetch\n└── models/pipeline.yaml:train\n    └── publish\n"


def test_a_param_of_a_folder_makes_its_stage_and_the_downstream_stale(mono):
    mono.cli_ok("repro", "-P")
    mono.write("models/params.yaml", "lr: 0.2\n")

    assert (
        mono.cli_ok("status").stdout
        == "models/pipeline.yaml:train:\n    changed cmd\n    changed params: lr 0.1 -> 0.2\n"
    )
    assert ran_stages(mono.cli_ok("repro", "-P").stdout) == ["models/pipeline.yaml:train", "publish"]
    assert mono.read("published.txt") == '{"acc": 0.2}\n'


def test_repro_in_a_folder_takes_its_pipeline_file_and_what_it_needs(mono):
    models = mono.path / "models"

    assert ran_stages(mono.cli_ok("repro", cwd=models).stdout) == [
        "data/pipeline.yaml:fetch",
        "models/pipeline.yaml:train",
    ]
    assert not mono.exists("published.txt")  # the root's stage is not this folder's
    assert ran_stages(mono.cli_ok("repro").stdout) == ["publish"]  # at the root: the root's file


def test_targets_name_a_file_a_stage_of_a_file_or_a_folder(mono):
    models = mono.path / "models"
    assert ran_stages(mono.cli_ok("repro", "-s", "data/pipeline.yaml").stdout) == ["data/pipeline.yaml:fetch"]
    assert ran_stages(mono.cli_ok("repro", "models/pipeline.yaml:train").stdout) == ["models/pipeline.yaml:train"]
    mono.cli_ok("repro", "-P")
    assert ran_stages(mono.cli_ok("repro", "-f", "-s", "train", cwd=models).stdout) == [
        "models/pipeline.yaml:train"
    ]  # a bare name: the stage of the current folder's file
    assert ran_stages(mono.cli_ok("repro", "-f", "-s", "pipeline.yaml:train", cwd=models).stdout) == [
        "models/pipeline.yaml:train"
    ]
    assert ran_stages(mono.cli_ok("repro", "-f", "-s", "data").stdout) == ["data/pipeline.yaml:fetch"]
    result = mono.cli_fails("repro", "models/pipeline.yaml:nosuch")
    assert result.stderr.startswith("error: unknown target 'models/pipeline.yaml:nosuch'")


def test_errors_name_the_pipeline_file_its_line_and_the_stage_as_written(mono):
    mono.write("models/pipeline.yaml", MODELS.replace("deps:", "dep:"))

    result = mono.cli_fails("status")

    assert result.stderr.startswith(
        "error: models/pipeline.yaml:7: stage 'train': unknown field 'dep' (did you mean 'deps'?)"
    )


def test_a_new_pipeline_file_in_a_new_folder_joins_the_project(mono):
    mono.cli_ok("repro", "-P")
    mono.write("extra/deeper/pipeline.yaml", "stages:\n  more:\n    cmd: echo x > x.txt\n    outs: [x.txt]\n")

    assert mono.cli_ok("status").stdout == "extra/deeper/pipeline.yaml:more:\n    new stage\n"

    (mono.path / "extra" / "deeper" / "pipeline.yaml").unlink()
    assert mono.cli_ok("status").stdout == UP_TO_DATE


def test_hidden_folders_virtual_environments_and_projects_of_their_own_are_not_read(mono):
    mono.cli_ok("repro", "-P")
    broken = "stages: [this is not a pipeline\n"
    mono.write(".hidden/pipeline.yaml", broken)
    mono.write("venv/lib/pipeline.yaml", broken)
    mono.write("venv/pyvenv.cfg", "home = /usr/bin\n")
    mono.write("other/pipeline.yaml", broken)
    (mono.path / "other" / ".pipetool").mkdir()

    assert mono.cli_ok("status").stdout == UP_TO_DATE


def test_metrics_of_every_folder_across_revisions(mono):
    mono.cli_ok("repro", "-P")
    commit(mono, "lr 0.1")
    mono.write("models/params.yaml", "lr: 0.3\n")
    mono.cli_ok("repro", "-P")

    diff = mono.cli_ok("metrics", "diff", "--json").stdout

    assert '"reports/acc.json"' in diff and "0.1" in diff and "0.3" in diff
    assert "0.1" in mono.cli_ok("metrics", "show", "HEAD").stdout


def test_push_and_pull_carry_every_folders_outs_to_a_clone(mono, tmp_path):
    mono.cli_ok("repro", "-P")
    mono.cli_ok("remote", "add", "-d", "storage", str(tmp_path / "remote"))
    commit(mono, "built")
    mono.cli_ok("push")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(mono.path), str(clone)], check=True)
    other = Project(clone)

    other.cli_ok("pull")

    assert other.read("models/model.txt") == "1 2 3\n0.1\n"
    assert other.read("data/raw.txt") == "1 2 3\n"
    assert other.cli_ok("status").stdout == UP_TO_DATE


def test_gc_keeps_the_objects_every_folders_lock_names(mono):
    mono.cli_ok("repro", "-P")
    (mono.path / "data" / "raw.txt").unlink()
    (mono.path / "models" / "model.txt").unlink()

    mono.cli_ok("gc")
    mono.cli_ok("checkout")

    assert mono.read("data/raw.txt") == "1 2 3\n"
    assert mono.read("models/model.txt") == "1 2 3\n0.1\n"


def test_an_experiment_commits_the_lock_of_every_folder(mono):
    mono.cli_ok("repro", "-P")
    commit(mono, "baseline")
    mono.write("models/params.yaml", "lr: 0.1\n")

    mono.cli_ok("exp", "run", "-S", "models/params.yaml:lr=0.5", "-n", "faster")

    shown = mono.git(
        "show",
        "refs/exps/"
        + mono.git("for-each-ref", "--format=%(refname)", "refs/exps/").strip().split("refs/exps/", 1)[1]
        + ":models/pipeline.lock",
    )
    assert "lr: 0.5" in shown


def test_a_subfolder_lock_whose_out_leads_out_of_the_project_is_refused(mono):
    mono.cli_ok("repro", "-P")
    lock = mono.read("data/pipeline.lock").replace("path: raw.txt", "path: ../../outside.txt")
    mono.write("data/pipeline.lock", lock)
    (mono.path / ".pipetool" / "lock.cache").unlink()

    result = mono.cli_fails("status")

    assert result.stderr.startswith("error: data/pipeline.lock:")
    assert "an out is a clean relative path inside the project" in result.stderr


def test_the_kept_walk_sees_a_pipeline_file_added_or_removed_later(mono):
    mono.cli_ok("repro", "-P")
    past = 1_600_000_000
    for folder in [mono.path, *(p for p in mono.path.rglob("*") if p.is_dir() and ".git" not in p.parts)]:
        os.utime(folder, (past, past))
    assert mono.cli_ok("status").stdout == UP_TO_DATE  # walks, and keeps the walk
    assert (mono.path / ".pipetool" / "pipelines.cache").exists()
    assert mono.cli_ok("status").stdout == UP_TO_DATE  # from the kept walk

    mono.write("data/more/pipeline.yaml", "stages:\n  more:\n    cmd: echo x > x.txt\n    outs: [x.txt]\n")
    assert mono.cli_ok("status").stdout == "data/more/pipeline.yaml:more:\n    new stage\n"
    (mono.path / "data" / "more" / "pipeline.yaml").unlink()
    assert mono.cli_ok("status").stdout == UP_TO_DATE


def test_verify_reruns_every_folders_stages_apart_and_finds_them_reproduced(mono):
    mono.cli_ok("repro", "-P")
    commit(mono, "built")

    result = mono.cli_ok("verify")

    for name in ("data/pipeline.yaml:fetch", "models/pipeline.yaml:train", "publish"):
        assert f"  {name}: identical\n" in result.stdout
    assert "3 of 3 stage(s) reproduce." in result.stdout


def test_vars_files_and_wdir_of_a_subfolder_pipeline_are_relative_to_its_folder(project):
    project.cli_ok("init")
    project.write("pipeline.yaml", "stages: {}\n")
    project.write("jobs/nightly/v.yaml", "name: nightly\n")
    project.write(
        "jobs/nightly/pipeline.yaml",
        """
        vars: [v.yaml]
        stages:
          report:
            wdir: ../..
            cmd: echo ${name} > reports/${name}.txt
            outs:
              - reports/${name}.txt
    """,
    )
    (project.path / "reports").mkdir()

    project.cli_ok("repro", "-P")

    assert project.read("reports/nightly.txt") == "nightly\n"
    lock = lock_of(project, "jobs/nightly")["stages"]["report"]
    assert [o["path"] for o in lock["outs"]] == ["../../reports/nightly.txt"]


def test_pipetoolignore_keeps_folders_out_of_the_project_now_and_at_a_revision(mono):
    mono.cli_ok("repro", "-P")
    broken = "stages: [this is not a pipeline\n"
    mono.write("examples/demo/pipeline.yaml", broken)
    mono.write("tests/data/case/pipeline.yaml", broken)
    mono.write("vendor/fixtures/pipeline.yaml", broken)
    assert mono.cli_fails("status").stderr.startswith("error: examples/demo/pipeline.yaml:1")

    mono.write(".pipetoolignore", "# not ours\nexamples/\ntests/data\nfixtures\n")

    assert mono.cli_ok("status").stdout == UP_TO_DATE
    commit(mono, "with examples")
    assert "0.1" in mono.cli_ok("metrics", "show", "HEAD").stdout  # the revision's walk skips them too


def test_a_folder_of_tracked_data_is_not_entered_now_or_at_a_revision(mono):
    mono.cli_ok("repro", "-P")
    broken = "stages: [this is not a pipeline\n"
    mono.write("datasets/images/cats/c1.txt", "meow\n")
    mono.cli_ok("add", "datasets/images")
    mono.write("datasets/images/cats/pipeline.yaml", broken)  # data that happens to hold the name
    mono.cli_ok("add", "datasets/images")
    mono.write("datasets/notes/pipeline.yaml", broken)  # beside it, not tracked: still read
    assert mono.cli_fails("status").stderr.startswith("error: datasets/notes/pipeline.yaml:1")

    os.remove(mono.path / "datasets/notes/pipeline.yaml")
    assert mono.cli_ok("status").stdout == UP_TO_DATE
    commit(mono, "tracked images")
    mono.git("add", "-f", "datasets/images")  # even committed to git by mistake, it is data
    commit(mono, "images in git too")
    assert "0.1" in mono.cli_ok("metrics", "show", "HEAD").stdout
