"""The example ML pipeline at the repo root, run on a copy in a temp git repo.

One full run is shared by the module (it takes several seconds); each test works on its own copy.
"""

from __future__ import annotations

import json
import os

import pytest
from conftest import REPO_ROOT, ran_stages, set_param
from example_support import ENV, assert_reproduces_committed_lock, built_once

ALL_STAGES = ["generate", "preprocess", "baseline", "train", "evaluate"]


@pytest.fixture(scope="module")
def built(request, tmp_path_factory):
    """The example after its first `pipetool repro`, and that run's output."""
    return built_once(request, tmp_path_factory)


def test_first_repro_runs_all_stages_and_model_beats_baseline(built):
    project, result = built
    assert ran_stages(result.stdout) == ALL_STAGES
    metrics = json.loads(project.read("metrics.json"))
    assert metrics["model"]["accuracy"] > metrics["baseline"]["accuracy"]


def test_committed_lock_matches_a_fresh_run(built):
    # Every stage of this example is bit-for-bit on any processor (README: "Which example outputs
    # are bit-for-bit"), so every entry must come out as committed, hashes and durations included.
    project, _ = built
    assert "Data and pipelines are up to date." in project.cli_ok("status", env=ENV).stdout
    assert_reproduces_committed_lock(project, REPO_ROOT)


def test_second_repro_runs_nothing(example):
    result = example.cli_ok("repro", env=ENV)
    assert ran_stages(result.stdout) == []


def test_rewriting_raw_data_with_identical_bytes_runs_nothing(example):
    raw = example.path / "data" / "raw.csv"
    data = raw.read_bytes()
    raw.unlink()
    raw.write_bytes(data)
    stat = raw.stat()
    os.utime(raw, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    result = example.cli_ok("repro", env=ENV)
    assert ran_stages(result.stdout) == []


def test_changing_n_estimators_reruns_train_and_evaluate(example):
    set_param(example, "n_estimators: 100\n    max_depth: 8", "n_estimators: 20\n    max_depth: 8")
    result = example.cli_ok("repro", env=ENV)
    assert ran_stages(result.stdout) == ["train", "evaluate"]


def test_changing_baseline_strategy_reruns_baseline_and_evaluate(example):
    set_param(example, "strategy: most_frequent", "strategy: stratified")
    result = example.cli_ok("repro", env=ENV)
    assert ran_stages(result.stdout) == ["baseline", "evaluate"]


def test_two_jobs_run_baseline_and_train_at_the_same_time(example, tmp_path):
    set_param(example, "n_estimators: 100\n    max_depth: 8", "n_estimators: 20\n    max_depth: 8")
    set_param(example, "strategy: most_frequent", "strategy: stratified")
    # Each of the two stages writes <stage>.started and waits for the other's (stages/common.py):
    # both finishing proves they ran at the same time; run one after the other, the first would fail.
    handshake = tmp_path / "handshake"
    handshake.mkdir()
    result = example.cli_ok("repro", "-j", "2", env={**ENV, "PIPETOOL_EXAMPLE_HANDSHAKE": str(handshake)})
    assert sorted(ran_stages(result.stdout)) == ["baseline", "evaluate", "train"]
    assert ran_stages(result.stdout)[-1] == "evaluate"
    assert sorted(os.listdir(handshake)) == ["baseline.started", "train.started"]


def test_one_job_fails_the_handshake_of_baseline_and_train(example, tmp_path):
    # The other side of the test above: with -j 1 the first of the two waits for the second in vain.
    set_param(example, "n_estimators: 100\n    max_depth: 8", "n_estimators: 20\n    max_depth: 8")
    set_param(example, "strategy: most_frequent", "strategy: stratified")
    handshake = tmp_path / "handshake"
    handshake.mkdir()
    env = {**ENV, "PIPETOOL_EXAMPLE_HANDSHAKE": str(handshake), "PIPETOOL_EXAMPLE_HANDSHAKE_TIMEOUT": "0.5"}
    result = example.cli_fails("repro", "-j", "1", env=env)
    assert "baseline: stage 'train' did not start within 0.5 s of this one" in result.stdout + result.stderr
    assert os.listdir(handshake) == ["baseline.started"]
