"""examples/orquestra-ml: the Orquestra ML tutorial workflow, with a second component.

One full run is shared by the module; each test works on its own copy of the built example.
"""

from __future__ import annotations

import json

import pytest
from conftest import REPO_ROOT, ran_stages
from example_support import ENV, assert_reproduces_committed_lock, built_once

EXAMPLE = REPO_ROOT / "examples" / "orquestra-ml"
ALL_STAGES = ["generate-data", "preprocess-data", "train-predict", "accuracy", "f1-score"]


@pytest.fixture(scope="module")
def built(request, tmp_path_factory):
    """The example after its first `pipetool repro`, and that run's output."""
    return built_once(request, tmp_path_factory)


def test_first_repro_runs_every_stage_and_the_metrics_are_sane(built):
    project, result = built
    assert ran_stages(result.stdout) == ALL_STAGES
    accuracy = json.loads(project.read("metrics/accuracy.json"))["accuracy"]
    f1 = json.loads(project.read("metrics/f1_score.json"))["f1_score"]
    assert 0.75 < accuracy <= 1.0
    assert 0.75 < f1 <= 1.0
    assert len(json.loads(project.read("data/predictions.json"))["predictions"]) == 100


def test_committed_lock_matches_a_fresh_run(built):
    # Every stage of this example is bit-for-bit on any processor (README: "Which example outputs
    # are bit-for-bit"), so the lock comes out as committed, byte for byte.
    project, _ = built
    assert "Data and pipelines are up to date." in project.cli_ok("status", env=ENV).stdout
    assert_reproduces_committed_lock(project, EXAMPLE)


def test_second_repro_runs_nothing(example):
    assert ran_stages(example.cli_ok("repro", env=ENV).stdout) == []


def test_changing_the_model_reruns_train_predict_and_both_metrics(example):
    params = example.read("params.yaml")
    assert params.count("model_name: perceptron") == 1
    example.write("params.yaml", params.replace("model_name: perceptron", "model_name: logistic_regression"))
    result = example.cli_ok("repro", env=ENV)
    assert ran_stages(result.stdout) == ["train-predict", "accuracy", "f1-score"]
    assert "changed params: train_predict.model_name perceptron -> logistic_regression" in result.stdout


def test_editing_the_component_reruns_only_the_f1_stage(example):
    module = example.path / "components" / "additional-metrics" / "additional_metrics" / "f1.py"
    module.write_text(module.read_text() + "\n# a comment: a code change that changes no result\n")
    result = example.cli_ok("repro", env=ENV)
    assert ran_stages(result.stdout) == ["f1-score"]
    assert "modified components/additional-metrics" in result.stdout


def test_a_new_module_in_the_component_reruns_only_the_f1_stage(example):
    example.write("components/additional-metrics/additional_metrics/precision.py", '"""Not used yet."""\n')
    assert ran_stages(example.cli_ok("repro", env=ENV).stdout) == ["f1-score"]
