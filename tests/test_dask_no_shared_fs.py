"""`repro --executor dask` on workers that cannot see the repository: deps and outs move through
the project's remote by hash.

One LocalCluster of two worker processes for the module. Each worker process starts in a mount
namespace of its own with an empty file system mounted over the folder that holds every project
of this module (its Python is started through `unshare`), so a path into a project does not
exist there, and each worker works in its own scratch folder. The remotes (a local folder, and
moto's S3 server) are outside that folder, as object storage is outside a cluster's machines.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.spawn
import os
import pickle
import shlex
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import CLI_ENV, PYTHON_ENV, Project

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")
from distributed.diagnostics.plugin import WorkerPlugin  # noqa: E402
from test_dask import alive, wait_for  # noqa: E402
from test_remote_s3 import BUCKET, OFFLINE, keys, s3_endpoint  # noqa: E402, F401 - the module's moto server

from pipetool.executor import remote_worker  # noqa: E402

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this module

BOUND = 60.0
FAKE_SECRET = "fake-secret-0123456789abcdef"
# Stage commands run the test interpreter's python; S3 credentials come from the workers' own
# environment (moto takes any), never from the task.
WORKER_ENV = {
    "PATH": PYTHON_ENV["PATH"],
    **OFFLINE,
    "AWS_ACCESS_KEY_ID": "worker-key",
    "AWS_SECRET_ACCESS_KEY": "worker-secret",
}


class WorkInScratch(WorkerPlugin):
    """Each worker (one restarted after a kill too) works in its own local directory."""

    name = "work-in-scratch"

    def setup(self, worker) -> None:
        os.chdir(worker.local_directory)


@dataclass
class Cluster:
    address: str
    client: distributed.Client
    hidden: Path  # what the workers cannot see: every project of the module is in here
    outside: Path  # what they can: remotes, handshake files

    def wait_for_workers(self, count: int = 2) -> None:
        self.client.wait_for_workers(count, timeout=BOUND)

    def downloads(self) -> dict[str, dict[str, int]]:
        return self.client.run(remote_worker.cache_stats)


def _unshare_works() -> bool:
    return (
        shutil.which("unshare") is not None
        and subprocess.run(["unshare", "--user", "--map-current-user", "--mount", "true"]).returncode == 0
    )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if not _unshare_works():
        pytest.skip("needs unshare (user and mount namespaces) to start workers that cannot see the projects")
    hidden = tmp_path_factory.mktemp("projects")
    outside = tmp_path_factory.mktemp("outside")
    scratch = tmp_path_factory.mktemp("workers")
    # The workers' Python: in a new mount namespace, over `hidden` an empty tmpfs, then Python.
    python = outside / "python-without-the-projects"
    hide = 'mount -t tmpfs tmpfs "$0" && exec "$@"'
    python.write_text(
        "#!/bin/sh\nexec unshare --user --map-current-user --mount -- /bin/sh -c "
        f'{shlex.quote(hide)} {shlex.quote(str(hidden))} {shlex.quote(sys.executable)} "$@"\n'
    )
    python.chmod(0o755)
    before = multiprocessing.spawn.get_executable()
    multiprocessing.set_executable(str(python))  # how the nannies start (and restart) their workers
    local = client = None
    try:
        local = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            local_directory=str(scratch),
            env={**WORKER_ENV, "HANDSHAKES": str(outside)},
            silence_logs=logging.CRITICAL,
        )
        client = distributed.Client(local, set_as_default=False)
        client.register_plugin(WorkInScratch())
        yield Cluster(local.scheduler_address, client, hidden, outside)
    finally:
        if client is not None:
            client.close()
        if local is not None:
            local.close()
        multiprocessing.set_executable(before)


@pytest.fixture
def repo(cluster, request) -> Project:
    """An empty git repository inside the folder the workers cannot see."""
    path = cluster.hidden / request.node.name / "repo"
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True)
    with open(path / ".git" / "config", "a", encoding="utf-8") as config:
        config.write("[user]\n\temail = test@example.com\n\tname = Test\n")
    return Project(path)


def local_remote(cluster: Cluster, project: Project, name: str) -> Path:
    remote = cluster.outside / f"remote-{name}"
    project.cli_ok("remote", "add", "-d", "store", str(remote))
    return remote


def on_dask(cluster: Cluster, *args: str) -> tuple[str, ...]:
    return ("repro", "--executor", "dask", "--scheduler", cluster.address, *args)


PIPELINE = """
stages:
  prepare:
    cmd: python prepare.py
    deps: [prepare.py, data]
    params: [scale]
    outs: [prepared]
  count:
    wdir: sub
    cmd: cat ../prepared/* | wc -l > count.txt
    deps: [../prepared]
    outs: [count.txt]
  report:
    cmd: cat sub/count.txt params.yaml > reports/report.txt
    deps: [sub/count.txt]
    params: [scale]
    outs: [reports/report.txt]
"""

PREPARE = """
import os
scale = int(open("params.yaml").read().split(":")[1])
os.makedirs("prepared", exist_ok=True)
for name in sorted(os.listdir("data")):
    with open(os.path.join("data", name)) as src, open(os.path.join("prepared", name), "w") as dst:
        dst.write(src.read().upper() * scale)
"""


def three_stages(project: Project) -> None:
    project.write("pipeline.yaml", PIPELINE)
    project.write("prepare.py", PREPARE)
    project.write("params.yaml", "scale: 2\n")
    project.write("data/a.txt", "alpha\n")
    project.write("data/b.txt", "beta\n")


def untimed(lock_text: str) -> str:
    """The lock without its durations, the one thing two runs of the same stages differ in."""
    return "".join(line for line in lock_text.splitlines(keepends=True) if not line.startswith("    duration: "))


def stored_temp_files(remote: Path) -> list[str]:
    return [str(p) for p in remote.rglob("*") if ".tmp-" in p.name]


def test_workers_cannot_see_the_projects_and_work_in_their_own_folder(cluster, repo):
    def look(root: str, dask_worker) -> tuple[bool, bool, str, str]:
        return os.path.exists(root), os.path.exists(os.path.dirname(root)), os.getcwd(), dask_worker.local_directory

    for exists, hidden_exists, cwd, local_directory in cluster.client.run(look, str(repo.path)).values():
        assert not exists and not hidden_exists
        assert cwd == local_directory


@pytest.fixture(scope="module")
def local_lock(tmp_path_factory) -> str:
    """pipeline.lock of the three stages run by the local executor."""
    here = Project(tmp_path_factory.mktemp("local") / "repo")
    here.path.mkdir()
    three_stages(here)
    here.cli_ok("repro", env=PYTHON_ENV)
    return here.read("pipeline.lock")


def test_three_stages_run_through_a_local_remote_with_the_lock_of_a_local_run(cluster, repo, local_lock):
    three_stages(repo)
    remote = local_remote(cluster, repo, "three")
    result = repo.cli_ok(*on_dask(cluster, "--no-shared-fs"), env=PYTHON_ENV)
    assert [line.split("'")[1] for line in result.stdout.splitlines() if " done in " in line] == [
        "prepare",
        "count",
        "report",
    ]
    assert "on worker tcp://127.0.0.1:" in result.stdout
    assert repo.read("prepared/a.txt") == "ALPHA\nALPHA\n"
    assert repo.read("sub/count.txt").strip() == "4"
    assert repo.read("reports/report.txt").startswith("4\nscale: 2")
    # The same project run by the local executor, in another folder, writes the same lock.
    assert untimed(repo.read("pipeline.lock")) == untimed(local_lock)
    assert all(isinstance(entry["duration"], float) for entry in repo.lock()["stages"].values())
    assert "Data and pipelines are up to date." in repo.cli_ok("status").stdout
    # The outs are in the cache as a local run leaves them, and on the remote, whole.
    where = repo.cli_ok("status", "--remote", "--exit-code").stdout  # exit 0: every out is on the remote
    for out in ("prepared", "sub/count.txt", "reports/report.txt"):
        assert f"local and remote:  {out}\n" in where
    assert not stored_temp_files(remote)
    assert not (remote / "tmp" / "dask").exists() and not list((remote / "tmp").glob("dask-*"))


def test_without_a_shared_file_system_the_run_goes_through_the_default_remote_or_fails_clearly(cluster, repo):
    repo.write("pipeline.yaml", "stages:\n  one:\n    cmd: echo one > one.txt\n    outs: [one.txt]\n")
    result = repo.cli_fails(*on_dask(cluster))
    assert f"cannot see the repository: there is no folder {repo.path}" in result.stderr
    assert not repo.exists("pipeline.lock")
    local_remote(cluster, repo, "auto")
    result = repo.cli_ok(*on_dask(cluster))
    assert "warning: worker tcp://127.0.0.1:" in result.stdout
    assert f"cannot see the repository (there is no folder {repo.path})" in result.stdout
    assert "running without a shared file system, the stages' files go through remote 'store'" in result.stdout
    assert repo.read("one.txt") == "one\n"


def test_no_download_leaves_the_outs_on_the_remote_until_pull(cluster, repo, local_lock):
    three_stages(repo)
    local_remote(cluster, repo, "nodownload")
    result = repo.cli_ok(*on_dask(cluster, "--no-shared-fs", "--no-download"), env=PYTHON_ENV)
    assert "Summary: 3 ran" in result.stdout
    assert "the outs of 3 stage(s) stay on remote 'store' (--no-download)" in result.stdout
    assert "'pipetool pull' brings them" in result.stdout
    for out in ("prepared", "sub/count.txt", "reports/report.txt"):
        assert not repo.exists(out)
    lock = repo.read("pipeline.lock")
    assert untimed(lock) == untimed(local_lock)  # recorded from the hashes the workers uploaded
    repo.cli_ok("pull")
    assert repo.read("sub/count.txt").strip() == "4"
    assert repo.read("prepared/b.txt") == "BETA\nBETA\n"
    assert repo.read("pipeline.lock") == lock
    assert "Data and pipelines are up to date." in repo.cli_ok("status").stdout


def test_s3_remote_with_the_setting_and_no_secret_in_the_task(cluster, repo, s3_endpoint):  # noqa: F811
    endpoint, client = s3_endpoint
    three_stages(repo)
    repo.cli_ok("remote", "add", "-d", "store", f"s3://{BUCKET}/nosharedfs")
    repo.cli_ok("remote", "modify", "store", "endpointurl", endpoint)
    repo.cli_ok("remote", "modify", "--local", "store", "access_key_id", "client-key")
    repo.cli_ok("remote", "modify", "--local", "store", "secret_access_key", FAKE_SECRET)
    repo.cli_ok("config", "executor.shared_fs", "false")
    # The task of a stage, as the executor builds it: URL and plain settings, hashes, no bytes, no secret.
    payload = pickle.dumps(_task_of(repo, "prepare"))
    assert FAKE_SECRET.encode() not in payload and b"client-key" not in payload
    assert endpoint.encode() in payload
    assert len(payload) < 2048
    result = repo.cli_ok(*on_dask(cluster), env={**PYTHON_ENV, **OFFLINE})
    assert "cannot see the repository" not in result.stdout  # the setting: no check, no warning
    assert "Summary: 3 ran" in result.stdout
    assert repo.read("sub/count.txt").strip() == "4"
    stored = keys(client, "nosharedfs/")
    assert not [key for key in stored if ".tmp-" in key or key.startswith("nosharedfs/tmp/")]
    count = repo.lock()["stages"]["count"]["outs"][0]["xxh3"]
    assert f"nosharedfs/{count[:2]}/{count[2:]}" in stored


def _task_of(project: Project, name: str):
    from pipetool.engine.workspace import open_workspace
    from pipetool.executor import ExecutorChoice, ProjectStore
    from pipetool.executor.remote_client import ViaRemote
    from pipetool.pipeline.project import Project as PipetoolProject

    old = dict(os.environ)
    os.environ.update(OFFLINE)
    ws = open_workspace(PipetoolProject(str(project.path)))
    try:
        store = ProjectStore(ws.project.state_dir, ws.hasher, ws.cache)
        via = ViaRemote(ws.root, store, "payloadtest", ExecutorChoice("dask"))
        return via.task(ws.graph.stages[ws.graph.index[name]])
    finally:
        ws.close()
        os.environ.clear()
        os.environ.update(old)


KILL_TWICE = """
stages:
  first:
    cmd: echo first > first.txt
    outs: [first.txt]
  victim:
    cmd: >-
      kills=$(ls "$HANDSHAKES/killed" | wc -l);
      if [ $kills -lt 2 ]; then touch "$HANDSHAKES/killed/$kills"; kill -9 $PPID; sleep 5; fi;
      cat first.txt > victim.txt
    deps: [first.txt]
    outs: [victim.txt]
"""


def test_a_stage_whose_worker_died_fails_or_is_retried_and_leaves_nothing_partial(cluster, repo):
    """The victim kills its worker on its first two attempts (counted in files outside the workers'
    scratch folders): without --retries the run fails; with --retries 1 its second attempt of
    that run succeeds on the other worker."""
    (cluster.outside / "killed").mkdir()
    repo.write("pipeline.yaml", KILL_TWICE)
    remote = local_remote(cluster, repo, "killed")
    try:
        failed = repo.cli_fails(*on_dask(cluster, "--no-shared-fs"))
        cluster.wait_for_workers(2)
        result = repo.cli_ok(*on_dask(cluster, "--no-shared-fs", "--retries", "1"))
    finally:
        cluster.wait_for_workers(2)
    assert "Stage 'victim' failed: the Dask worker running it died (tcp://127.0.0.1:" in failed.stdout
    assert "use --retries N to run it again on another worker" in failed.stdout
    assert sorted(os.listdir(cluster.outside / "killed")) == ["0", "1"]  # two attempts did kill their worker
    assert "Stage 'victim' done" in result.stdout
    assert repo.read("victim.txt") == "first\n"
    assert not stored_temp_files(remote)
    assert "Data and pipelines are up to date." in repo.cli_ok("status").stdout


def test_an_undeclared_input_fails_on_the_worker_with_a_clear_line(cluster, repo):
    repo.write("notes.txt", "not a dep\n")
    repo.write(
        "pipeline.yaml",
        "stages:\n  sneaky:\n    cmd: cat notes.txt > copy.txt\n    outs: [copy.txt]\n",
    )
    local_remote(cluster, repo, "undeclared")
    result = repo.cli_fails(*on_dask(cluster, "--no-shared-fs"))
    assert "Stage 'sneaky' failed: 'cat notes.txt > copy.txt' exited with code 1; without a shared file system" in (
        result.stdout
    )
    assert "if its cmd reads another file of the project, declare it as a dep" in result.stdout
    assert "notes.txt" in result.stdout  # cat's own complaint, in the output's tail
    assert not repo.exists("pipeline.lock")

    def scratch_folders(dask_worker) -> list[str]:
        return [name for name in os.listdir(dask_worker.local_directory) if name.startswith("pipetool-stage-")]

    assert not any(cluster.client.run(scratch_folders).values())  # removed after the failure too


def test_each_worker_downloads_an_object_once(cluster, repo):
    repo.write("data/big.txt", "x" * 50_000 + "\n")
    repo.write("data/small.txt", "y\n")
    readers = "".join(
        f"  read{i}:\n    cmd: wc -c data/big.txt data/small.txt > read{i}.txt\n"
        f"    deps: [data]\n    outs: [read{i}.txt]\n"
        for i in range(4)
    )
    repo.write("pipeline.yaml", f"stages:\n{readers}")
    local_remote(cluster, repo, "once")
    repo.cli_ok(*on_dask(cluster, "--no-shared-fs"))
    lock = repo.lock()["stages"]
    data = lock["read0"]["deps"][0]["xxh3"]
    assert all(lock[f"read{i}"]["deps"][0]["xxh3"] == data for i in range(4))
    from pipetool.storage.cache import Cache

    cache = Cache(str(repo.path / ".pipetool"))
    inside = [digest for _, digest, _ in cache.manifest(data)]
    stats = cluster.downloads()
    fetched = {digest: sum(counts.get(digest, 0) for counts in stats.values()) for digest in [data, *inside]}
    # Four stages read the folder on two workers: each object came at most once to each worker.
    assert all(1 <= n <= len(stats) for n in fetched.values()), fetched
    assert all(n <= 1 for counts in stats.values() for n in counts.values()), stats
    repo.cli_ok(*on_dask(cluster, "--no-shared-fs", "-f"))
    assert cluster.downloads() == stats  # a second run downloads none of them again


def test_a_wrong_object_on_the_remote_is_refused_by_the_worker(cluster, repo):
    from pipetool.storage.hashing import file_hash

    repo.write("input.txt", "the bytes of the wrong-object test\n")
    repo.write(
        "pipeline.yaml",
        "stages:\n  use:\n    cmd: cat input.txt > used.txt\n    deps: [input.txt]\n    outs: [used.txt]\n",
    )
    remote = local_remote(cluster, repo, "wrong")
    digest = file_hash(str(repo.path / "input.txt"))
    (remote / digest[:2]).mkdir(parents=True)
    (remote / digest[:2] / digest[2:]).write_text("other bytes under its name\n")  # the client takes it as there
    result = repo.cli_fails(*on_dask(cluster, "--no-shared-fs"))
    assert (
        "Stage 'use' failed: could not get the stage's deps from remote 'store': "
        "input.txt (its bytes do not match its hash: refused)"
    ) in result.stdout
    assert not repo.exists("pipeline.lock") and not repo.exists("used.txt")


SLOW = """
stages:
  slow:
    cmd: echo $$ > "$HANDSHAKES/{name}.pid"; exec sleep 300
    outs: [slow.txt]
"""


def test_ctrl_c_stops_the_commands_on_the_workers(cluster, repo):
    repo.write("pipeline.yaml", SLOW.format(name="ctrl-c"))
    local_remote(cluster, repo, "ctrl-c")
    pid_file = cluster.outside / "ctrl-c.pid"
    run = subprocess.Popen(
        [sys.executable, "-m", "pipetool", *on_dask(cluster, "--no-shared-fs")],
        cwd=repo.path,
        env={**CLI_ENV, **PYTHON_ENV},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), "the slow stage")
        pid = int(pid_file.read_text())
        run.send_signal(signal.SIGINT)
        _, stderr = run.communicate(timeout=BOUND)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 130, stderr
    assert "interrupted: stopped 'slow'" in stderr
    wait_for(lambda: not alive(pid), "the slow stage's command to end", timeout=10)
    assert not repo.exists("pipeline.lock")


def test_the_flags_need_the_dask_executor_and_the_setting_is_true_or_false(project):
    project.write("pipeline.yaml", "stages:\n  one:\n    cmd: echo one > one.txt\n    outs: [one.txt]\n")
    assert "error: --no-shared-fs needs --executor dask" in project.cli_fails("repro", "--no-shared-fs", code=2).stderr
    assert "error: --no-download needs --executor dask" in project.cli_fails("repro", "--no-download", code=2).stderr
    project.cli_ok("config", "executor.shared_fs", "maybe")
    failed = project.cli_fails("repro")
    assert "error: 'executor.shared_fs' is 'maybe'" in failed.stderr
    assert "one of: true, false" in failed.stderr
    assert not project.exists("one.txt")


def test_a_persist_out_goes_to_the_worker_with_the_deps(cluster, repo):
    repo.write(
        "pipeline.yaml",
        "stages:\n  log:\n    cmd: echo run >> log.txt\n    outs:\n      - log.txt: {persist: true}\n",
    )
    local_remote(cluster, repo, "persist")
    repo.cli_ok(*on_dask(cluster, "--no-shared-fs"))
    repo.cli_ok(*on_dask(cluster, "--no-shared-fs", "-f"))
    assert repo.read("log.txt") == "run\nrun\n"  # the second run appended to the first one's out
