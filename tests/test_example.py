"""The example ML pipeline at the repo root, run on a copy in a temp git repo.

One full run is shared by the module (it takes several seconds); each test works on its own copy.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import PYTHON_ENV as ENV
from conftest import REPO_ROOT, Project, copy_project, ran_stages, set_param

ALL_STAGES = ["generate", "preprocess", "baseline", "train", "evaluate"]


def copy_example(dest: Path) -> Project:
    return copy_project(REPO_ROOT, dest, ["pipeline.yaml", "params.yaml", "pipeline.lock", "stages"])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The example after its first `pipetool repro`, and that run's output."""
    project = copy_example(tmp_path_factory.mktemp("example") / "repo")
    result = project.ok("repro", env=ENV, timeout=300)
    return project, result


def test_first_repro_runs_all_stages_and_model_beats_baseline(built):
    project, result = built
    assert ran_stages(result.stdout) == ALL_STAGES
    metrics = json.loads(project.read("metrics.json"))
    assert metrics["model"]["accuracy"] > metrics["baseline"]["accuracy"]


def test_committed_lock_matches_a_fresh_run(built):
    project, _ = built
    assert "Data and pipelines are up to date." in project.ok("status", env=ENV).stdout
    assert (project.path / "pipeline.lock").read_bytes() == (REPO_ROOT / "pipeline.lock").read_bytes()


def test_second_repro_runs_nothing(example):
    result = example.ok("repro", env=ENV)
    assert ran_stages(result.stdout) == []


def test_rewriting_raw_data_with_identical_bytes_runs_nothing(example):
    raw = example.path / "data" / "raw.csv"
    data = raw.read_bytes()
    raw.unlink()
    raw.write_bytes(data)
    stat = raw.stat()
    os.utime(raw, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    result = example.ok("repro", env=ENV)
    assert ran_stages(result.stdout) == []


def test_changing_n_estimators_reruns_train_and_evaluate(example):
    set_param(example, "n_estimators: 100\n    max_depth: 8", "n_estimators: 20\n    max_depth: 8")
    result = example.ok("repro", env=ENV, timeout=300)
    assert ran_stages(result.stdout) == ["train", "evaluate"]


def test_changing_baseline_strategy_reruns_baseline_and_evaluate(example):
    set_param(example, "strategy: most_frequent", "strategy: stratified")
    result = example.ok("repro", env=ENV, timeout=300)
    assert ran_stages(result.stdout) == ["baseline", "evaluate"]


def test_two_jobs_run_baseline_and_train_at_the_same_time(example, tmp_path):
    set_param(example, "n_estimators: 100\n    max_depth: 8", "n_estimators: 20\n    max_depth: 8")
    set_param(example, "strategy: most_frequent", "strategy: stratified")
    timing = tmp_path / "timing.txt"
    env = {**ENV, "PIPETOOL_EXAMPLE_TIMING": str(timing), "PIPETOOL_EXAMPLE_SLEEP": "1"}
    result = example.ok("repro", "-j", "2", env=env, timeout=300)
    assert sorted(ran_stages(result.stdout)) == ["baseline", "evaluate", "train"]
    assert ran_stages(result.stdout)[-1] == "evaluate"
    times: dict[str, dict[str, float]] = {}
    for line in timing.read_text().splitlines():
        stage, event, when = line.split()
        times.setdefault(stage, {})[event] = float(when)
    baseline, train = times["baseline"], times["train"]
    assert baseline["start"] < train["end"] and train["start"] < baseline["end"], times
