"""examples/bentoml-package: train, package into a versioned bundle, smoke-test; run on a copy.

One full run is shared by the module; a test that changes anything works on its own copy of it.
"""

from __future__ import annotations

import json
from importlib.metadata import version

import pytest
from conftest import REPO_ROOT, ran_stages, set_param
from example_support import ENV, assert_reproduces_committed_lock, built_once, interpreter_dependent

EXAMPLE = REPO_ROOT / "examples" / "bentoml-package"
ALL_STAGES = ["train", "package", "smoke"]
BUNDLE = "bundles/iris_clf/1.0.0"


@pytest.fixture(scope="module")
def built(request, tmp_path_factory):
    """The example after its first `pipetool repro`, and that run's output."""
    # example_support.EXAMPLES removes the committed metrics.json: every stage has something to make.
    return built_once(request, tmp_path_factory)


def test_first_repro_runs_every_stage_and_the_smoke_prediction_is_setosa(built):
    project, result = built
    assert ran_stages(result.stdout) == ALL_STAGES
    assert json.loads(project.read("metrics.json")) == {"prediction": {"class_index": 0, "class_name": "setosa"}}


def test_the_bundle_holds_model_metadata_and_serving_code(built):
    project, _ = built
    files = sorted(str(p.relative_to(project.path / BUNDLE)) for p in (project.path / BUNDLE).rglob("*") if p.is_file())
    assert files == ["bundle.json", "model/model.pkl", "requirements.txt", "src/service.py"]
    meta = json.loads(project.read(f"{BUNDLE}/bundle.json"))
    assert (meta["name"], meta["version"], meta["tag"]) == ("iris_clf", "1.0.0", "iris_clf:1.0.0")
    assert meta["model"]["sklearn_version"] == version("scikit-learn")
    assert meta["model"]["feature_names"][0] == "sepal length (cm)"
    assert meta["model"]["target_names"] == ["setosa", "versicolor", "virginica"]
    assert meta["created_from"]["params"]["train"] == {"C": 1.0, "kernel": "rbf", "gamma": "scale"}
    assert project.read("bundles/iris_clf/.gitignore").splitlines() == ["/1.0.0"]
    lock_outs = project.lock()["stages"]["package"]["outs"]
    assert [out["path"] for out in lock_outs] == [BUNDLE] and lock_outs[0]["nfiles"] == 4


def test_first_repro_reproduces_the_committed_lock_and_metrics(built):
    # Every stage of this example is bit-for-bit on any processor (README: "Which example outputs
    # are bit-for-bit"): the lock and the metrics come out as committed, byte for byte; on another
    # Python version than the lock's, all but the pickled model and the bundle holding it.
    project, _ = built
    assert_reproduces_committed_lock(project, EXAMPLE, interpreter_dependent(EXAMPLE))
    assert project.read("metrics.json") == (EXAMPLE / "metrics.json").read_text()


def test_second_repro_runs_nothing(built):
    project, _ = built
    result = project.cli_ok("repro", env=ENV)
    assert ran_stages(result.stdout) == []
    assert "Data and pipelines are up to date." in project.cli_ok("status", env=ENV).stdout


def test_changing_C_reruns_train_package_and_smoke(example):
    set_param(example, "C: 1.0\n", "C: 0.5\n")
    result = example.cli_ok("repro", env=ENV)
    assert ran_stages(result.stdout) == ["train", "package", "smoke"]
    meta = json.loads(example.read(f"{BUNDLE}/bundle.json"))
    assert meta["created_from"]["params"]["train"]["C"] == 0.5
    assert json.loads(example.read("metrics.json"))["prediction"]["class_name"] == "setosa"


def test_bumping_the_version_repackages_into_a_new_folder_without_retraining(example):
    set_param(example, "version: 1.0.0\n", "version: 1.1.0\n")
    result = example.cli_ok("repro", env=ENV)
    assert ran_stages(result.stdout) == ["package", "smoke"]
    meta = json.loads(example.read("bundles/iris_clf/1.1.0/bundle.json"))
    assert meta["tag"] == "iris_clf:1.1.0"
    assert [out["path"] for out in example.lock()["stages"]["package"]["outs"]] == ["bundles/iris_clf/1.1.0"]
    assert "/1.1.0" in example.read("bundles/iris_clf/.gitignore").splitlines()
