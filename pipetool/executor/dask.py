"""The Dask executor: each stage that must run becomes a task on a Dask cluster, run on a worker.

This process stays the client: it decides staleness, hashes outs and writes pipeline.lock, as
with the local executor. The contract with the cluster is either a shared file system that holds
the repository at the same path on every worker, or the project's remote: then each task names
its deps by hash, the client first pushes those the remote lacks, the worker runs the stage in a
scratch folder (remote_worker.py) and uploads its outs, and the client fetches them into the cache
and the workspace (or, with --no-download, records them and leaves them on the remote). The
workers need pipetool and whatever the stages' commands need installed. Without a scheduler
address, a local cluster of -j workers is started.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import time
import uuid
from typing import TYPE_CHECKING

from ..errors import ClusterError, PipetoolError
from ..pipeline.project import STATE_DIR
from ..pipeline.stage import Stage
from ..system.interrupts import HELD
from . import ExecutorChoice, OutputSink, ProjectStore, StageRun, Warn
from .command import GRACE_SECONDS
from .dask_worker import (
    CANCEL_FILE,
    POLL_SECONDS,
    TOKEN_FILE,
    StageTask,
    StopStagesOnClose,
    TaskResult,
    ended_attempt,
    repository_problem,
    run_stage,
    started,
)

if TYPE_CHECKING:
    from .remote_worker import RemoteResult

SHARED_FS_HINT = (
    "the Dask executor needs the repository on a shared file system, at the same path "
    "on every worker; see 'Running on a Dask cluster' in the README"
)


class DaskExecutor:
    def __init__(
        self,
        root: str,
        choice: ExecutorChoice,
        jobs: int,
        output: OutputSink,
        warn: Warn,
        store: ProjectStore | None = None,
    ) -> None:
        self.root = root
        self.store = store
        self._via_remote = None  # a remote_client.ViaRemote when the workers do not share the repository
        self.choice = choice
        self.jobs = max(1, jobs)
        self.output = output
        self.warn = warn
        run_id = uuid.uuid4().hex[:12]
        self._key_suffix = run_id  # task keys are unique per run: a rerun never reuses a result
        self._run_dir = os.path.join(root, STATE_DIR, "tmp", "dask", run_id)  # shared with the workers
        self._token = uuid.uuid4().hex
        self._client = None
        self._cluster = None
        self._pending: dict[str, object] = {}  # stage name -> its Dask future, or its run when it never started
        self._done: queue.SimpleQueue[str] = queue.SimpleQueue()  # C code: a Ctrl-C never leaves it locked
        self._stopping = False
        self._stragglers = False  # tasks told to stop that never reported back: keep the run folder

    @property
    def running(self) -> int:
        return len(self._pending)

    def fits(self, stage: Stage) -> bool:
        return True  # the cluster queues what it cannot run yet

    @property
    def full(self) -> bool:
        return False  # the cluster queues what it cannot run yet

    def open(self) -> None:
        if self._client is not None:
            return
        _sweep(os.path.dirname(self._run_dir))
        os.makedirs(self._run_dir, exist_ok=True)
        with open(os.path.join(self._run_dir, TOKEN_FILE), "w", encoding="utf-8") as handle:
            handle.write(self._token)
        self._client = self._connect()
        if self.choice.shared_fs is False:
            self._use_remote()
        else:
            self._check_workers()
        try:
            self._client.register_plugin(StopStagesOnClose(), name=StopStagesOnClose.name)
        except Exception as exc:  # noqa: BLE001 - a worker that cannot take it is the cluster's problem
            raise ClusterError(
                f"cannot set up the Dask workers: {exc}",
                hint="every worker needs pipetool installed, the same version as here",
            ) from None

    def submit(self, stage: Stage) -> None:
        problem = self._resources_problem(stage)
        if problem:
            self._pending[stage.name] = StageRun(stage.name, problem=problem)
            self._done.put(stage.name)
            return
        if self._via_remote is not None:
            self._submit_via_remote(stage)
            return
        task = StageTask(
            stage.name,
            stage.cmd,
            os.path.join(self.root, stage.wdir),
            self.root,
            self._run_dir,
            self._token,
            self.choice.retries,
        )
        with HELD:  # the client's locks are shared with its own threads
            self._submit(stage, run_stage, task)

    def wait(self) -> StageRun:
        while True:
            try:
                name = self._done.get(timeout=0.2)
            except queue.Empty:
                continue
            if name in self._pending:  # not collected by cancel() already
                return self._collect(name)

    def cancel(self) -> list[StageRun]:
        """Ask every task to stop its commands (through the shared run folder, which works even
        when the scheduler is gone), collect them, then cancel what is left on the cluster."""
        self._stopping = True
        try:
            open(os.path.join(self._run_dir, CANCEL_FILE), "w").close()
        except OSError:
            pass
        if self._via_remote is not None:
            self._stop_remote_commands()
        self._cancel_tasks([name for name in self._pending if not started(self._run_dir, name)])
        runs: list[StageRun] = []
        deadline = time.monotonic() + GRACE_SECONDS + 10 * POLL_SECONDS + 2.0
        while self._pending and time.monotonic() < deadline:
            ended = [name for name, task in self._pending.items() if isinstance(task, StageRun) or task.done()]
            runs += [self._collect(name) for name in ended]
            if not ended:
                time.sleep(0.1)
        left = list(self._pending)
        self._cancel_tasks(left)
        for name in left:
            del self._pending[name]
        left_runs = [self._leftover(name) for name in left]
        self._stragglers |= any(run.interrupted for run in left_runs)
        return runs + left_runs

    def _stop_remote_commands(self) -> None:
        """Without a shared folder to hold a cancel file, each worker is asked to stop this run's
        commands (SIGTERM, then SIGKILL)."""
        from .remote_worker import stop_run

        try:
            with HELD:
                self._client.run(stop_run, self._key_suffix, on_error="ignore")
        except Exception:  # noqa: BLE001 - the scheduler may be gone; its workers then stop their commands
            pass

    def _cancel_tasks(self, names: list[str]) -> None:
        futures = [self._pending[name] for name in names if not isinstance(self._pending[name], StageRun)]
        if self._client is None or not futures:
            return
        try:
            self._client.cancel(futures, force=True)
        except Exception:  # noqa: BLE001 - the scheduler may be gone; the tasks were told to stop
            pass

    def close(self) -> None:
        if self._via_remote is not None:
            said = self._via_remote.close()
            if said:
                self.warn(said)
        for thing in (self._client, self._cluster):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # noqa: BLE001 - closing a lost connection may fail; nothing to keep
                    pass
        if not self._stragglers:  # else its cancel file must stay for them to see; a later run sweeps it
            shutil.rmtree(self._run_dir, ignore_errors=True)

    # --- connecting -----------------------------------------------------------------------

    def _connect(self):
        import distributed

        _quiet_dask_logs()
        if not self.choice.scheduler:
            return self._local_cluster(distributed)
        try:
            return distributed.Client(self.choice.scheduler, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {self.choice.scheduler}: {exc}",
                hint="start it with 'dask scheduler' and workers with 'dask worker ADDRESS', or fix "
                "--scheduler / executor.scheduler; '--executor dask' alone starts a local cluster",
            ) from None

    def _local_cluster(self, distributed):
        try:
            self._cluster = distributed.LocalCluster(
                n_workers=self.jobs,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                resources=_local_resources(),
                silence_logs=logging.CRITICAL,
            )
            return distributed.Client(self._cluster, set_as_default=False)
        except (OSError, TimeoutError, RuntimeError) as exc:
            raise ClusterError(
                f"could not start a local Dask cluster: {exc}",
                hint="give a running scheduler with --scheduler, or use --executor local",
            ) from None

    def _check_workers(self) -> None:
        """Every worker there now sees the repository; a worker that joins later is checked by
        each task it runs."""
        try:
            answers = self._client.run(repository_problem, self.root, self._run_dir, self._token, on_error="return")
        except Exception as exc:  # noqa: BLE001 - any failure to ask is the cluster's
            raise ClusterError(f"cannot ask the Dask workers whether they see the repository: {exc}") from None
        if not answers:
            self.warn(f"the Dask cluster at {self.choice.scheduler} has no workers yet: stages wait for one")
        for worker, answer in sorted(answers.items()):
            if isinstance(answer, BaseException):
                answer = (
                    f"it could not run pipetool's check ({type(answer).__name__}: {answer}); "
                    "is pipetool installed there?"
                )
            if answer:
                if self.choice.shared_fs is None and self._default_remote() is not None:
                    self.warn(
                        f"worker {worker} cannot see the repository ({answer}): running without a shared "
                        f"file system, the stages' files go through remote '{self._default_remote()}'"
                    )
                    self._use_remote()
                    return
                raise ClusterError(f"worker {worker} cannot see the repository: {answer}", hint=SHARED_FS_HINT)

    def _default_remote(self) -> str | None:
        """The default remote's name, when the stages' files could go through it."""
        if self.store is None:
            return None
        from ..remotes.remote import default_name, remotes

        try:
            name = default_name(self.store.state_dir)
            return name if name in remotes(self.store.state_dir) else None
        except PipetoolError:
            return None

    def _use_remote(self) -> None:
        if self.store is None:
            raise ClusterError("this command cannot run stages on Dask workers without a shared file system")
        try:
            from .remote_client import ViaRemote

            self._via_remote = ViaRemote(self.root, self.store, self._key_suffix, self.choice)
        except PipetoolError as exc:
            raise ClusterError(
                f"the workers need the stages' files from the project's remote: {exc.message}",
                hint=exc.hint or SHARED_FS_HINT,
            ) from None

    def _submit_via_remote(self, stage: Stage) -> None:
        from .remote_worker import run_remote_stage

        try:
            task = self._via_remote.task(stage)
        except (PipetoolError, OSError) as exc:  # a dep that cannot be cached or pushed
            problem = exc.message if isinstance(exc, PipetoolError) else f"could not store its deps in the cache: {exc}"
            self._pending[stage.name] = StageRun(stage.name, problem=problem)
            self._done.put(stage.name)
            return
        with HELD:
            self._submit(stage, run_remote_stage, task)

    def _submit(self, stage: Stage, function, task) -> None:
        """The stage's task on the cluster (the caller holds HELD), its end heard by wait()."""
        future = self._client.submit(
            function,
            task,
            key=f"pipetool-{stage.name}-{self._key_suffix}",
            pure=False,
            resources=stage.resources.dask() or None,
            retries=self.choice.retries,
        )
        self._pending[stage.name] = future
        future.add_done_callback(lambda _, name=stage.name: self._done.put(name))

    def _resources_problem(self, stage: Stage) -> str | None:
        """None when some worker has what the stage asks for. On a cluster of ours nothing more
        joins, so a stage that asks too much fails; elsewhere it waits, with a warning."""
        wanted = stage.resources.dask()
        if not wanted:
            return None
        workers = self._client.scheduler_info(n_workers=-1).get("workers", {}).values()
        if any(all(w.get("resources", {}).get(name, 0) >= amount for name, amount in wanted.items()) for w in workers):
            return None
        text = " ".join(f"{name}={amount}" for name, amount in wanted.items())
        if self._cluster is not None:
            return (
                f"it asks for {text}, which no worker of the local Dask cluster has; run it on a "
                f"cluster whose workers declare it ('dask worker ADDRESS --resources \"{text}\"')"
            )
        self.warn(
            f"stage '{stage.name}' asks for {text}, which no worker of the cluster has now: it waits "
            f'for a worker started with --resources "{text}"'
        )
        return None

    # --- results --------------------------------------------------------------------------

    def _collect(self, name: str) -> StageRun:
        future = self._pending[name]
        if isinstance(future, StageRun):
            del self._pending[name]
            return future
        if future.status == "cancelled" or self._client.status != "running":
            if self._stopping:
                del self._pending[name]
                run = self._leftover(name)
                self._stragglers |= run.interrupted and started(self._run_dir, name)
                return run
            where = f"at {self.choice.scheduler}" if self.choice.scheduler else "of the local cluster"
            raise ClusterError(
                f"lost the connection to the Dask scheduler {where}",
                hint="run 'pipetool repro' again once the scheduler is back",
            )
        del self._pending[name]
        try:
            if future.status == "error":
                return StageRun(name, problem=self._task_error(future.exception()))
            return self._run_of(name, future.result())
        except ClusterError:
            raise
        except Exception as exc:  # noqa: BLE001 - fetching the result failed: the cluster's fault
            return StageRun(name, problem=f"could not fetch its result from the cluster: {exc}")

    def _task_error(self, exc: BaseException) -> str:
        from distributed import KilledWorker

        if isinstance(exc, KilledWorker):
            address = getattr(exc.last_worker, "address", "unknown")
            return (
                f"the Dask worker running it died, {exc.allowed_failures + 1} times (the scheduler's "
                f"allowed-failures setting; the last one {address})"
            )
        return f"its Dask task failed on the worker: {type(exc).__name__}: {exc}"

    def _run_of(self, name: str, result: TaskResult | RemoteResult) -> StageRun:
        if self._via_remote is not None and not isinstance(result, TaskResult):
            run = self._run_of(name, TaskResult(result.ended, result.worker, result.output, result.dropped))
            return self._via_remote.finished(run, result)
        if result.dropped:
            self.output(name, f"... ({result.dropped} earlier lines of output not shown)")
        for line in result.output:
            self.output(name, line)
        ended = result.ended
        return StageRun(
            name,
            ended.returncode,
            ended.failed_cmd,
            ended.tail,
            ended.seconds,
            ended.interrupted,
            worker=result.worker,
            problem=result.problem,
        )

    def _leftover(self, name: str) -> StageRun:
        """A stage whose task did not report back: finished if its attempt log says so."""
        result = ended_attempt(self._run_dir, name)
        if result is not None:
            return self._run_of(name, result)
        return StageRun(name, interrupted=True)


def _sweep(folder: str, age: float = 3600.0) -> None:
    """Remove run folders that earlier runs had to leave behind, once they are an hour old."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        path = os.path.join(folder, name)
        try:
            if time.time() - os.stat(path).st_mtime > age:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue


def _quiet_dask_logs() -> None:
    """Dask logs connection trouble with tracebacks; pipetool's own errors say what went wrong.
    Its loggers get their levels from Dask's config, one by one, so each is quieted."""
    for name in ["distributed", *logging.root.manager.loggerDict]:
        if name == "distributed" or name.startswith("distributed."):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def _local_resources() -> dict[str, int]:
    """What each worker of a local cluster offers: the machine's cores and memory, no GPU."""
    import psutil

    return {"CPU": os.cpu_count() or 1, "MEMORY": psutil.virtual_memory().total}
