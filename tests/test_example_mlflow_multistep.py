"""examples/mlflow-multistep: MLflow's multistep workflow (load_raw_data -> etl_data -> als ->
train_keras) as download -> etl -> als -> train.

One full run is shared by the module; each test works on its own copy of the built example.
"""

from __future__ import annotations

import json

import pytest

from conftest import PYTHON_ENV as ENV
from conftest import REPO_ROOT, first_repro, ran_stages, set_param

EXAMPLE = REPO_ROOT / "examples" / "mlflow-multistep"
SOURCES = ["pipeline.yaml", "params.yaml", "pipeline.lock", "steps"]
ALL_STAGES = ["download", "etl", "als", "train"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The example after its first `pipetool repro`, and that run's output."""
    return first_repro(EXAMPLE, tmp_path_factory.mktemp("mlflow") / "repo", SOURCES)


def test_first_repro_runs_every_stage_and_both_models_beat_the_mean_rating(built):
    project, result = built
    assert ran_stages(result.stdout) == ALL_STAGES
    als = json.loads(project.read("metrics/als.json"))
    net = json.loads(project.read("metrics/train.json"))
    assert als["test_rmse"] < 0.8 * als["mean_rating_test_rmse"]
    assert net["test_rmse"] < 0.8 * als["mean_rating_test_rmse"]
    assert project.exists("models/model.pkl") and project.exists("data/ratings.npz")


def test_committed_lock_matches_a_fresh_run(built):
    project, _ = built
    assert "Data and pipelines are up to date." in project.ok("status", env=ENV).stdout
    assert project.read("pipeline.lock") == (EXAMPLE / "pipeline.lock").read_text()


def test_second_repro_runs_nothing(example):
    assert ran_stages(example.ok("repro", env=ENV).stdout) == []


def test_changing_hidden_units_reruns_only_train(example):
    set_param(example, "hidden_units: 20", "hidden_units: 10")
    result = example.ok("repro", env=ENV)
    assert ran_stages(result.stdout) == ["train"]
    assert "changed params: train.hidden_units 20 -> 10" in result.stdout


def test_changing_the_row_limit_reruns_etl_and_everything_after_it(example):
    set_param(example, "max_row_limit: 8000", "max_row_limit: 6000")
    assert ran_stages(example.ok("repro", env=ENV).stdout) == ["etl", "als", "train"]
