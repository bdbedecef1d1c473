"""examples/metaflow-branch: a Metaflow branching flow (start -> baseline | train -> join -> end).

One full run is shared by the module; each test works on its own copy of the built example.
"""

from __future__ import annotations

import json

import pytest

from conftest import PYTHON_ENV as ENV
from conftest import REPO_ROOT, first_repro, ran_stages, set_param

EXAMPLE = REPO_ROOT / "examples" / "metaflow-branch"
SOURCES = ["pipeline.yaml", "params.yaml", "pipeline.lock", "steps"]
ALL_STAGES = ["generate", "start", "baseline", "train", "join", "end"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The example after its first `pipetool repro`, and that run's output."""
    return first_repro(EXAMPLE, tmp_path_factory.mktemp("metaflow") / "repo", SOURCES)


def test_first_repro_runs_every_stage_and_the_model_beats_the_baseline(built):
    project, result = built
    assert ran_stages(result.stdout) == ALL_STAGES
    metrics = json.loads(project.read("metrics.json"))
    assert metrics["baseline"]["roc_auc"] == 0.5
    assert metrics["model"]["accuracy"] > metrics["baseline"]["accuracy"] + 0.05
    assert metrics["model"]["roc_auc"] > 0.8
    assert "The model beats the baseline." in project.read("report.md")


def test_committed_lock_matches_a_fresh_run(built):
    project, _ = built
    assert "Data and pipelines are up to date." in project.ok("status", env=ENV).stdout
    assert project.read("pipeline.lock") == (EXAMPLE / "pipeline.lock").read_text()


def test_second_repro_runs_nothing(example):
    assert ran_stages(example.ok("repro", env=ENV).stdout) == []


def test_changing_the_model_reruns_train_join_and_end_only(example):
    set_param(example, "model: logistic_regression", "model: naive_bayes")
    result = example.ok("repro", env=ENV)
    assert ran_stages(result.stdout) == ["train", "join", "end"]
    metrics = json.loads(example.read("metrics.json"))
    assert metrics["model"]["accuracy"] > metrics["baseline"]["accuracy"]


def test_two_jobs_run_baseline_and_train_at_the_same_time(example, tmp_path):
    set_param(example, "positive_from_rating: 4", "positive_from_rating: 5")  # reruns both branches
    timing = tmp_path / "timing.txt"
    env = {**ENV, "PIPETOOL_EXAMPLE_TIMING": str(timing), "PIPETOOL_EXAMPLE_SLEEP": "1"}
    result = example.ok("repro", "-j", "2", env=env)
    ran = ran_stages(result.stdout)
    assert ran[0] == "start" and ran[-2:] == ["join", "end"] and sorted(ran[1:3]) == ["baseline", "train"]
    times: dict[str, dict[str, float]] = {}
    for line in timing.read_text().splitlines():
        stage, event, when = line.split()
        times.setdefault(stage, {})[event] = float(when)
    baseline, train = times["baseline"], times["train"]
    assert baseline["start"] < train["end"] and train["start"] < baseline["end"], times
