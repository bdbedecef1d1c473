"""examples/zenml-quickstart: the ZenML quickstart pipeline, run on a copy in a temp git repo.

One full run is shared by the module; a test that changes anything works on its own copy of it.
"""

from __future__ import annotations

import json

import pytest
from conftest import REPO_ROOT, ran_stages, set_param
from example_support import ENV, METRICS_TOLERANCE, assert_reproduces_committed_lock, built_once

EXAMPLE = REPO_ROOT / "examples" / "zenml-quickstart"
ALL_STAGES = ["source", "split", "preprocess", "train", "evaluate"]
# The MLP trains through BLAS: the model's last bits depend on the processor (README: "Which
# example outputs are bit-for-bit"). Its metrics are compared within METRICS_TOLERANCE; the data,
# the split and the scaled features must reproduce byte for byte.
KERNEL_DEPENDENT = {"models/model.pkl": None, "metrics.json": METRICS_TOLERANCE}


@pytest.fixture(scope="module")
def built(request, tmp_path_factory):
    """The example after its first `pipetool repro`, and that run's output."""
    # example_support.EXAMPLES removes the committed metrics.json: every stage has something to make.
    return built_once(request, tmp_path_factory)


def test_first_repro_runs_every_stage_and_the_model_learns(built):
    project, result = built
    assert ran_stages(result.stdout) == ALL_STAGES
    metrics = json.loads(project.read("metrics.json"))
    assert metrics["accuracy"] > 0.7  # the majority class alone is about 0.6
    assert 0 < metrics["binary_crossentropy"] < 0.6
    assert metrics["n_test"] == 230  # 30% of 768 rows


def test_preprocessing_scales_the_features_and_leaves_the_label(built):
    import pandas as pd

    project, _ = built
    train = pd.read_csv(project.path / "data/preprocessed/train.csv")
    raw = pd.read_csv(project.path / "data/split/train.csv")
    features = [c for c in train.columns if c != "has_diabetes"]
    assert train[features].mean().abs().max() < 1e-3
    assert (train[features].std(ddof=0) - 1).abs().max() < 1e-3
    assert train["has_diabetes"].tolist() == raw["has_diabetes"].tolist()


def test_first_repro_reproduces_the_committed_lock_and_metrics(built):
    project, _ = built
    assert_reproduces_committed_lock(project, EXAMPLE, KERNEL_DEPENDENT)


def test_second_repro_runs_nothing(built):
    project, _ = built
    result = project.cli_ok("repro", env=ENV)
    assert ran_stages(result.stdout) == []
    assert "Data and pipelines are up to date." in project.cli_ok("status", env=ENV).stdout


def test_changing_epochs_reruns_train_and_evaluate(example):
    before = json.loads(example.read("metrics.json"))
    set_param(example, "epochs: 40 ", "epochs: 10 ")
    result = example.cli_ok("repro", env=ENV)
    assert ran_stages(result.stdout) == ["train", "evaluate"]
    assert "ConvergenceWarning" not in result.stdout + result.stderr
    after = json.loads(example.read("metrics.json"))
    assert after["binary_crossentropy"] != before["binary_crossentropy"]
