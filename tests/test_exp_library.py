"""The experiments library called with data: options, overrides and names in; experiments,
outcomes and rows out; progress only through the reporter it is given, nothing printed.

And the grid's worker process: its payload round-trips every repro option, and a payload it
cannot read is one clear line on stderr.
"""

from __future__ import annotations

import io
import json
import re
import shlex
import subprocess
import sys

import pytest
from conftest import CLI_ENV, Project, private_copy

from pipetool.cli import exp_worker as worker
from pipetool.engine.repro import ReproOptions
from pipetool.errors import ExperimentError
from pipetool.executor import ExecutorChoice
from pipetool.experiments import diff, grid, launch, overrides, payload, queue, refs, table
from pipetool.experiments.report import GridReporter
from pipetool.experiments.run import run_experiment
from pipetool.terminal.report import ConsoleReporter

PY = shlex.quote(sys.executable)

PIPELINE = f"""
    stages:
      prepare:
        cmd: {PY} -c "open('data.txt', 'w').write('data')"
        outs: [data.txt]
      train:
        cmd: {PY} train.py
        deps: [train.py, data.txt]
        params: [lr, model]
        metrics:
          - metrics.json: {{cache: false}}
"""

TRAIN = """
    import json, sys, yaml
    p = yaml.safe_load(open("params.yaml"))
    if p["model"] == "bad":
        sys.exit("unknown model: bad")
    json.dump({"acc": round(0.5 + p["lr"], 3)}, open("metrics.json", "w"))
"""


def git(project: Project, *args: str) -> str:
    return project.git(*args).strip()


def points(*sets: str) -> list[tuple[overrides.Override, ...]]:
    return overrides.parse(list(sets))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Project:
    project = Project(tmp_path_factory.mktemp("exp-library") / "repo")
    project.path.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=project.path, check=True)
    project.git("config", "user.email", "test@example.com")
    project.git("config", "user.name", "Test")
    project.write("pipeline.yaml", PIPELINE)
    project.write("train.py", TRAIN)
    project.write("params.yaml", "lr: 0.1\nmodel: linear\n")
    project.cli_ok("repro")
    project.git("add", "-A")
    project.git("commit", "-q", "-m", "pipeline")
    return project


@pytest.fixture
def small(built, tmp_path) -> Project:
    return private_copy(built, tmp_path / "repo")


def test_run_experiment_returns_the_saved_experiment_and_prints_nothing(small, capfd):
    out = io.StringIO()
    experiment = run_experiment(
        str(small.path), points("lr=0.25")[0], "quarter", ReproOptions(), ConsoleReporter(out=out)
    )
    assert capfd.readouterr() == ("", "")
    assert "Running stage 'train': changed params: lr 0.1 -> 0.25" in out.getvalue()
    head = git(small, "rev-parse", "HEAD")
    assert (experiment.name, experiment.baseline) == ("quarter", head)
    assert git(small, "rev-parse", experiment.ref) == experiment.sha
    assert json.loads(small.git("show", f"{experiment.sha}:metrics.json")) == {"acc": 0.75}
    # what exp list, exp diff and exp show are made of: plain data
    [listed] = refs.listing(str(small.path))
    assert (listed.name, listed.sha, listed.ref) == (experiment.name, experiment.sha, experiment.ref)
    assert refs.by_baseline(str(small.path), [listed]) == [refs.Group(head, "main", (listed,))]
    params, metrics = diff.sides(str(small.path), "HEAD", "quarter")
    assert [label for label, _ in params] == ["HEAD", "quarter"]
    assert [files["params.yaml"].values["lr"] for _, files in params] == [0.1, 0.25]
    assert [files["metrics.json"].values["acc"] for _, files in metrics] == [0.6, 0.75]
    records = table.records(table.collect(str(small.path)))
    assert [(r["name"], r["experiment"], r["metrics"]["metrics.json"]["acc"]) for r in records] == [
        ("main", False, 0.6),
        ("quarter", True, 0.75),
    ]
    assert refs.remove(str(small.path), ["quarter"]) == [listed]
    assert refs.listing(str(small.path)) == [] and capfd.readouterr() == ("", "")


def test_a_grid_returns_each_outcome_and_reports_only_to_its_reporter(small, capfd):
    out = io.StringIO()
    result = launch.run_apart(str(small.path), points("model=tree,bad"), "g", 2, ReproOptions(), GridReporter(out=out))
    assert capfd.readouterr() == ("", "")
    assert [p.name for p in result.planned] == ["g-1", "g-2"] and not result.interrupted
    assert [o.planned.name for o in result.saved] == ["g-1"]
    saved = result.saved[0].experiment
    assert git(small, "rev-parse", saved.ref) == saved.sha
    [failed] = result.failed
    assert failed.planned.name == "g-2" and failed.experiment is None
    assert failed.why == "exit code 1; its output is in .pipetool/exps/logs/g-2.log"
    assert "unknown model: bad" in open(failed.log).read()
    shown = out.getvalue()
    assert "[g-1] Running stage 'train': changed params: model linear -> tree" in shown
    assert f"Experiment 'g-2' failed: {failed.why}" in shown
    # Each ending says how far the grid is, whichever order they end in.
    endings = [line for line in shown.splitlines() if re.match(r"Experiment '[^']+' (saved \(|failed: )", line)]
    assert sorted(line[-5:] for line in endings) == ["[1/2]", "[2/2]"]
    with pytest.raises(ExperimentError, match=r"^1 of 2 experiment\(s\) failed$"):
        grid.raise_for(result)
    assert git(small, "status", "--porcelain") == ""


def test_every_repro_option_reaches_the_experiments_of_a_grid(small, capfd):
    """force is no flag 'exp run' has: given as data, each worker's repro still runs the shared
    stage that it would otherwise restore from the run-cache."""
    out = io.StringIO()
    result = launch.run_apart(
        str(small.path), points("lr=0.2,0.3"), "f", 1, ReproOptions(force=True), GridReporter(out=out)
    )
    assert capfd.readouterr() == ("", "")
    assert len(result.saved) == 2
    for name in ("f-1", "f-2"):
        assert f"[{name}] Running stage 'prepare': forced" in out.getvalue(), out.getvalue()


def test_queued_experiments_run_later_as_data(small, capfd):
    root = str(small.path)
    entries = launch.enqueue(root, points("lr=0.2,0.3"), "q")
    assert [e.planned.name for e in entries] == ["q-1", "q-2"]
    assert queue.queued(root) == (entries, [])
    with pytest.raises(ExperimentError, match="an experiment named 'q-1' is already queued"):
        launch.plan(root, points("lr=0.4"), "q-1")
    out = io.StringIO()
    result = queue.run_queued(root, 2, ReproOptions(), GridReporter(out=out))
    assert capfd.readouterr() == ("", "")
    assert sorted(o.planned.name for o in result.saved) == ["q-1", "q-2"]
    assert queue.queued(root) == ([], [])
    assert queue.run_queued(root, 2, ReproOptions(), GridReporter(out=out)).planned == []


# --- the worker's payload ------------------------------------------------------------------------


def test_a_payload_carries_every_repro_option_and_override(tmp_path):
    options = ReproOptions(
        targets=(1, 0),
        force=True,
        single=True,
        downstream=True,
        dry=True,
        keep_going=True,
        jobs=3,
        run_cache=False,
        executor=ExecutorChoice("dask", "tcp://host:8786", 2),
    )
    found = points("lr=[1, 2]", "+other.yaml:a.b='x,y'")[0]
    job = payload.Job(str(tmp_path), "name-1", found, options)
    payload.write(str(tmp_path / "job.json"), job)
    assert payload.read(str(tmp_path / "job.json")) == job
    assert payload.from_data(json.loads(json.dumps(payload.to_data(job)))) == job


def _valid(root) -> dict:
    return payload.to_data(payload.Job(str(root), "e", points("lr=0.2")[0], ReproOptions()))


def _changed(root, path: tuple, value) -> dict:
    data = _valid(root)
    *parents, last = path
    inner = data
    for key in parents:
        inner = inner[key]
    inner[last] = value
    return data


@pytest.mark.parametrize(
    "path, value, message",
    [
        (("version",), 7, "unknown version 7 (this pipetool reads version 1)"),
        (("root",), "relative/path", "'root' must be the absolute path of a folder, not 'relative/path'"),
        (("name",), 12, "'name' must be text, not 12"),
        (("options", "jobs"), "2", 'options.jobs must be a whole number, not "2"'),
        (("options", "keep_going"), 1, "options.keep_going must be true or false, not 1"),
        (("options", "targets"), [0, "a"], 'options.targets must be a list or null, not [0, "a"]'),
        (("options", "executor", "retries"), None, "options.executor.retries must be a whole number, not null"),
        (("options", "turbo"), True, "options has an unknown field 'turbo'"),
        (("overrides",), {"lr": 1}, "'overrides' must be a list, not {'lr': 1}"),
        (("overrides", 0, "add"), "no", 'overrides[0].add must be true or false, not "no"'),
        (
            ("overrides", 0, "text"),
            "[1,",
            "overrides[0]: -S lr=[1,: the value '[1,' is not valid YAML: invalid YAML: "
            "a flow node starts here and is never closed",
        ),
        (("overrides", 0, "file"), "p.toml", "overrides[0]: -S p.toml:lr=0.2: 'p.toml' cannot be edited"),
        (("overrides", 0, "key"), "a b=c", "overrides[0]: 'a b=c=0.2' is not one params override"),
    ],
)
def test_the_worker_refuses_a_malformed_payload_in_one_line(tmp_path, capsys, path, value, message):
    job = tmp_path / "job.json"
    job.write_text(json.dumps(_changed(tmp_path, path, value)))
    assert worker.main([str(job)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"error: experiment payload {job}: {message}\n"


def test_the_worker_refuses_a_payload_that_is_no_experiment(tmp_path, capsys):
    job = tmp_path / "job.json"
    for text, message in [
        ("[]", "the payload must be a mapping, not []"),
        ('{"version": 1}', "the payload has no 'root'"),
    ]:
        job.write_text(text)
        assert worker.main([str(job)]) == 2
        assert capsys.readouterr() == ("", f"error: experiment payload {job}: {message}\n")
    assert worker.main([]) == 2
    assert (
        capsys.readouterr().err
        == "error: expected one payload file (usage: python -m pipetool.cli.exp_worker PAYLOAD_FILE)\n"
    )


def test_the_worker_process_says_what_is_wrong_with_its_payload_file(tmp_path):
    job = tmp_path / "job.json"
    job.write_text('{"version": 1, "root": ')
    command = [sys.executable, "-m", "pipetool.cli.exp_worker"]
    result = subprocess.run([*command, str(job)], capture_output=True, text=True, env=CLI_ENV, cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"error: experiment payload {job}: not JSON: ")
    assert len(result.stderr.splitlines()) == 1
    missing = subprocess.run(
        [*command, str(tmp_path / "none.json")], capture_output=True, text=True, env=CLI_ENV, cwd=tmp_path
    )
    assert missing.returncode == 2
    assert (
        missing.stderr == f"error: experiment payload {tmp_path / 'none.json'}: cannot be read: "
        "No such file or directory\n"
    )
