"""Experiments (`pipetool exp ...`) through the real CLI in temporary git repositories.

The example pipeline runs one 2x2 grid, shared by the module; everything else uses a two-stage
pipeline that takes a fraction of a second.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest
from conftest import PYTHON_ENV, REPO_ROOT, Project, copy_project, private_copy

PY = shlex.quote(sys.executable)
N_ESTIMATORS = [5, 20]
MAX_DEPTH = [2, 8]


def commit_all(project: Project, message: str = "pipeline") -> None:
    project.git("config", "user.email", "test@example.com")
    project.git("config", "user.name", "Test")
    project.git("add", "-A")
    project.git("commit", "-q", "-m", message)


def exp_refs(project: Project) -> dict[str, str]:
    """{experiment name: commit sha} of every experiment ref."""
    lines = project.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/exps/").splitlines()
    return {ref.rsplit("/", 1)[1]: sha for ref, sha in (line.split() for line in lines)}


def show_json(project: Project, *args: str) -> list[dict]:
    return json.loads(project.cli_ok("exp", "show", "--json", *args).stdout)


# --- the example pipeline: a 2x2 grid, three at a time ----------------------------------------


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """The example, committed without its outs (so every stage must run), then a 2x2 grid with -j 3
    (four experiments: one waits for a free slot).

    Returns the project, the grid's output, what git said before it, and the stage timing log.
    """
    folder = tmp_path_factory.mktemp("exp-grid")
    project = copy_project(REPO_ROOT, folder / "repo", ["pipeline.yaml", "params.yaml", "pipeline.lock", "stages"])
    project.cli_ok("status")  # a project pipetool has seen: .pipetool/.gitignore is committed, as here
    commit_all(project)
    before = {
        "status": project.git("status", "--porcelain", "--untracked-files=all"),
        "branch": project.git("branch", "--show-current"),
        "head": project.git("rev-parse", "HEAD"),
    }
    timing = folder / "timing.log"  # outside every worktree: stages append "<stage> start <time>"
    env = {**PYTHON_ENV, "PIPETOOL_EXAMPLE_TIMING": str(timing)}
    result = project.cli_ok(
        "exp",
        "run",
        "-S",
        "train.random_forest.n_estimators=" + ",".join(map(str, N_ESTIMATORS)),
        "-S",
        "train.random_forest.max_depth=" + ",".join(map(str, MAX_DEPTH)),
        "-j",
        "3",
        env=env,
    )
    return project, result, before, timing


def test_grid_saves_every_experiment_whose_metrics_follow_their_params(grid):
    project, _, before, _ = grid
    rows = show_json(project)
    assert [r["name"] for r in rows if not r["experiment"]] == ["main"]
    experiments = [r for r in rows if r["experiment"]]
    assert len(experiments) == len(N_ESTIMATORS) * len(MAX_DEPTH) == 4 == len(exp_refs(project))
    combos = {
        (
            r["params"]["params.yaml"]["train.random_forest.n_estimators"],
            r["params"]["params.yaml"]["train.random_forest.max_depth"],
        )
        for r in experiments
    }
    assert combos == {(n, d) for n in N_ESTIMATORS for d in MAX_DEPTH}
    scores = {r["metrics"]["metrics.json"]["model.roc_auc"] for r in experiments}
    assert len(scores) == 4  # four settings, four different models
    for row in experiments:  # each commit's parent is HEAD, and its metrics are its own file's
        assert project.git("rev-parse", row["rev"] + "^").strip() == before["head"].strip()
        committed = json.loads(project.git("show", f"{row['rev']}:metrics.json"))
        assert committed["model"]["roc_auc"] == row["metrics"]["metrics.json"]["model.roc_auc"]


def test_grid_runs_the_shared_upstream_stages_once(grid):
    _, result, _, timing = grid
    starts = [line.split()[0] for line in timing.read_text().splitlines() if line.split()[1] == "start"]
    assert starts.count("baseline") == 1  # upstream of evaluate, touched by no override
    assert starts.count("train") == 4
    for stage in ("generate", "preprocess", "baseline"):
        assert result.stdout.count(f"Running stage '{stage}'") == 1, result.stdout


def test_grid_leaves_the_workspace_and_branch_alone(grid):
    project, result, before, _ = grid
    assert project.git("status", "--porcelain", "--untracked-files=all") == before["status"] == ""
    assert project.git("branch", "--show-current") == before["branch"]
    assert project.git("rev-parse", "HEAD") == before["head"]
    assert len(project.git("worktree", "list").splitlines()) == 1
    assert not os.listdir(project.path / ".pipetool" / "exps" / "logs")
    assert "4 experiment(s) saved" in result.stdout


def test_exp_apply_puts_the_best_experiment_in_the_workspace_up_to_date(grid, tmp_path):
    project = private_copy(grid[0], tmp_path / "copy")
    best = show_json(project, "--sort-by", "model.roc_auc", "--desc")[1]
    assert best["experiment"]
    project.cli_ok("exp", "apply", best["name"], env=PYTHON_ENV)
    assert "Data and pipelines are up to date." in project.cli_ok("status", env=PYTHON_ENV).stdout
    metrics = json.loads(project.read("metrics.json"))
    assert metrics["model"]["roc_auc"] == best["metrics"]["metrics.json"]["model.roc_auc"]
    params = project.read("params.yaml")
    assert "strategy: most_frequent   # any DummyClassifier strategy" in params  # comments kept
    assert f"n_estimators: {best['params']['params.yaml']['train.random_forest.n_estimators']}\n" in params
    assert project.git("branch", "--show-current") == "main\n"


def test_exp_branch_makes_a_branch_whose_checkout_reproduces_the_metrics(grid, tmp_path):
    project = private_copy(grid[0], tmp_path / "copy")
    chosen = [r for r in show_json(project) if r["experiment"]][0]
    project.cli_ok("exp", "branch", chosen["name"], "tuned")
    project.git("checkout", "-q", "tuned")
    project.cli_ok("checkout")
    assert "Data and pipelines are up to date." in project.cli_ok("status").stdout
    metrics = json.loads(project.read("metrics.json"))
    assert metrics["model"]["roc_auc"] == chosen["metrics"]["metrics.json"]["model.roc_auc"]
    verified = project.cli("verify", "-j", "2", env=PYTHON_ENV)  # rerun from scratch, apart
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "5 of 5 stage(s) reproduce." in verified.stdout


# --- a small pipeline for everything else -------------------------------------------------------

PIPELINE = f"""
    stages:
      prepare:
        cmd: {PY} prepare.py
        deps: [prepare.py]
        outs: [data.txt]
      train:
        cmd: {PY} train.py
        deps: [train.py, data.txt]
        params: [lr, model]
        outs: [model.txt]
        metrics:
          - metrics.json: {{cache: false}}
"""

PREPARE = """
    import os, time
    if os.environ.get("PREPARE_LOG"):
        open(os.environ["PREPARE_LOG"], "a").write("prepare\\n")
    time.sleep(float(os.environ.get("PREPARE_SLEEP", 0)))  # long enough that experiments overlap
    if os.environ.get("PREPARE_FAIL"):
        raise SystemExit("prepare failed")
    open("data.txt", "w").write("data\\n")
"""

TRAIN = """
    import json, os, sys, time, yaml
    if os.environ.get("TRAIN_MEET"):  # say this experiment started, then wait (bounded) for a second one
        meet = os.environ["TRAIN_MEET"]
        open(os.path.join(meet, str(os.getpid())), "w").close()
        deadline = time.monotonic() + 60
        while len(os.listdir(meet)) < 2:
            if time.monotonic() > deadline:
                sys.exit("no other experiment ran beside this one")
            time.sleep(0.02)
    time.sleep(float(os.environ.get("TRAIN_SLEEP", 0)))
    p = yaml.safe_load(open("params.yaml"))
    if p["model"] == "bad":
        sys.exit("unknown model: bad")
    open("model.txt", "w").write(f"{p['model']} {p['lr']}\\n")
    json.dump({"acc": round(0.5 + p["lr"], 3), "loss": 1.0}, open("metrics.json", "w"))
"""

PARAMS = """\
# training knobs
lr: 0.1        # learning rate
model: linear
"""


@pytest.fixture(scope="module")
def small_built(tmp_path_factory) -> Project:
    project = Project(tmp_path_factory.mktemp("exp-small") / "repo")
    project.path.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=project.path, check=True)
    project.write("pipeline.yaml", PIPELINE)
    project.write("prepare.py", PREPARE)
    project.write("train.py", TRAIN)
    (project.path / "params.yaml").write_text(PARAMS)
    project.cli_ok("repro")
    commit_all(project)
    return project


@pytest.fixture
def small(small_built, tmp_path) -> Project:
    """A private copy of the small pipeline, run and committed."""
    return private_copy(small_built, tmp_path / "small")


def test_exp_run_saves_a_commit_on_its_own_ref_and_leaves_head_alone(small):
    head = small.git("rev-parse", "HEAD")
    result = small.cli_ok("exp", "run", "-S", "lr=0.25", "-n", "quarter")
    assert "Experiment 'quarter' saved" in result.stdout
    sha = exp_refs(small)["quarter"]
    assert small.git("rev-parse", "HEAD") == head and small.git("branch", "--show-current") == "main\n"
    assert small.git("rev-parse", sha + "^") == head
    assert small.git("diff", "--cached", "--name-only") == ""  # the user's index is untouched
    assert sorted(small.git("diff", "--name-only", head.strip(), sha).split()) == [
        "metrics.json",
        "params.yaml",
        "pipeline.lock",
    ]
    assert json.loads(small.git("show", f"{sha}:metrics.json"))["acc"] == 0.75
    # the workspace holds the experiment's results, with the params file's comments and order kept
    assert small.read("params.yaml") == PARAMS.replace("lr: 0.1        #", "lr: 0.25       #")
    assert small.git("show", f"{sha}:params.yaml") == small.read("params.yaml")
    assert json.loads(small.read("metrics.json"))["acc"] == 0.75


def test_exp_run_includes_uncommitted_changes_and_new_lock_entries(small):
    small.write("train.py", TRAIN.replace('"loss": 1.0', '"loss": 2.0'))  # uncommitted code change
    small.cli_ok("exp", "run", "-n", "code")
    sha = exp_refs(small)["code"]
    assert json.loads(small.git("show", f"{sha}:metrics.json"))["loss"] == 2.0
    assert "train.py" in small.git("diff", "--name-only", "HEAD", sha)


def test_set_of_an_unknown_key_is_an_error_and_plus_adds_it(small):
    result = small.cli_fails("exp", "run", "-S", "lrr=1")
    assert (
        "error: -S lrr=1: params.yaml has no 'lrr' (did you mean 'lr'? to add a new key, write -S +lrr=...)"
        in result.stderr
    )
    assert small.read("params.yaml") == PARAMS and exp_refs(small) == {}
    small.cli_ok("exp", "run", "-S", "+extra.depth=3", "-n", "added")
    assert small.read("params.yaml") == PARAMS + "extra:\n  depth: 3\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (["-S", "lr"], "-S lr: expected KEY=VALUE"),
        (["-S", "lr=[1,"], "-S lr=[1,: the value '[1,' is not valid YAML"),
        (["-S", "lr=1,,2"], "-S lr=1,,2: an empty value in the list"),
        (["-S", "lr=1", "-S", "lr=2"], "-S lr=2: 'lr' is already set by -S lr=1"),
        (["-S", "p.toml:lr=1"], "-S p.toml:lr=1: 'p.toml' cannot be edited"),
        (["-n", "bad name"], "'bad name' cannot name an experiment"),
    ],
)
def test_bad_experiment_arguments_are_clear_errors(small, args, message):
    result = small.cli_fails("exp", "run", *args)
    assert message in result.stderr
    assert small.read("params.yaml") == PARAMS and exp_refs(small) == {}


def test_an_experiment_name_is_never_reused(small):
    small.cli_ok("exp", "run", "-S", "lr=0.2", "-n", "same")
    result = small.cli_fails("exp", "run", "-S", "lr=0.3", "-n", "same")
    assert "an experiment named 'same' already exists on this commit" in result.stderr
    assert small.read("params.yaml").startswith("# training knobs\nlr: 0.2 ")


def test_exp_run_needs_a_commit(project):
    project.write("pipeline.yaml", "stages:\n  a:\n    cmd: echo hi\n")
    result = project.cli_fails("exp", "run")
    assert "experiments start from a commit, and this repository has none yet" in result.stderr


def test_a_failing_experiment_saves_nothing_and_keeps_the_lock_sound(small):
    lock = small.read("pipeline.lock")
    result = small.cli_fails("exp", "run", "-S", "model=bad")
    assert "1 stage(s) failed: train; no experiment was saved" in result.stderr
    assert exp_refs(small) == {}
    assert small.read("pipeline.lock") == lock
    assert "model: bad" in small.read("params.yaml")


def test_a_failing_experiment_in_a_grid_is_reported_and_the_others_finish(small, tmp_path):
    log = tmp_path / "prepare.log"
    small.write("prepare.py", PREPARE.replace('"data\\n"', '"new data\\n"'))  # uncommitted: prepare reruns
    status = small.git("status", "--porcelain")
    result = small.cli_fails(
        "exp", "run", "-S", "model=a,bad,c", "-n", "m", "-j", "2", env={"PREPARE_LOG": str(log), "PREPARE_SLEEP": "1"}
    )
    assert "Failed: 'm-2' (model=bad): exit code 1; its output is in .pipetool/exps/logs/m-2.log" in result.stdout
    assert "error: 1 of 3 experiment(s) failed" in result.stderr
    assert sorted(exp_refs(small)) == ["m-1", "m-3"]
    assert "unknown model: bad" in small.read(".pipetool/exps/logs/m-2.log")
    assert log.read_text() == "prepare\n"  # the shared stage ran once for all three
    assert small.git("status", "--porcelain") == status
    sha = exp_refs(small)["m-3"]
    assert small.git("show", f"{sha}:params.yaml").endswith("model: c\n")
    assert "prepare.py" in small.git("diff", "--name-only", "HEAD", sha)  # the uncommitted change ran


def test_a_failing_shared_stage_fails_every_experiment_of_the_grid_once(small):
    small.write("prepare.py", PREPARE + "# changed\n")
    result = small.cli_fails("exp", "run", "-S", "lr=0.2,0.3", "-j", "2", env={"PREPARE_FAIL": "1"})
    assert result.stdout.count("Stage 'prepare' failed") == 1
    assert result.stdout.count("shared stage(s) failed before it started: prepare") == 4  # said, then summed up
    assert "error: 2 of 2 experiment(s) failed" in result.stderr
    assert exp_refs(small) == {} and len(small.git("worktree", "list").splitlines()) == 1


def test_queue_runs_later_what_the_workspace_held_when_queued(small, tmp_path):
    small.write("train.py", TRAIN.replace('"loss": 1.0', '"loss": 3.0'))
    small.cli_ok("exp", "run", "--queue", "-S", "lr=0.2,0.3", "-n", "q")
    small.git("checkout", "--", "train.py")  # the workspace moves on; the queue keeps its snapshot
    assert exp_refs(small) == {}
    listed = small.cli_ok("exp", "queue", "list").stdout
    assert "q-1" in listed and "lr=0.2" in listed and "q-2" in listed and "lr=0.3" in listed
    meet = tmp_path / "meet"
    meet.mkdir()
    small.cli_ok("exp", "queue", "start", "-j", "2", env={"TRAIN_MEET": str(meet)})  # both at once
    assert len(os.listdir(meet)) == 2
    refs = exp_refs(small)
    assert sorted(refs) == ["q-1", "q-2"]
    assert json.loads(small.git("show", f"{refs['q-2']}:metrics.json")) == {"acc": 0.8, "loss": 3.0}
    assert "Nothing is queued." in small.cli_ok("exp", "queue", "list").stdout
    assert small.git("for-each-ref", "refs/pipetool-queue/") == ""


def test_queue_remove(small):
    small.cli_ok("exp", "run", "--queue", "-S", "lr=0.2,0.3", "-n", "q")
    small.cli_ok("exp", "queue", "remove", "q-1")
    assert "q-1" not in small.cli_ok("exp", "queue", "list").stdout
    assert "nothing queued as 'zz'" in small.cli_fails("exp", "queue", "remove", "zz").stderr
    small.cli_ok("exp", "queue", "remove", "--all")
    assert "Nothing is queued." in small.cli_ok("exp", "queue", "start").stdout


@pytest.fixture(scope="module")
def three_built(small_built, tmp_path_factory) -> Project:
    folder = tmp_path_factory.mktemp("exp-three")
    project = private_copy(small_built, folder / "repo")
    (folder / "meet").mkdir()  # the first two run at once: each waits for the other's start
    project.cli_ok(
        "exp", "run", "-S", "lr=0.2,0.4,0.3", "-n", "lr", "-j", "2", env={"TRAIN_MEET": str(folder / "meet")}
    )
    assert len(os.listdir(folder / "meet")) == 3
    return project


@pytest.fixture
def three(three_built, tmp_path) -> Project:
    """Three experiments on the small pipeline: lr 0.2, 0.4 and 0.3 (in that order)."""
    return private_copy(three_built, tmp_path / "three")


def test_exp_show_table_formats_and_sorting(three):
    csv = three.cli_ok("exp", "show", "--csv", "--sort-by", "acc", "--desc").stdout.splitlines()
    assert csv[0] == "Experiment,Rev,Baseline,acc,lr"  # loss and model are the same everywhere
    assert [line.split(",")[0] for line in csv[1:]] == ["main", "lr-2", "lr-3", "lr-1"]
    assert [line.split(",")[-2:] for line in csv[1:]] == [
        ["0.6", "0.1"],
        ["0.9", "0.4"],
        ["0.8", "0.3"],
        ["0.7", "0.2"],
    ]
    assert "loss" in three.cli_ok("exp", "show", "--csv", "--all-columns").stdout.splitlines()[0]
    md = three.cli_ok("exp", "show", "--md", "--sort-by", "lr").stdout
    assert md.splitlines()[0].startswith("| Experiment") and "└── lr-2" in md
    result = three.cli_fails("exp", "show", "--sort-by", "acc2")
    assert "--sort-by acc2: no such metric or param in the table (did you mean 'acc'?)" in result.stderr


def test_exp_diff_compares_params_and_metrics_of_two_experiments(three):
    result = json.loads(three.cli_ok("exp", "diff", "lr-1", "lr-2", "--json").stdout)
    assert result["params"] == {"params.yaml": {"lr": {"old": 0.2, "new": 0.4, "diff": pytest.approx(0.2)}}}
    assert result["metrics"]["metrics.json"]["acc"] == {"old": 0.7, "new": 0.9, "diff": pytest.approx(0.2)}
    text = three.cli_ok("exp", "diff", "HEAD", "lr-3").stdout
    assert "lr-3" in text and "0.8" in text


def test_exp_list_remove_and_unknown_names(three):
    # oldest first: lr-3 may finish before lr-2, which started with lr-1
    assert sorted(three.cli_ok("exp", "list", "--names-only").stdout.split()) == ["lr-1", "lr-2", "lr-3"]
    assert three.cli_ok("exp", "list").stdout.startswith("main (")
    three.cli_ok("exp", "remove", "lr-1")
    assert sorted(exp_refs(three)) == ["lr-2", "lr-3"]
    result = three.cli_fails("exp", "apply", "lr-9")
    assert "no experiment named 'lr-9'" in result.stderr
    three.cli_ok("exp", "remove", "--all")
    assert exp_refs(three) == {}
    assert "No experiments of HEAD" in three.cli_ok("exp", "list").stdout


def test_experiments_are_shared_by_pushing_their_refs(three, tmp_path):
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    three.git("remote", "add", "origin", str(remote))
    three.git("push", "-q", "origin", "main", "refs/exps/*:refs/exps/*")
    listed = three.cli_ok("exp", "list", "--remote", "origin").stdout
    assert listed.splitlines()[1:] == ["    lr-1", "    lr-2", "    lr-3"]
    assert "could not list the experiments of 'nowhere'" in three.cli_fails("exp", "list", "--remote", "nowhere").stderr


def test_exp_apply_keeps_overwritten_changes_in_the_stash(three):
    three.write("params.yaml", PARAMS.replace("model: linear", "model: tree"))
    result = three.cli_ok("exp", "apply", "lr-2")
    assert "git stash" in result.stdout
    assert "model: linear" in three.read("params.yaml") and "lr: 0.4" in three.read("params.yaml")
    assert "Data and pipelines are up to date." in three.cli_ok("status").stdout
    assert "model: tree" in three.git("stash", "show", "-p")


def test_an_interrupted_queue_run_stops_its_experiments_and_keeps_the_rest_queued(small):
    import signal

    small.cli_ok("exp", "run", "--queue", "-S", "lr=0.2,0.3,0.4", "-n", "slow")
    lock, status = small.read("pipeline.lock"), small.git("status", "--porcelain")
    process = subprocess.Popen(
        [sys.executable, "-m", "pipetool", "exp", "queue", "start", "-j", "2"],
        cwd=small.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "TRAIN_SLEEP": "60"},
    )
    running = set()
    for line in process.stdout:  # wait until both experiments are inside their train stage
        if line.startswith("[slow-") and "Running stage 'train'" in line:
            running.add(line.split("]")[0])
        if len(running) == 2:
            break
    process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 130, output
    assert "interrupted: 3 experiment(s) did not finish" in output
    assert exp_refs(small) == {}, output
    assert len(small.git("worktree", "list").splitlines()) == 1
    assert small.read("pipeline.lock") == lock and small.git("status", "--porcelain") == status
    listed = small.cli_ok("exp", "queue", "list").stdout
    assert all(f"slow-{n}" in listed for n in (1, 2, 3))


# `exp queue start` with a Ctrl-C right after the grid takes an ended experiment off its queue
INTERRUPTED_AFTER_AN_END = """
import os, queue, signal, sys
from pipetool.cli import main
from pipetool.experiments import grid

class Interrupting(queue.SimpleQueue):
    def get(self, *args, **kwargs):
        name = super().get(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
        return name

made = grid._Grid.__init__
def interrupting(self, *args, **kwargs):
    made(self, *args, **kwargs)
    self.ended = Interrupting()
grid._Grid.__init__ = interrupting
sys.exit(main(["exp", "queue", "start", "-j", "1"]))
"""


@pytest.mark.parametrize("queued", [2, 1])
def test_a_ctrl_c_as_an_experiment_ends_keeps_it_saved_and_off_the_queue(small, queued):
    """Before, the Ctrl-C between taking an ended experiment and recording it reported it as not
    finished though its commit was saved: the queue kept it, to run again under a taken name.
    When it was the last one, nothing is left to interrupt: the run succeeded."""
    lrs = ["0.2", "0.3"][:queued]
    small.cli_ok("exp", "run", "--queue", "-S", "lr=" + ",".join(lrs), "-n", "q")
    first = "q-1" if queued > 1 else "q"
    result = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_AFTER_AN_END], cwd=small.path, capture_output=True, text=True, timeout=120
    )
    output = result.stdout + result.stderr
    assert f"Experiment '{first}' saved" in output
    assert sorted(exp_refs(small)) == [first]
    listed = small.cli_ok("exp", "queue", "list").stdout
    assert first not in listed.split(), listed
    if queued > 1:
        assert result.returncode == 130, output
        assert "interrupted: 1 experiment(s) did not finish" in output
        assert "q-2" in listed, listed
    else:
        assert result.returncode == 0 and "interrupted" not in output, output
    assert len(small.git("worktree", "list").splitlines()) == 1


def test_gc_keeps_the_outs_of_experiments_only_with_all_experiments(small):
    small.cli_ok("exp", "run", "-S", "lr=0.3", "-n", "a")
    small.git("checkout", "--", ".")
    small.cli_ok("checkout")  # back to HEAD's results: the experiment's model is only in the cache now
    small.cli_ok("gc", "--all-experiments")
    small.cli_ok("exp", "apply", "a")
    assert small.read("model.txt") == "linear 0.3\n"
    small.git("checkout", "--", ".")
    small.cli_ok("checkout")
    small.cli_ok("gc")
    result = small.cli_fails("exp", "apply", "a")
    assert "not checked out: model.txt" in result.stdout


def test_exp_show_and_list_all_cover_every_baseline(small):
    small.cli_ok("exp", "run", "-S", "lr=0.2", "-n", "old")
    small.git("commit", "-q", "-am", "lr 0.2")
    small.cli_ok("exp", "run", "-S", "lr=0.3", "-n", "new")
    assert [r["name"] for r in show_json(small)] == ["main", "new"]
    rows = show_json(small, "--all")
    assert [(r["name"], r["experiment"]) for r in rows] == [
        ("main", False),
        ("new", True),
        (rows[2]["baseline"][:7], False),
        ("old", True),
    ]
    assert rows[3]["baseline"] == small.git("rev-parse", "HEAD~1").strip()
    assert sorted(small.cli_ok("exp", "list", "--all", "--names-only").stdout.split()) == ["new", "old"]
    listed = small.cli_ok("exp", "list", "--all").stdout.splitlines()
    assert [listed[0].split()[0], listed[1], listed[3]] == ["main", "    new", "    old"]  # HEAD's first
