"""examples/metaflow-branch: a Metaflow branching flow (start -> baseline | train -> join -> end).

One full run is shared by the module; each test works on its own copy of the built example.
"""

from __future__ import annotations

import json
import os

import pytest
from conftest import REPO_ROOT, ran_stages, set_param
from example_support import ENV, METRICS_TOLERANCE, assert_reproduces_committed_lock, built_once

EXAMPLE = REPO_ROOT / "examples" / "metaflow-branch"
ALL_STAGES = ["generate", "start", "baseline", "train", "join", "end"]
# LogisticRegression's lbfgs goes through BLAS: the model's last bits, and so possibly its rounded
# scores and what is made of them, depend on the processor (README: "Which example outputs are
# bit-for-bit"). The scores are compared within METRICS_TOLERANCE in the committed metrics.json;
# the data, the tables and the baseline must reproduce byte for byte.
KERNEL_DEPENDENT = {
    "models/model.pkl": None,
    "results/model.json": None,
    "metrics.json": METRICS_TOLERANCE,
    "report.md": None,
}


@pytest.fixture(scope="module")
def built(request, tmp_path_factory):
    """The example after its first `pipetool repro`, and that run's output."""
    return built_once(request, tmp_path_factory)


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
    assert "Data and pipelines are up to date." in project.cli_ok("status", env=ENV).stdout
    assert_reproduces_committed_lock(project, EXAMPLE, KERNEL_DEPENDENT)


def test_second_repro_runs_nothing(example):
    assert ran_stages(example.cli_ok("repro", env=ENV).stdout) == []


def test_changing_the_model_reruns_train_join_and_end_only(example):
    set_param(example, "model: logistic_regression", "model: naive_bayes")
    result = example.cli_ok("repro", env=ENV)
    assert ran_stages(result.stdout) == ["train", "join", "end"]
    metrics = json.loads(example.read("metrics.json"))
    assert metrics["model"]["accuracy"] > metrics["baseline"]["accuracy"]


def test_two_jobs_run_baseline_and_train_at_the_same_time(example, tmp_path):
    set_param(example, "positive_from_rating: 4", "positive_from_rating: 5")  # reruns both branches
    # Each branch writes <step>.started and waits for the other's (steps/common.py): both finishing
    # proves they ran at the same time; run one after the other, the first would fail.
    handshake = tmp_path / "handshake"
    handshake.mkdir()
    result = example.cli_ok("repro", "-j", "2", env={**ENV, "PIPETOOL_EXAMPLE_HANDSHAKE": str(handshake)})
    ran = ran_stages(result.stdout)
    assert ran[0] == "start" and ran[-2:] == ["join", "end"] and sorted(ran[1:3]) == ["baseline", "train"]
    assert sorted(os.listdir(handshake)) == ["baseline.started", "train.started"]
