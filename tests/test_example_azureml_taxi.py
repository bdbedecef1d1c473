"""examples/azureml-taxi: the Azure ML taxi-fare regression pipeline, run on a copy in a temp git repo.

One full run is shared by the module; a test that changes anything works on its own copy of it.
"""

from __future__ import annotations

import json

import pytest
from conftest import REPO_ROOT, ran_stages, set_param
from example_support import ENV, assert_reproduces_committed_lock, built_once

EXAMPLE = REPO_ROOT / "examples" / "azureml-taxi"
ALL_STAGES = ["generate", "prep", "transform", "train", "predict", "score"]


@pytest.fixture(scope="module")
def built(request, tmp_path_factory):
    """The example after its first `pipetool repro`, and that run's output."""
    # example_support.EXAMPLES removes the committed metrics.json: every stage has something to make.
    return built_once(request, tmp_path_factory)


def test_first_repro_runs_every_stage_and_the_model_fits(built):
    project, result = built
    assert ran_stages(result.stdout) == ALL_STAGES
    metrics = json.loads(project.read("metrics.json"))
    assert metrics["r2"] > 0.5
    assert 0 < metrics["mse"] < 25
    assert metrics["n_test"] > 100
    for out in [
        "data/raw/green.csv",
        "data/raw/yellow.csv",
        "data/merged.csv",
        "data/features.csv",
        "data/test.csv",
        "data/predictions.csv",
        "models/model.pkl",
    ]:
        assert project.exists(out), out


def test_first_repro_reproduces_the_committed_lock_and_metrics(built):
    # Every stage of this example is bit-for-bit on any processor (README: "Which example outputs
    # are bit-for-bit"): the lock and the metrics come out as committed, byte for byte.
    project, _ = built
    assert_reproduces_committed_lock(project, EXAMPLE)
    assert project.read("metrics.json") == (EXAMPLE / "metrics.json").read_text()


def test_second_repro_runs_nothing(built):
    project, _ = built
    result = project.cli_ok("repro", env=ENV)
    assert ran_stages(result.stdout) == []
    assert "Data and pipelines are up to date." in project.cli_ok("status", env=ENV).stdout


def test_changing_learning_rate_reruns_train_predict_and_score(example):
    before = json.loads(example.read("metrics.json"))
    set_param(example, "learning_rate: 0.1\n", "learning_rate: 0.05\n")
    result = example.cli_ok("repro", env=ENV)
    assert ran_stages(result.stdout) == ["train", "predict", "score"]
    after = json.loads(example.read("metrics.json"))
    assert after["mse"] != before["mse"] and after["r2"] > 0.5
    assert example.lock()["stages"]["train"]["params"]["params.yaml"]["train"]["learning_rate"] == 0.05
