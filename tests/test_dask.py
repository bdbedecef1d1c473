"""`repro --executor dask` on a real Dask cluster: a LocalCluster of two worker processes on
loopback for the module, and `dask scheduler` / `dask worker` processes where a test needs to add
a worker or lose the scheduler. The stages run on the workers; pipetool (the client) decides,
hashes and records.

Synchronisation is on marker files the stages write, with bounded polling, never fixed sleeps.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import CLI_ENV, PYTHON_ENV, REPO_ROOT, Project, copy_project, ran_stages

distributed = pytest.importorskip("distributed")

BOUND = 60.0  # generous bound for anything to happen on a slow machine
DASK_BIN = os.path.join(os.path.dirname(sys.executable), "dask")
# Stage commands on the workers run the test interpreter's python.
WORKER_ENV = {"PATH": PYTHON_ENV["PATH"]}


@dataclass
class Cluster:
    address: str
    client: distributed.Client

    def workers(self) -> dict[str, dict]:
        return self.client.scheduler_info(n_workers=-1)["workers"]

    def wait_for_workers(self, count: int) -> None:
        self.client.wait_for_workers(count, timeout=BOUND)


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes on 127.0.0.1, shared by the module's tests."""
    local = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        env=WORKER_ENV,
        silence_logs=logging.CRITICAL,
    )
    client = distributed.Client(local, set_as_default=False)
    try:
        yield Cluster(local.scheduler_address, client)
    finally:
        client.close()
        local.close()


@pytest.fixture
def whole_cluster(cluster):
    """The cluster, back to its two workers after a test that killed one."""
    yield cluster
    cluster.wait_for_workers(2)


def on_dask(cluster: Cluster, *args: str) -> tuple[str, ...]:
    return ("repro", "--executor", "dask", "--scheduler", cluster.address, *args)


def wait_for(predicate, what: str, timeout: float = BOUND) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


class Background:
    """A pipetool (or dask) command running in the background, its output in files."""

    def __init__(self, args: list[str], cwd: Path, env: dict, folder: Path, name: str) -> None:
        self.out = folder / f"{name}.stdout"
        self.err = folder / f"{name}.stderr"
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)

    @classmethod
    def pipetool(cls, project: Project, *args: str, folder: Path) -> Background:
        return cls(
            [sys.executable, "-m", "pipetool", *args], project.path, {**CLI_ENV, **PYTHON_ENV}, folder, "pipetool"
        )

    def stdout(self) -> str:
        return self.out.read_text()

    def stderr(self) -> str:
        return self.err.read_text()

    def finish(self, timeout: float = BOUND) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=BOUND)


def dask_process(tmp_path: Path, name: str, *args: str, prefix: tuple[str, ...] = ()) -> Background:
    env = {**os.environ, **WORKER_ENV}
    return Background([*prefix, DASK_BIN, *args], tmp_path, env, tmp_path, name)


# --- the example, and one contract for both executors ----------------------------------------


def test_example_pipeline_gives_the_same_lock_as_the_local_executor(cluster, tmp_path):
    # With the committed lock beside it (as in test_example): the outs are missing, so every stage
    # runs, and a run whose results are the same keeps each entry, duration included, byte for byte.
    project = copy_project(REPO_ROOT, tmp_path / "example", ["pipeline.yaml", "params.yaml", "pipeline.lock", "stages"])
    result = project.cli_ok(*on_dask(cluster), env=PYTHON_ENV)
    assert sorted(ran_stages(result.stdout)) == ["baseline", "evaluate", "generate", "preprocess", "train"]
    assert ran_stages(result.stdout)[-1] == "evaluate"
    # The committed lock is what the local executor writes (test_example checks that).
    assert project.read("pipeline.lock") == (REPO_ROOT / "pipeline.lock").read_text()
    assert "Data and pipelines are up to date." in project.cli_ok(*on_dask(cluster), env=PYTHON_ENV).stdout


CONTRACT_PIPELINE = """
stages:
  listed:
    wdir: sub
    cmd:
      - echo one > one.txt
      - echo two >> one.txt && echo said two
    outs: [one.txt]
  broken:
    cmd: echo oops; exit 3
    outs: [never.txt]
  after:
    cmd: cat sub/one.txt > after.txt
    deps: [sub/one.txt]
    outs: [after.txt]
"""


def test_both_executors_run_a_pipeline_alike(cluster, tmp_path):
    """wdir, a list of commands, their output, a failing stage with -k: same lock, same messages."""
    results = {}
    for executor, args in (("local", ("repro", "-k")), ("dask", on_dask(cluster, "-k"))):
        project = Project(tmp_path / executor)
        project.path.mkdir()
        project.write("pipeline.yaml", CONTRACT_PIPELINE)
        (project.path / "sub").mkdir()
        results[executor] = (project, project.cli_fails(*args))
    (local, local_run), (dask, dask_run) = results["local"], results["dask"]
    # The same lock but for how long each run took (durations are the lock's one timing).
    untimed = {
        executor: {
            name: {k: v for k, v in entry.items() if k != "duration"}
            for name, entry in project.lock()["stages"].items()
        }
        for executor, project in (("local", local), ("dask", dask))
    }
    assert untimed["local"] == untimed["dask"]
    assert all("duration" in entry for entry in dask.lock()["stages"].values())
    assert sorted(local.lock()["stages"]) == ["after", "listed"]
    for run in (local_run, dask_run):
        assert "Stage 'broken' failed: 'echo oops; exit 3' exited with code 3" in run.stdout
        assert "  | oops" in run.stdout
        assert "said two" in run.stdout
        assert "error: 1 stage(s) failed: broken" in run.stderr
    assert "on worker tcp://127.0.0.1:" in dask_run.stdout


# --- placement and resources -----------------------------------------------------------------


def meeting_stage(name: str, other: str) -> str:
    """A stage that records its worker, then waits (bounded) until the other stage has started."""
    return f"""
  {name}:
    cmd: >-
      echo $PIPETOOL_WORKER > {name}.txt; touch {name}.started;
      for i in $(seq 600); do [ -e {other}.started ] && echo met >> {name}.txt && break; sleep 0.05; done
    outs: [{name}.txt]
"""


def test_independent_stages_run_on_different_workers_at_once(cluster, project):
    project.write("pipeline.yaml", "stages:" + meeting_stage("left", "right") + meeting_stage("right", "left"))
    project.cli_ok(*on_dask(cluster))
    left, right = project.read("left.txt").split(), project.read("right.txt").split()
    assert left[1:] == ["met"] and right[1:] == ["met"]  # each saw the other start: they ran at once
    assert left[0] != right[0]
    assert {left[0], right[0]} <= set(cluster.workers())


def test_stage_with_resources_waits_for_a_worker_that_has_them(cluster, project, tmp_path):
    project.write(
        "pipeline.yaml",
        """
        stages:
          gpu:
            cmd: echo $PIPETOOL_WORKER > gpu.txt
            outs: [gpu.txt]
            resources: {gpus: 1, memory: 1KiB}
    """,
    )
    run = Background.pipetool(project, *on_dask(cluster), folder=tmp_path)
    worker = None
    try:
        wait_for(lambda: "which no worker of the cluster has now" in run.stdout(), "the resources warning")
        assert 'it waits for a worker started with --resources "MEMORY=1024 GPU=1"' in run.stdout()
        assert not project.exists("gpu.txt")
        worker = dask_process(
            tmp_path,
            "gpu-worker",
            "worker",
            cluster.address,
            "--nthreads",
            "1",
            "--no-dashboard",
            "--resources",
            "GPU=1 MEMORY=2048",
        )
        assert run.finish() == 0, run.stdout() + run.stderr()
        ran_on = project.read("gpu.txt").strip()
        assert cluster.workers()[ran_on]["resources"] == {"GPU": 1, "MEMORY": 2048}
    finally:
        run.stop()
        if worker is not None:
            worker.proc.send_signal(signal.SIGTERM)
            worker.finish()
    cluster.wait_for_workers(2)


def test_local_cluster_starts_when_no_scheduler_is_given(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          plain:
            cmd: echo $PIPETOOL_WORKER > plain.txt
            outs: [plain.txt]
          needs_gpu:
            cmd: echo never > gpu.txt
            outs: [gpu.txt]
            resources: {gpus: 1}
    """,
    )
    result = project.cli_fails("repro", "--executor", "dask", "-j", "2", "-k", env=PYTHON_ENV)
    assert project.read("plain.txt").startswith("tcp://127.0.0.1:")
    assert "Stage 'needs_gpu' failed: it asks for GPU=1, which no worker of the local Dask cluster has" in result.stdout
    assert list(project.lock()["stages"]) == ["plain"]


# --- faults ----------------------------------------------------------------------------------


FAULT_PIPELINE = """
stages:
  first:
    cmd: echo first > first.txt
    outs: [first.txt]
  victim:
    cmd: {cmd}
    deps: [first.txt]
    outs: [victim.txt]
"""


def test_stage_that_kills_its_worker_fails_clearly_and_the_lock_is_intact(whole_cluster, project):
    project.write("pipeline.yaml", FAULT_PIPELINE.format(cmd="echo fine > victim.txt"))
    project.cli_ok(*on_dask(whole_cluster))
    before = project.read("pipeline.lock")
    project.write("pipeline.yaml", FAULT_PIPELINE.format(cmd="kill -9 $PPID; echo never > victim.txt"))
    result = project.cli_fails(*on_dask(whole_cluster))
    assert "Stage 'victim' failed: the Dask worker running it died (tcp://127.0.0.1:" in result.stdout
    assert "use --retries N to run it again on another worker" in result.stdout
    assert "error: 1 stage(s) failed: victim" in result.stderr
    assert project.read("pipeline.lock") == before
    assert "victim:\n    changed cmd" in project.cli_ok("status").stdout


def test_retries_run_the_stage_again_after_its_worker_died(whole_cluster, project):
    kill_once = "if [ ! -e tried ]; then touch tried; kill -9 $PPID; fi; echo $PIPETOOL_WORKER > victim.txt"
    project.write("pipeline.yaml", FAULT_PIPELINE.format(cmd=kill_once))
    result = project.cli_ok(*on_dask(whole_cluster, "--retries", "1"))
    assert "Stage 'victim' done" in result.stdout
    assert sorted(project.lock()["stages"]) == ["first", "victim"]


SLOW_PIPELINE = """
stages:
  first:
    cmd: echo first > first.txt
    outs: [first.txt]
  slow:
    cmd: echo $$ > slow.pid; exec sleep 300
    deps: [first.txt]
    outs: [slow.txt]
"""


def test_ctrl_c_stops_the_stages_running_on_the_cluster(cluster, project, tmp_path):
    project.write("pipeline.yaml", SLOW_PIPELINE)
    run = Background.pipetool(project, *on_dask(cluster), folder=tmp_path)
    try:
        wait_for(lambda: project.exists("slow.pid") and project.read("slow.pid").strip(), "the slow stage")
        pid = int(project.read("slow.pid"))
        run.proc.send_signal(signal.SIGINT)
        assert run.finish() == 130, run.stdout() + run.stderr()
    finally:
        run.stop()
    assert "interrupted: stopped 'slow'; 1 finished stage(s) are recorded in pipeline.lock" in run.stderr()
    wait_for(lambda: not alive(pid), "the slow stage's process to end")
    assert list(project.lock()["stages"]) == ["first"]
    assert "Traceback" not in run.stderr()


def test_lost_scheduler_ends_the_run_and_keeps_finished_stages(project, tmp_path):
    scheduler_file = tmp_path / "scheduler.json"
    scheduler = dask_process(
        tmp_path,
        "scheduler",
        "scheduler",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--no-dashboard",
        "--scheduler-file",
        str(scheduler_file),
    )
    worker = None
    try:
        wait_for(scheduler_file.exists, "the scheduler")
        address = json.loads(scheduler_file.read_text())["address"]
        worker = dask_process(tmp_path, "worker", "worker", address, "--nthreads", "1", "--no-dashboard")
        project.write("pipeline.yaml", SLOW_PIPELINE)
        run = Background.pipetool(project, "repro", "--scheduler", address, folder=tmp_path)
        try:
            wait_for(lambda: project.exists("slow.pid") and project.read("slow.pid").strip(), "the slow stage")
            pid = int(project.read("slow.pid"))
            scheduler.proc.kill()
            assert run.finish() == 1, run.stdout() + run.stderr()
        finally:
            run.stop()
        assert (
            f"error: lost the connection to the Dask scheduler at {address}; stopped 'slow'; "
            "1 finished stage(s) are recorded in pipeline.lock"
        ) in run.stderr()
        assert "Traceback" not in run.stderr()
        assert list(project.lock()["stages"]) == ["first"]
        wait_for(lambda: not alive(pid), "the slow stage's process to end")  # told through the shared folder
    finally:
        for process in (worker, scheduler):
            if process is not None:
                process.stop()


def test_worker_that_cannot_see_the_repository_is_a_clear_error(cluster, project, tmp_path):
    """A worker in its own mount namespace, with an empty file system mounted over the folder
    that holds the repository: what a machine without the shared file system sees."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"]).returncode != 0:
        pytest.skip("needs unshare -m (root) to start a worker that cannot see the repository")
    project.write("pipeline.yaml", FAULT_PIPELINE.format(cmd="echo one > victim.txt"))
    project.cli_ok("repro")
    before = project.read("pipeline.lock")
    project.write("pipeline.yaml", FAULT_PIPELINE.format(cmd="echo two > victim.txt"))
    hide = f'mount -t tmpfs none {project.path.parent} && exec "$@"'
    blind = dask_process(
        tmp_path,
        "blind-worker",
        "worker",
        cluster.address,
        "--nthreads",
        "1",
        "--no-dashboard",
        "--name",
        "blind",
        prefix=("unshare", "-m", "sh", "-c", hide, "sh"),
    )
    try:
        cluster.wait_for_workers(3)
        address = next(address for address, worker in cluster.workers().items() if worker["name"] == "blind")
        result = project.cli_fails(*on_dask(cluster))
    finally:
        blind.proc.send_signal(signal.SIGTERM)
        blind.finish()
    assert f"error: worker {address} cannot see the repository: there is no folder {project.path}" in result.stderr
    assert "shared file system, at the same path on every worker" in result.stderr
    assert project.read("pipeline.lock") == before
    assert project.read("victim.txt") == "one\n"  # nothing was cleared before the check


def test_unreachable_scheduler_is_a_clear_error(project):
    project.write("pipeline.yaml", FAULT_PIPELINE.format(cmd="echo one > victim.txt"))
    project.cli_ok("repro")
    before = project.read("pipeline.lock")
    (project.path / "first.txt").write_text("changed\n")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"}
    # A process of its own: Dask reads its settings from the environment when first imported, and in
    # this process that was long ago (here the 30 s default would apply rather than 1 s).
    result = project.fails("repro", "-f", "--scheduler", f"tcp://127.0.0.1:{port}", env=env)
    assert f"error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in result.stderr
    assert "'dask scheduler'" in result.stderr
    assert project.read("pipeline.lock") == before
    assert project.read("first.txt") == "changed\n"


# --- choosing the executor -------------------------------------------------------------------


def test_settings_choose_the_executor_and_the_command_line_wins(cluster, project):
    project.write("pipeline.yaml", FAULT_PIPELINE.format(cmd="echo $PIPETOOL_WORKER > victim.txt"))
    project.cli_ok("config", "executor.type", "dask")
    project.cli_ok("config", "executor.scheduler", cluster.address)
    assert project.cli_ok("config", "executor.scheduler").stdout.strip() == cluster.address
    result = project.cli_ok("repro")
    assert "on worker tcp://127.0.0.1:" in result.stdout
    assert project.read("victim.txt").strip() in cluster.workers()
    local = project.cli_ok("repro", "-f", "--executor", "local")
    assert "on worker" not in local.stdout
    assert project.read("victim.txt") == "\n"
    bad = project.cli_fails("config", "executor.type", "cluster")
    assert "one of: local, dask" in bad.stderr


def test_scheduler_and_retries_need_the_dask_executor(project):
    project.write("pipeline.yaml", FAULT_PIPELINE.format(cmd="echo one > victim.txt"))
    result = project.cli_fails("repro", "--executor", "local", "--retries", "2", code=2)
    assert "error: --retries needs --executor dask" in result.stderr
    assert not project.exists("first.txt")


def test_without_distributed_the_dask_executor_says_how_to_install_it(project):
    """Dask's distributed made unimportable for this one pipetool, as where it is not installed."""
    project.write("pipeline.yaml", FAULT_PIPELINE.format(cmd="echo one > victim.txt"))
    blocked = (
        "import sys; sys.modules['distributed'] = None; from pipetool.cli import main; "
        "sys.exit(main(['repro', '--executor', 'dask']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", blocked], cwd=project.path, env=CLI_ENV, capture_output=True, text=True, timeout=BOUND
    )
    assert result.returncode == 1
    assert "error: --executor dask needs Dask's distributed scheduler, which is not installed" in result.stderr
    assert "pip install 'pipetool[dask]'" in result.stderr
    assert "Traceback" not in result.stderr


# --- experiments on the cluster ----------------------------------------------------------------


def test_a_grid_of_experiments_runs_its_stages_on_the_cluster(cluster, tmp_path):
    """exp run --executor dask: each experiment's stages are tasks on the cluster (its worktree is
    inside the project, where every worker sees it), and each experiment is saved as usual."""
    project = Project(tmp_path / "exps")
    project.path.mkdir()
    project.write("params.yaml", "lr: 0.1\n")
    project.write(
        "pipeline.yaml",
        r"""
        stages:
          train:
            cmd: >-
              echo "worker $PIPETOOL_WORKER" > result.txt && echo "{\"lr\": ${lr}, \"in\": \"$PWD\"}" > score.json
            outs: [result.txt]
            metrics: [{score.json: {cache: false}}]
    """,
    )
    project.git("init", "-q", "-b", "main")
    project.git("config", "user.email", "test@example.com")
    project.git("config", "user.name", "Test")
    project.cli_ok("status")  # makes .pipetool/ and its .gitignore, committed with the rest
    project.git("add", "-A")
    project.git("commit", "-q", "-m", "pipeline")
    result = project.cli_ok(
        "exp", "run", "-S", "lr=0.2,0.3", "-j", "2", "-n", "lr", "--executor", "dask", "--scheduler", cluster.address
    )
    assert "2 experiment(s) saved" in result.stdout, result.stdout
    baseline = project.git("rev-parse", "HEAD").strip()
    for name, lr in (("lr-1", 0.2), ("lr-2", 0.3)):
        score = json.loads(project.git("show", f"refs/exps/{baseline}/{name}:score.json"))
        assert score["lr"] == lr
        assert score["in"].startswith(str(project.path / ".pipetool" / "tmp" / "pipetool-exp-"))
    assert result.stdout.count("on worker tcp://127.0.0.1:") == 2, result.stdout
    assert project.git("status", "--porcelain").strip() == ""
    assert not list((project.path / ".pipetool" / "tmp").glob("pipetool-exp-*"))  # worktrees removed
