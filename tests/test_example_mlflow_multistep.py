"""examples/mlflow-multistep: MLflow's multistep workflow (load_raw_data -> etl_data -> als ->
train_keras) as download -> etl -> als -> train.

One full run is shared by the module; each test works on its own copy of the built example.
"""

from __future__ import annotations

import json

import pytest
from conftest import REPO_ROOT, ran_stages, set_param
from example_support import ENV, METRICS_TOLERANCE, assert_reproduces_committed_lock, built_once

EXAMPLE = REPO_ROOT / "examples" / "mlflow-multistep"
ALL_STAGES = ["download", "etl", "als", "train"]
# ALS solves its least squares with LAPACK and the net trains through BLAS: the factors' and the
# model's last bits depend on the processor (README: "Which example outputs are bit-for-bit").
# Their metrics are compared within METRICS_TOLERANCE; the raw data and the split must reproduce
# byte for byte.
KERNEL_DEPENDENT = {
    "models/als.npz": None,
    "metrics/als.json": METRICS_TOLERANCE,
    "models/model.pkl": None,
    "metrics/train.json": METRICS_TOLERANCE,
}


@pytest.fixture(scope="module")
def built(request, tmp_path_factory):
    """The example after its first `pipetool repro`, and that run's output."""
    return built_once(request, tmp_path_factory)


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
    assert "Data and pipelines are up to date." in project.cli_ok("status", env=ENV).stdout
    assert_reproduces_committed_lock(project, EXAMPLE, KERNEL_DEPENDENT)


def test_second_repro_runs_nothing(example):
    assert ran_stages(example.cli_ok("repro", env=ENV).stdout) == []


def test_changing_hidden_units_reruns_only_train(example):
    set_param(example, "hidden_units: 20", "hidden_units: 10")
    result = example.cli_ok("repro", env=ENV)
    assert ran_stages(result.stdout) == ["train"]
    assert "changed params: train.hidden_units 20 -> 10" in result.stdout


def test_changing_the_row_limit_reruns_etl_and_everything_after_it(example):
    set_param(example, "max_row_limit: 8000", "max_row_limit: 6000")
    assert ran_stages(example.cli_ok("repro", env=ENV).stdout) == ["etl", "als", "train"]
