"""The environment fingerprint beside each pipeline.lock (pipeline.env.json): written for the
stages that produced new results, never when nothing ran, and named by `verify` when a stage
differs ("pyyaml 0.0.1 → 6.0.2"). Through the real CLI in temp repos."""

from __future__ import annotations

import json
import sys
from importlib import metadata

import pytest

CLOCKED = """
    stages:
      clock:
        cmd: date +%s%N > time.txt
        outs: [time.txt]
      steady:
        cmd: echo steady > steady.txt
        outs: [steady.txt]
"""


def environment_of(project, stage: str) -> dict:
    data = json.loads(project.read("pipeline.env.json"))
    return data["environments"][data["stages"][stage]]


def test_a_run_records_the_environment_of_its_stages(project, tmp_path):
    project.write("pipeline.yaml", CLOCKED)
    project.cli_ok("repro", env={"XDG_CACHE_HOME": str(tmp_path)})
    found = environment_of(project, "steady")
    assert found == environment_of(project, "clock")
    assert found["python"].endswith(".".join(map(str, sys.version_info[:3])))
    assert found["packages"]["pyyaml"] == metadata.version("pyyaml")
    assert found["cpu"] and found["platform"]
    if "numpy" in found["packages"]:
        assert found["numpy"] == found["packages"]["numpy"] and found.get("blas")
    # the fingerprint is no dep: editing it leaves every stage up to date
    project.write("pipeline.env.json", project.read("pipeline.env.json").replace(found["cpu"], "another CPU"))
    assert project.cli_ok("status").stdout == "Data and pipelines are up to date.\n"


def test_nothing_ran_no_fingerprint_and_a_reproduced_run_leaves_the_file_as_it_was(project, tmp_path):
    project.write("pipeline.yaml", CLOCKED)
    project.cli_ok("repro", env={"XDG_CACHE_HOME": str(tmp_path / "first")})
    assert len(list((tmp_path / "first" / "pipetool").glob("environment-*.json"))) == 1  # computed, and kept
    data = json.loads(project.read("pipeline.env.json"))  # as if both ran on another machine
    [(key, environment)] = data["environments"].items()
    data["environments"] = {"elsewhere": {**environment, "cpu": "the lock's CPU"}}
    data["stages"] = dict.fromkeys(data["stages"], "elsewhere")
    recorded = json.dumps(data, indent=1) + "\n"
    project.write("pipeline.env.json", recorded)

    project.cli_ok("repro", env={"XDG_CACHE_HOME": str(tmp_path / "up-to-date")})
    assert not list((tmp_path / "up-to-date").glob("pipetool/environment*.json"))  # nothing ran: none computed
    project.cli_ok("repro", "-f", "steady", env={"XDG_CACHE_HOME": str(tmp_path / "first")})
    assert project.read("pipeline.env.json") == recorded  # steady reproduced its results: kept

    project.cli_ok("repro", "-f", "clock", env={"XDG_CACHE_HOME": str(tmp_path / "first")})
    assert environment_of(project, "clock")["cpu"] != "the lock's CPU"  # new results, this machine
    assert environment_of(project, "steady")["cpu"] == "the lock's CPU"


def test_verify_names_the_package_that_changed_for_a_stage_that_differs(project):
    project.write("pipeline.yaml", CLOCKED)
    project.cli_ok("repro")
    data = json.loads(project.read("pipeline.env.json"))
    [recorded] = data["environments"].values()
    recorded["packages"]["pyyaml"] = "0.0.1"  # the lock was made with another pyyaml
    recorded["python"] = "CPython 3.99.0"
    project.write("pipeline.env.json", json.dumps(data, indent=1) + "\n")
    project.git("add", "-A")
    project.git("commit", "-qm", "locked elsewhere")

    result = project.cli_fails("verify", "--json")
    verdicts = {v["stage"]: v for v in json.loads(result.stdout)}
    assert verdicts["clock"]["status"] == "differs"
    changes = verdicts["clock"]["environment"]
    assert f"pyyaml 0.0.1 → {metadata.version('pyyaml')}" in changes
    assert any(change.startswith("Python CPython 3.99.0 → CPython 3.") for change in changes)
    assert "environment" not in verdicts["steady"]  # identical: nothing to explain

    text = project.cli_fails("verify").stdout
    assert (
        "    environment: Python CPython 3.99.0 → " in text and f"pyyaml 0.0.1 → {metadata.version('pyyaml')}" in text
    )
    markdown = project.cli_fails("verify", "--md").stdout
    [row] = [line for line in markdown.splitlines() if "environment:" in line]
    assert row.startswith("| `clock` | ❌ differs | | | environment: ") and "pyyaml 0.0.1 → " in row


def test_verify_says_when_the_environment_is_the_same_or_was_not_recorded(project):
    project.write("pipeline.yaml", CLOCKED)
    project.cli_ok("repro")
    project.git("add", "-A")
    project.git("commit", "-qm", "locked here")
    text = project.cli_fails("verify").stdout
    assert "    environment: the same environment as the one that produced the lock\n" in text
    project.git("rm", "-q", "pipeline.env.json")
    project.git("commit", "-qm", "no fingerprint")
    found = {v["stage"]: v for v in json.loads(project.cli_fails("verify", "--json").stdout)}
    assert found["clock"]["environment"] is None
    assert "no environment recorded with the lock" in project.cli_fails("verify").stdout


@pytest.mark.parametrize("back", [[], ["--no-run-cache"]], ids=["restored", "rerun"])
def test_param_changed_and_changed_back_leaves_the_committed_environment(project, tmp_path, back):
    """The lock entry goes back to HEAD's (test_ux_first_hour_a); the stage's environment goes
    back with it, even when the lock was made elsewhere, so `git status` is clean again."""
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    project.write("params.yaml", "n: 1\n")
    project.write("pipeline.yaml", "stages:\n  make:\n    cmd: echo ${n} > out.txt\n    outs: [out.txt]\n")
    project.cli_ok("repro", env=env)
    data = json.loads(project.read("pipeline.env.json"))  # as if the lock was made on another machine
    [environment] = data["environments"].values()
    data = {"stages": {"make": "elsewhere"}, "environments": {"elsewhere": {**environment, "cpu": "the lock's CPU"}}}
    committed = json.dumps(data, indent=1) + "\n"
    project.write("pipeline.env.json", committed)
    project.git("add", "-A")
    project.git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "pipeline")

    project.write("params.yaml", "n: 2\n")
    project.cli_ok("repro", env=env)
    assert environment_of(project, "make")["cpu"] != "the lock's CPU"  # new results, this machine
    project.write("params.yaml", "n: 1\n")
    project.cli_ok("repro", *back, env=env)

    assert project.read("pipeline.env.json") == committed
    assert project.git("status", "--porcelain", "--untracked-files=no") == ""
